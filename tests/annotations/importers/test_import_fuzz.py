"""The import floor: any input either imports or fails with line-numbered errors, never a
traceback, and a failed import leaves every annotations table as it was.

Hypothesis mutates real records of every format (native, mtbench, processbench, summeval,
judgebench, prm800k, scores CSV): a field replaced by a hostile value (NaN, infinities, huge or
negative numbers, long or formula-like text, JSON nested past Python's recursion limit, a CSV
field past the csv module's limit) or removed. The hand-made cases are the ones an outside probe
found crashing. Unmarked on purpose: CI runs this module on SQLite and again on PostgreSQL,
where over-long names and out-of-range numbers used to be DataErrors.
"""

import copy
import csv
import io
import json
import re
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db.models import CharField, Max
from django.db.models.functions import Length
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations import services
from annotations.errors import DomainError
from annotations.models import Criterion, ImportJob, Project
from tests.factories import good_lines

DEMO = Path(__file__).resolve().parents[3] / "annotations" / "demo_data"
LINE_NUMBERED = re.compile(r"\b(line|entry) \d+\b")
DEEP = "\x00deep\x00"  # stands for DEEP_TEXT in the written text
# Past any recursion limit: hypothesis raises the limit by 2,000 while a test runs.
DEEP_TEXT = "[" * 50_000 + "]" * 50_000
LONG_FIELD = "x" * 140_000  # past csv.field_size_limit() (131,072)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ---- what is written, and how -----------------------------------------------------------------


def dump(value) -> str:
    return json.dumps(value, allow_nan=True).replace(json.dumps(DEEP), DEEP_TEXT)


def write(directory: Path, files: dict[str, tuple[str, object]]) -> list[Path]:
    """Files as (kind, content): jsonl (a list of values, one a line), json (one value) or
    csv (a list of dicts with the same keys)."""
    paths = []
    for name, (kind, content) in files.items():
        path = directory / name
        if kind == "jsonl":
            path.write_text("".join(dump(line) + "\n" for line in content), encoding="utf-8")
        elif kind == "json":
            path.write_text(dump(content), encoding="utf-8")
        else:
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(content[0]) if content else ["x"])
            writer.writeheader()
            writer.writerows(content)
            path.write_text(out.getvalue(), encoding="utf-8")
        paths.append(path)
    return paths


def table_counts() -> dict[str, int]:
    """Rows in every table of the annotations app."""
    return {m.__name__: m.objects.count() for m in apps.get_app_config("annotations").get_models()}


def import_or_line_errors(paths: list[Path], format: str, project: Project) -> None:
    """Import; a failure must name lines and change nothing (any other exception fails)."""
    before = table_counts()
    try:
        services.items_import(project=project, paths=paths, format=format)
    except DomainError as exc:
        assert exc.errors, exc.message
        for message in exc.errors:
            assert LINE_NUMBERED.search(message), message
        assert table_counts() == before
    else:
        assert_texts_fit_their_columns()


def assert_texts_fit_their_columns() -> None:
    """What SQLite stored, PostgreSQL would have stored too: no text longer than its column."""
    for model in apps.get_app_config("annotations").get_models():
        for field in model._meta.get_fields():
            if isinstance(field, CharField) and field.max_length and not field.choices:
                longest = model.objects.aggregate(n=Max(Length(field.name)))["n"] or 0
                assert longest <= field.max_length, (model.__name__, field.name, longest)


# ---- real records of each format -------------------------------------------------------------


def _jsonl(path: Path, n: int) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:n]]


def _mtbench() -> dict:
    questions = _jsonl(DEMO / "mt_bench" / "question.jsonl", 2)
    ids = {str(q["question_id"]) for q in questions}
    with open(DEMO / "mt_bench" / "mt_bench_human.csv", encoding="utf-8") as handle:
        votes = [row for row in csv.DictReader(handle) if row["question_id"] in ids][:4]
    return {"question.jsonl": ("jsonl", questions), "mt_bench_human.csv": ("csv", votes)}


