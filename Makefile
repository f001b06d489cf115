# The two commands: `make run` (set up, load the demo, serve on SQLite with eager Celery)
# and `make test` (the whole suite; PostgreSQL/Redis suites skip themselves when those are absent).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test fuzz setup demo lint bench-import clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_demo

run: demo
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: setup
	$(BIN)/python -m pytest

# The fuzz tests with fresh random examples (make test repeats the same ones every run).
fuzz: setup
	HYPOTHESIS_PROFILE=explore $(BIN)/python -m pytest -p no:cacheprovider -q \
		$$(grep -rl --include='test_*.py' '^from hypothesis\|^import hypothesis' tests)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench-import: setup
	$(BIN)/python benchmarks/import_bench.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* media staticfiles test-output
