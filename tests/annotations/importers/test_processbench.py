"""The ProcessBench importer, on the 4 x 100 sampled solutions copied into demo_data."""

import json
from pathlib import Path

import pytest

from annotations import services
from annotations.errors import DomainError
from annotations.importers import processbench
from annotations.importers.records import ItemRecord
from annotations.importers.writer import ImportWriter
from annotations.models import Criterion, Item, Judgement, Rater, Step

DATA = Path(__file__).resolve().parents[3] / "annotations" / "demo_data" / "processbench"
FILES = [DATA / f"{name}.json" for name in ("gsm8k", "math", "olympiadbench", "omnimath")]


def _entries() -> list[dict]:
    return [entry for path in FILES for entry in json.loads(path.read_bytes())]


def _db_counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Criterion, Item, Step, Rater, Judgement))


@pytest.fixture
def imported(project):
    return services.items_import(project=project, paths=FILES, format="processbench")


@pytest.mark.django_db
def test_it_imports_every_solution_step_and_verdict(project, imported):
    entries = _entries()
    judged_steps = sum(len(e["steps"]) if e["label"] == -1 else e["label"] + 1 for e in entries)
    assert len(entries) == 400
    assert imported.items_created == 400
    assert imported.steps_created == sum(len(e["steps"]) for e in entries)
    assert imported.judgements_created == judged_steps + 2 * len(entries)
    validity = Judgement.objects.filter(criterion__name="validity")
    assert validity.count() == judged_steps
    assert validity.filter(value="incorrect").count() == sum(e["label"] >= 0 for e in entries)
    assert set(Item.objects.values_list("meta__subset", flat=True)) == {
        "gsm8k",
        "math",
        "olympiadbench",
        "omnimath",
    }


@pytest.mark.django_db
def test_it_judges_steps_up_to_the_first_error_and_no_further(project, imported):
    entry = next(e for e in _entries() if e["label"] == 2 and len(e["steps"]) >= 4)
    judged = dict(
        Judgement.objects.filter(
            item__external_id=entry["id"], criterion__name="validity"
        ).values_list("step__index", "value")
    )
    assert judged == {0: "correct", 1: "correct", 2: "incorrect"}
    verdicts = dict(
        Judgement.objects.filter(
            item__external_id=entry["id"], criterion__name="solution_correct"
        ).values_list("rater__name", "value")
    )
    expected = "correct" if entry["final_answer_correct"] else "incorrect"
    assert verdicts == {"processbench_experts": "incorrect", "outcome_check": expected}


@pytest.mark.django_db
def test_it_judges_every_step_correct_when_the_label_is_minus_one(project, imported):
    entry = next(e for e in _entries() if e["label"] == -1)
    values = Judgement.objects.filter(
        item__external_id=entry["id"], criterion__name="validity"
    ).values_list("value", flat=True)
    assert list(values) == ["correct"] * len(entry["steps"])


@pytest.mark.django_db
def test_it_lets_a_report_count_flawed_solutions_the_outcome_check_passes(project, imported):
    false_passes = [e["id"] for e in _entries() if e["label"] >= 0 and e["final_answer_correct"]]
    assert false_passes  # the sample keeps some, so the demo has something to show
    passed = set(
        Judgement.objects.filter(rater__name="outcome_check", value="correct").values_list(
            "item__external_id", flat=True
        )
    )
    flawed = set(
        Judgement.objects.filter(rater__name="processbench_experts", value="incorrect")
        .filter(criterion__name="solution_correct")
        .values_list("item__external_id", flat=True)
    )
    assert sorted(passed & flawed) == sorted(false_passes)
    checker = Rater.objects.get(name="outcome_check")
    assert (checker.kind, checker.group) == ("model", "outcome-check")
    experts = Rater.objects.get(name="processbench_experts")
    assert (experts.kind, experts.group) == ("human", "expert")


@pytest.mark.django_db
def test_it_keeps_latex_byte_for_byte(project, imported):
    entries = {e["id"]: e for e in _entries()}
    with_latex = 0
    for item in Item.objects.prefetch_related("steps"):
        entry = entries[item.external_id]
        assert item.prompt.encode() == entry["problem"].encode()
        assert [s.text.encode() for s in item.steps.all()] == [s.encode() for s in entry["steps"]]
        with_latex += any("\\(" in s or "\\[" in s or "$" in s for s in entry["steps"])
    assert with_latex > 100
    for path in FILES:  # the sample is written the way the published files are
        raw = path.read_bytes()
        assert json.dumps(json.loads(raw), indent=2, ensure_ascii=False).encode() == raw
    assert Criterion.objects.get(name="validity").error_labels == ["incorrect"]