def _processbench() -> dict:
    entries = json.loads((DEMO / "processbench" / "gsm8k.json").read_text())[:3]
    return {"gsm8k.json": ("json", entries)}


def _summeval() -> dict:
    name = "M10_outputs_annotations.jsonl"
    return {name: ("jsonl", _jsonl(DEMO / "summeval" / name, 2))}


def _judgebench() -> dict:
    data = json.loads((DEMO / "judge_bench" / "newsroom.json").read_text())
    return {"newsroom.json": ("json", data | {"instances": data["instances"][:3]})}


def _prm800k() -> dict:
    step = {"completions": [{"text": "Let $x = 2$.", "rating": 1, "flagged": None}],
            "human_completion": None, "chosen_completion": 0}  # fmt: skip
    wrong = {"completions": [{"text": "So $x = 5$.", "rating": -1, "flagged": None}],
             "human_completion": None, "chosen_completion": None}  # fmt: skip
    line = {
        "labeler": "340d89bc-f5b7-45e9-b272-909ba68ee363",
        "timestamp": "2023-01-22T04:34:27.052924",
        "generation": 9,
        "is_quality_control_question": False,
        "is_initial_screening_question": False,
        "question": {"problem": "What is $x$?", "ground_truth_answer": "2"},
        "label": {"steps": [step, wrong], "total_time": 1000, "finish_reason": "found_error"},
    }
    return {"phase2_train.jsonl": ("jsonl", [line])}


def _scores() -> dict:
    rows = [
        {"item": "gsm8k-5", "criterion": "validity", "step": "0", "rater": "prm",
         "rater_group": "prm", "score": "0.9"},
        {"item": "q81-t1", "criterion": "preference", "step": "", "rater": "rm",
         "rater_group": "rm", "score": "0.25"},
    ]  # fmt: skip
    return {"scores.csv": ("csv", rows)}


SAMPLES = {
    "native": lambda: {"in.jsonl": ("jsonl", good_lines())},
    "mtbench": _mtbench,
    "processbench": _processbench,
    "summeval": _summeval,
    "judgebench": _judgebench,
    "prm800k": _prm800k,
    "scores": _scores,
}


def test_every_sample_imports_unmutated(tmp_path, db):
    for format, sample in SAMPLES.items():
        directory = tmp_path / format
        directory.mkdir()
        project = _project(format, directory)
        services.items_import(project=project, paths=write(directory, sample()), format=format)
    assert table_counts()["Judgement"] > 0


def _project(format: str, directory: Path) -> Project:
    project = Project.objects.create(name=f"fuzz {uuid.uuid4().hex}", slug=uuid.uuid4().hex)
    if format == "scores":  # scores are for criteria and items already imported
        base = write(directory, {"base.jsonl": ("jsonl", good_lines())})
        services.items_import(project=project, paths=base)
    return project


# ---- mutations -------------------------------------------------------------------------------

SPECIALS = st.sampled_from(
    [DEEP, "x" * 300, float("nan"), 2**31, 10**400, LONG_FIELD, float("-inf"), 1e308, 2**63,
     -1, "\r=1+1-18", "", "NaN", "\x00"]
)  # fmt: skip
HOSTILE_SCALARS = st.one_of(
    SPECIALS,  # first: hypothesis shrinks towards the first branch and draws it most
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    SPECIALS,
)
HOSTILE_JSON = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=5,
)
HOSTILE_CELLS = st.one_of(
    st.text(max_size=16),
    st.sampled_from(["", "nan", "inf", "-1", "1e999", "2147483648", "x" * 300, "\r=1", '"',
                     LONG_FIELD, "9" * 400]),
)  # fmt: skip


