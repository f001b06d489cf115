"""`export_data` on a big PostgreSQL project: time to the first line, rows per second, memory.

Run by hand from the repository root (not a test):

    python benchmarks/export_bench.py                    # 1M judgements
    python benchmarks/export_bench.py --judgements 200000

It creates a fresh PostgreSQL database, makes a project of one-step solutions with five raters'
step and item judgements by set-based SQL (what is measured is the export, not an import), then
runs `manage.py export_data` in a subprocess writing to a pipe and times, from the moment the
process starts, the first line and the last, and reads the process's peak RSS.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DB = os.environ.get("EXPORT_BENCH_DB", "judgeapp_export_bench")
BASE = "postgres://postgres@127.0.0.1:5432"
RATERS = 5  # each judges every item's step and the item: 2 judgements per rater and item


def build(n_judgements: int) -> None:
    env = {**os.environ, "DATABASE_URL": f"{BASE}/{DB}"}
    for sql in (f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}"):
        subprocess.run(["psql", f"{BASE}/postgres", "-qc", sql], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], check=True, env=env)
    n_items = n_judgements // (2 * RATERS)
    script = f"""
INSERT INTO annotations_project (name, slug, description, guidelines, overlap,
    error_ends_solution, annotator_group, created_at)
    VALUES ('export bench', 'export-bench', '', '', 1, false, 'annotators', now());
INSERT INTO annotations_criterion (project_id, name, target, scale, labels, error_labels,
    position) VALUES
    (1, 'validity', 'step', 'nominal', '["correct", "incorrect"]', '["incorrect"]', 0),
    (1, 'solution_correct', 'item', 'nominal', '["yes", "no"]', '[]', 1);
INSERT INTO annotations_rater (project_id, name, kind, "group", model_name, prompt_version,
    parameters) SELECT 1, 'rater' || g, 'human', 'experts', '', '', '{{}}'
    FROM generate_series(1, {RATERS}) g;
INSERT INTO annotations_item (project_id, external_id, kind, prompt, meta, n_steps,
    content_hash) SELECT 1, 'item-' || g, 'solution', 'What is ' || g || '?', '{{}}', 1,
    md5(g::text) FROM generate_series(1, {n_items}) g;
INSERT INTO annotations_step (item_id, index, text) SELECT id, 0, 'step' FROM annotations_item;
INSERT INTO annotations_judgement (rater_id, item_id, step_id, criterion_id, value, code,
    rationale, meta, created_at)
    SELECT r.id, s.item_id, s.id, 1, '"correct"', 0, '', '{{}}', now()
    FROM annotations_step s CROSS JOIN annotations_rater r;
INSERT INTO annotations_judgement (rater_id, item_id, step_id, criterion_id, value, code,
    rationale, meta, created_at)
    SELECT r.id, i.id, NULL, 2, '"yes"', 0, '', '{{}}', now()
    FROM annotations_item i CROSS JOIN annotations_rater r;
"""  # noqa: S608 - our own numbers
    subprocess.run(["psql", f"{BASE}/{DB}", "-qc", script], check=True)
    subprocess.run(["psql", f"{BASE}/{DB}", "-qc", "VACUUM ANALYZE"], check=True)


def run_export() -> tuple[float, float, float, int, int]:
    env = {**os.environ, "DATABASE_URL": f"{BASE}/{DB}"}
    probe = (
        "import resource, sys, time; t0 = time.perf_counter();"
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'judgeapp.settings');"
        "django.setup(); from django.core.management import call_command;"
        "ready = time.perf_counter() - t0; sys.stderr.write(f'ready {ready}\\n');"
        "call_command('export_data', project='export bench');"
        "sys.stdout.flush();"
        "u = resource.getrusage(resource.RUSAGE_SELF);"
        "sys.stderr.write(f'rss {u.ru_maxrss} cpu {u.ru_utime + u.ru_stime}\\n')"
    )
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", probe], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    first = None
    lines = 0
    assert proc.stdout is not None
    for _ in proc.stdout:
        if first is None:
            first = time.perf_counter() - start
        lines += 1
    total = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.wait()
    ready = float(err.split("ready ")[1].split()[0])
    rss = int(err.split("rss ")[1].split()[0]) // 1024
    cpu = float(err.split("cpu ")[1].split()[0])
    return ready, first or total, total, lines, rss, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judgements", type=int, default=1_000_000)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    if not args.skip_build:
        build(args.judgements)
    ready, first, total, lines, rss, cpu = run_export()
    print(
        f"| {args.label} | {args.judgements:,} | {ready:.2f} s | {first - ready:.2f} s"
        f" | {total - ready:.1f} s | {args.judgements / (total - first):,.0f} | {lines:,}"
        f" | {rss} MiB | {cpu:.1f} s |"
    )


if __name__ == "__main__":
    main()