@pytest.mark.django_db
def test_it_imports_again_without_changes(project, imported):
    again = services.items_import(project=project, paths=FILES, format="processbench")
    assert (again.items_created, again.judgements_created) == (0, 0)
    assert again.judgements_unchanged == imported.judgements_created


@pytest.mark.django_db
def test_it_recognises_the_same_solutions_in_a_renamed_upload(project, tmp_path):
    services.items_import(project=project, paths=FILES[:1], format="processbench")
    renamed = tmp_path / "gsm8k_x7Yz.json"
    renamed.write_bytes(FILES[0].read_bytes())
    again = services.items_import(project=project, paths=[renamed], format="processbench")
    assert (again.items_created, again.judgements_created) == (0, 0)
    assert set(Item.objects.values_list("meta__subset", flat=True)) == {"gsm8k"}


@pytest.mark.django_db
def test_it_rejects_malformed_entries_naming_file_entry_and_field(project, tmp_path):
    good = {
        "id": "x-0",
        "generator": "m",
        "problem": "p",
        "steps": ["a", "b"],
        "final_answer_correct": False,
        "label": 1,
    }
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                good,
                {**good, "id": "x-1", "label": 2},
                {**good, "id": "x-2", "steps": "a, b"},
                {**good, "id": "x-3", "final_answer_correct": "yes"},
                "not an object",
            ]
        )
    )
    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"id": "y-0",\n  oops}\n]')
    before = _db_counts()
    with pytest.raises(DomainError) as exc:
        services.items_import(project=project, paths=[bad, broken], format="processbench")
    assert exc.value.errors == [
        "bad.json entry 2, field 'label': must be -1 or a step index 0..1, got 2",
        "bad.json entry 3, field 'steps': must be a list of strings, got \"a, b\"",
        "bad.json entry 4, field 'final_answer_correct': must be true or false, got \"yes\"",
        "bad.json entry 5: must be a JSON object",
        "broken.json line 3: not valid JSON (Expecting property name enclosed in double quotes)",
    ]
    assert _db_counts() == before


def _entry(item_id: str, problem: str, last_step: str, correct: bool) -> dict:
    return {
        "id": item_id,
        "generator": "m",
        "problem": problem,
        "steps": ["Let us compute.", last_step],
        "final_answer_correct": correct,
        "label": -1 if correct else 1,
    }


def _references(paths: list[Path], **options) -> dict[str, tuple]:
    items = [r for r in processbench.parse(paths, **options) if isinstance(r, ItemRecord)]
    return {r.external_id: (r.reference_answer, r.meta.get("reference_source")) for r in items}


@pytest.fixture
def several_solutions(tmp_path) -> list[Path]:
    """Problem P solved four times (two right, one wrong, one right without a boxed answer,
    the second right one in another file); problem Q once."""
    first, second = tmp_path / "math.json", tmp_path / "omnimath.json"
    first.write_text(
        json.dumps(
            [
                _entry("math-0", "P", "So $\\boxed{\\frac{1}{2}}$.", True),
                _entry("math-1", "P", "So $\\boxed{3}$.", False),
                _entry("math-2", "P", "So the answer is 1/2.", True),
                _entry("math-3", "Q", "So $\\boxed{7}$.", True),
            ]
        )
    )
    second.write_text(json.dumps([_entry("omnimath-0", "P", "It is $\\boxed{0.5}$.", True)]))
    return [first, second]


def test_it_takes_the_reference_from_another_correct_solution_of_the_same_problem(
    several_solutions,
):
    assert _references(several_solutions, leave_one_out_references=True) == {
        "math-0": ("0.5", "omnimath-0"),  # never its own answer
        "math-1": ("\\frac{1}{2}", "math-0"),
        "math-2": ("\\frac{1}{2}", "math-0"),
        "math-3": (None, None),  # the only solution of Q
        "omnimath-0": ("\\frac{1}{2}", "math-0"),
    }


def test_it_adds_no_reference_unless_asked(several_solutions):
    assert set(_references(several_solutions).values()) == {(None, None)}


@pytest.mark.django_db
def test_it_stores_the_derived_reference_and_its_source(project, several_solutions):
    records = processbench.parse(several_solutions, leave_one_out_references=True)
    ImportWriter(project).run(records)
    item = Item.objects.get(external_id="math-1")
    assert item.reference_answer == "\\frac{1}{2}"
    assert item.meta == {"subset": "math", "generator": "m", "reference_source": "math-0"}