def _positions(value, prefix=()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _positions(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _positions(inner, (*prefix, index))
    return found


def _mutate(data: st.DataObject, files: dict) -> dict:
    files = copy.deepcopy(files)
    name = data.draw(st.sampled_from(sorted(files)))
    kind, content = files[name]
    if kind == "csv":
        if content:
            row = data.draw(st.sampled_from(content))
            column = data.draw(st.sampled_from(sorted(row)))
            row[column] = data.draw(HOSTILE_CELLS)
        return files
    # A JSON Lines file is its lines: the deepest replacement is a whole line.
    positions = _positions(content)[1 if kind == "jsonl" else 0 :]
    position = data.draw(st.sampled_from(positions))
    if not position:
        files[name] = (kind, _hostile(data))
        return files
    *parent_path, last = position
    parent = content
    for key in parent_path:
        parent = parent[key]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[last]
    else:
        parent[last] = _hostile(data)
    return files


def _hostile(data: st.DataObject):
    """Mostly one of the values known to break things, else any JSON value."""
    return data.draw(HOSTILE_JSON if data.draw(st.integers(0, 3)) == 3 else SPECIALS)


@pytest.mark.django_db
@pytest.mark.parametrize("format", sorted(SAMPLES))
@SETTINGS
@given(data=st.data())
def test_a_mutated_file_imports_or_names_its_lines(tmp_path_factory, format, data):
    directory = tmp_path_factory.mktemp(format)
    project = _project(format, directory)
    files = SAMPLES[format]()
    for _ in range(data.draw(st.integers(1, 3))):
        files = _mutate(data, files)

    import_or_line_errors(write(directory, files), format, project)


# ---- the cases an outside probe found crashing ------------------------------------------------

CRITERION = {"type": "criterion", "name": "c", "target": "item", "scale": "nominal",
             "labels": ["a", "b"]}  # fmt: skip
INTERVAL = {"type": "criterion", "name": "s", "target": "item", "scale": "interval", "min": 0,
            "max": 10}  # fmt: skip
ITEM = {"type": "item", "id": "i1", "kind": "response", "response": "r"}
JUDGEMENT = {"type": "judgement", "item": "i1", "criterion": "c", "rater": "r", "value": "a"}


def native(*extra) -> dict:
    return {"in.jsonl": ("jsonl", [CRITERION, INTERVAL, ITEM, *extra])}


def _with(sample: dict, name: str, change) -> dict:
    kind, content = sample[name]
    return sample | {name: (kind, change(copy.deepcopy(content)))}


def _deep_question(questions: list) -> list:
    return [*questions, {"question_id": 99, "turns": [DEEP]}]


def _long_vote(votes: list) -> list:
    return [*votes, votes[0] | {"judge": LONG_FIELD}]


def _graded(best: int):
    """The sample with its first graded metric (Informativeness, 1..5) running 1..best."""

    def change(data: dict) -> dict:
        first, *rest = data["annotations"]
        return data | {"annotations": [first | {"best": best}, *rest]}

    return change


CASES = {
    # JSON nested ~1,000 deep: RecursionError in every JSON reader
    "deep native line": ("native", native(DEEP), "in.jsonl line 4: is nested more than 64"),
    "deep native meta": ("native", native(ITEM | {"id": "i2", "meta": {"x": DEEP}}), "line 4"),
    "deep judgement value": ("native", native(JUDGEMENT | {"value": [[[[[[DEEP]]]]]]}), "line 4"),
    "deep processbench": (
        "processbench",
        {"gsm8k.json": ("json", [DEEP])},
        "gsm8k.json line 1: is nested more than 64",
    ),
    "deep summeval": ("summeval", {"M1_outputs_annotations.jsonl": ("jsonl", [DEEP])}, "line 1"),
    "deep judgebench": ("judgebench", {"n.json": ("json", {"annotations": DEEP})}, "line 1"),
    "deep prm800k": ("prm800k", {"p.jsonl": ("jsonl", [{"label": DEEP}])}, "p.jsonl line 1"),
    "deep mtbench question": (
        "mtbench",
        _with(_mtbench(), "question.jsonl", _deep_question),
        "question.jsonl line 3: is nested more than 64",
    ),
    "deep mtbench first line": (
        "mtbench",
        _mtbench() | {"question.jsonl": ("jsonl", [{"turns": DEEP}])},
        "question.jsonl line 1",
    ),
    # a CSV field over 131,072 characters
    "long mtbench field": (
        "mtbench",
        _with(_mtbench(), "mt_bench_human.csv", _long_vote),
        "mt_bench_human.csv line 6: field larger than field limit",
    ),
    "long mtbench header": (
        "mtbench",
        _mtbench() | {"mt_bench_human.csv": ("csv", [{LONG_FIELD: "1"}])},
        "mt_bench_human.csv line 1",
    ),
    # NaN and infinities where the databases refuse them
    "NaN label": (
        "native",
        native(CRITERION | {"name": "n", "labels": ["a", float("nan")]}),
        "line 4, field 'labels'",
    ),  # fmt: skip
    "NaN item meta": (
        "native",
        native(ITEM | {"id": "i2", "meta": {"x": float("nan")}}),
        "line 4, field 'meta'",
    ),  # fmt: skip
    "Infinity judgement meta": (
        "native",
        native(JUDGEMENT | {"meta": {"x": [float("inf")]}}),
        "line 4, field 'meta'",
    ),  # fmt: skip
    "-Infinity rater parameters": (
        "native",
        native(JUDGEMENT | {"rater_kind": "model", "rater_parameters": {"t": float("-inf")}}),
        "line 4, field 'rater_parameters'",
    ),
    # numbers out of range
    "time_spent_ms 2**31": (
        "native",
        native(JUDGEMENT | {"time_spent_ms": 2**31}),
        "line 4, field 'time_spent_ms'",
    ),  # fmt: skip
    "interval max past a float": (
        "native",
        native(INTERVAL | {"name": "w", "max": 10**400}),
        "line 4, field 'max'",
    ),  # fmt: skip
    "interval max 1e30": (
        "native",
        native(INTERVAL | {"name": "w", "max": 1e30}),
        "line 4, field 'max': must be a number from -1e+09 to 1e+09",
    ),  # fmt: skip
    # names and ids longer than their columns (PostgreSQL DataError; SQLite kept them)
    "long criterion name": (
        "native",
        native(CRITERION | {"name": "c" * 101}),
        "line 4, field 'name': is 101 characters long; at most 100",
    ),  # fmt: skip
    "long item id": (
        "native",
        native(ITEM | {"id": "i" * 201}),
        "line 4, field 'id': is 201 characters long; at most 200",
    ),  # fmt: skip
    "long rater": (
        "native",
        native(JUDGEMENT | {"rater": "r" * 201}),
        "line 4, field 'rater': is 201",
    ),  # fmt: skip
    "long rater group": (
        "native",
        native(JUDGEMENT | {"rater_group": "g" * 65}),
        "line 4, field 'rater_group': is 65",
    ),  # fmt: skip
    "long model name": (
        "native",
        native(JUDGEMENT | {"rater_kind": "model", "rater_model": "m" * 201}),
        "line 4, field 'rater_model'",
    ),  # fmt: skip
    "long prompt version": (
        "native",
        native(JUDGEMENT | {"rater_kind": "model", "rater_prompt_version": "v" * 101}),
        "line 4, field 'rater_prompt_version'",
    ),
    "long mtbench model": (
        "mtbench",
        _with(_mtbench(), "mt_bench_human.csv", lambda v: [v[0] | {"model_a": "m" * 300}]),
        "mt_bench_human.csv line 2, field 'id'",
    ),
    # found by the fuzzer: a graded scale's bound past a float, and a billion grades as labels
    "judgebench best past a float": (
        "judgebench",
        _with(_judgebench(), "newsroom.json", _graded(10**400)),
        "newsroom.json line 1, field 'annotations[0].best'",
    ),
    "judgebench best 1e10": (
        "judgebench",
        _with(_judgebench(), "newsroom.json", _graded(10**10)),
        "newsroom.json line 1, field 'annotations[0].best': must be a number from -1e+09 to 1e+09",
    ),
    # found by the fuzzer on PostgreSQL: NUL in the real-data formats' texts
    "NUL in a processbench step": (
        "processbench",
        _with(_processbench(), "gsm8k.json", lambda e: [e[0] | {"steps": ["a\x00b"]}]),
        "gsm8k.json line 1: contains a NUL character",
    ),
    "NUL in an mtbench judge": (
        "mtbench",
        _with(_mtbench(), "mt_bench_human.csv", lambda v: [v[0] | {"judge": "expert_\x00"}]),
        "mt_bench_human.csv line 2",
    ),
    "lone surrogate in a summeval summary": (
        "summeval",
        _with(
            _summeval(), "M10_outputs_annotations.jsonl", lambda s: [s[0] | {"decoded": "\ud800"}]
        ),
        "M10_outputs_annotations.jsonl line 1: contains a lone surrogate",
    ),
    "NUL in a score rater": (
        "scores",
        _with(_scores(), "scores.csv", lambda rows: [rows[0] | {"rater": "p\x00rm"}]),
        "scores.csv line 2, field 'rater': contains a NUL character",
    ),
    "score past a float": (
        "native",
        native(
            {
                "type": "criterion",
                "name": "v",
                "target": "item",
                "scale": "nominal",
                "labels": ["ok", "bad"],
                "error_labels": ["bad"],
            },
            {"type": "score", "item": "i1", "criterion": "v", "rater": "rm", "score": 10**400},
        ),
        "in.jsonl line 5, field 'score': must be a finite number",
    ),  # fmt: skip
    "long score rater": (
        "scores",
        _with(_scores(), "scores.csv", lambda rows: [rows[0] | {"rater": "r" * 201}]),
        "scores.csv line 2, field 'rater'",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_malformed_import_is_a_line_numbered_error(tmp_path, case):
    format, files, expected = CASES[case]
    project = _project(format, tmp_path)
    before = table_counts()

    with pytest.raises(DomainError) as caught:
        services.items_import(project=project, paths=write(tmp_path, files), format=format)

    assert any(expected in message for message in caught.value.errors), caught.value.errors
    assert all(LINE_NUMBERED.search(message) for message in caught.value.errors)
    assert table_counts() == before


@pytest.mark.django_db
def test_a_failed_cli_import_into_a_new_project_leaves_no_project(tmp_path):
    (path,) = write(tmp_path, native(DEEP))

    with pytest.raises(CommandError):
        call_command("import_data", str(path), project="Brand new", stderr=io.StringIO())

    assert not Project.objects.filter(name="Brand new").exists()
    (good,) = write(tmp_path / "..", {"good.jsonl": ("jsonl", good_lines())})
    call_command("import_data", str(good), project="Brand new", stdout=io.StringIO())
    assert Project.objects.filter(name="Brand new").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_the_api_reports_a_too_deep_upload_as_a_failed_job_with_its_line(client, lead, project):
    client.force_login(lead)
    body = ("\n".join([json.dumps(CRITERION), DEEP_TEXT]) + "\n").encode()

    response = client.post(
        reverse("api:import-create", args=[project.slug]),
        {"file": SimpleUploadedFile("deep.jsonl", body), "format": "native"},
    )

    assert response.status_code in (201, 202), response.content
    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert job.errors == ["deep.jsonl line 2: is nested more than 64 levels deep"]


@pytest.mark.django_db
def test_a_wide_graded_scale_is_an_interval_criterion_not_a_label_per_grade(tmp_path, project):
    sample = _with(_judgebench(), "newsroom.json", _graded(100))

    services.items_import(project=project, paths=write(tmp_path, sample), format="judgebench")

    criterion = Criterion.objects.get(project=project, name="Informativeness")
    assert (criterion.scale, criterion.min_value, criterion.max_value) == ("interval", 1, 100)
    assert criterion.labels == []
