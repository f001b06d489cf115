"""The PRM800K importer, on a small file written here in the raw format of openai/prm800k."""

import json
from pathlib import Path

import pytest

from annotations import services
from annotations.errors import DomainError
from annotations.models import Criterion, Item, Judgement, Rater, Step

PROBLEM = r"What is the greatest common factor of $20 !$ and $200,\!000$?"
ALICE = "340d89bc-f5b7-45e9-b272-909ba68ee363"
BOB = "9a1e3c4d-0000-4000-8000-000000000002"


def _completion(text: str, rating, flagged=None) -> dict:
    return {"text": text, "rating": rating, "flagged": flagged}


def _step(*completions: dict, chosen=0, human=None) -> dict:
    return {
        "completions": list(completions),
        "human_completion": human,
        "chosen_completion": chosen,
    }


def _line(labeler: str, steps: list, finish: str = "found_error", **extra) -> dict:
    return {
        "labeler": labeler,
        "timestamp": "2023-01-22T04:34:27.052924",
        "generation": 9,
        "is_quality_control_question": extra.pop("qc", False),
        "is_initial_screening_question": False,
        "question": {"problem": extra.pop("problem", PROBLEM), "ground_truth_answer": "40,\\!000"},
        "label": {"steps": steps, "total_time": 278270, "finish_reason": finish},
    }


PHASE2_STEPS = [
    _step(_completion("I want the largest integer dividing both.", 0)),
    _step(_completion(r"$200,\!000 = 2^6 \cdot 5^5$.", 1, flagged=True)),
    _step(
        _completion(r"So the answer is $2^9\cdot 5^4$.", -1),
        _completion("Count the factors of 2 in $20!$.", 0),
        chosen=None,
    ),
]
PHASE1_STEPS = [
    _step(
        _completion("Let $x = 1$.", -1), chosen=None, human={"text": "Let $x = 2$.", "rating": None}
    ),
    _step(_completion("Then $x^2 = 4$.", 1)),
    _step(_completion("# Answer\n\n4", None)),
]


def _write(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def _db_counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Criterion, Item, Step, Rater, Judgement))


@pytest.fixture
def labels(tmp_path) -> Path:
    return _write(
        tmp_path / "phase2_train.jsonl",
        [
            _line(ALICE, PHASE2_STEPS, qc=True),
            _line(BOB, PHASE2_STEPS, qc=True),
            _line(ALICE, PHASE2_STEPS, qc=True),  # the same labelling again
            _line(BOB, PHASE1_STEPS, finish="solution", problem="What is $x^2$?"),
            _line(ALICE, [], finish="bad_problem"),
        ],
    )


@pytest.mark.django_db
def test_it_imports_each_solution_once_with_every_labelers_ratings(project, labels):
    counts = services.items_import(project=project, paths=[labels], format="prm800k")
    assert (counts.items_created, counts.steps_created, counts.raters_created) == (2, 6, 2)
    assert counts.judgements_created == 3 + 3 + 1
    criterion = Criterion.objects.get()
    assert (criterion.name, criterion.target, criterion.scale) == ("rating", "step", "ordinal")
    assert (criterion.labels, criterion.error_labels) == ([-1, 0, 1], [-1])
    assert set(Rater.objects.values_list("name", "kind", "group")) == {
        (ALICE, "human", "expert"),
        (BOB, "human", "expert"),
    }

    shared = Item.objects.get(prompt=PROBLEM)
    assert shared.external_id.startswith("prm800k-")
    assert shared.meta == {"ground_truth_answer": "40,\\!000"}
    assert [s.text for s in shared.steps.all()] == [
        "I want the largest integer dividing both.",
        r"$200,\!000 = 2^6 \cdot 5^5$.",
        r"So the answer is $2^9\cdot 5^4$.",  # chosen is null: the first completion
    ]
    for labeler in (ALICE, BOB):
        ratings = Judgement.objects.filter(item=shared, rater__name=labeler).order_by("step__index")
        assert [j.value for j in ratings] == [0, 1, -1]
    flagged = Judgement.objects.get(item=shared, rater__name=BOB, step__index=1)
    assert flagged.meta["flagged"] is True and flagged.meta["quality_control"] is True
    assert flagged.meta["finish_reason"] == "found_error"
    assert {j.meta.get("dropped_repeats") for j in Judgement.objects.filter(rater__name=ALICE)} == {
        1
    }


@pytest.mark.django_db
def test_it_takes_the_human_step_and_skips_unrated_ones(project, labels):
    services.items_import(project=project, paths=[labels], format="prm800k")
    item = Item.objects.get(prompt="What is $x^2$?")
    assert [s.text for s in item.steps.all()] == [
        "Let $x = 2$.",
        "Then $x^2 = 4$.",
        "# Answer\n\n4",
    ]
    judged = Judgement.objects.filter(item=item).values_list("step__index", "value")
    assert list(judged) == [(1, 1)]


@pytest.mark.django_db
def test_it_imports_again_without_changes(project, labels):
    services.items_import(project=project, paths=[labels], format="prm800k")
    again = services.items_import(project=project, paths=[labels], format="prm800k")
    assert (again.items_created, again.judgements_created, again.judgements_unchanged) == (0, 0, 7)


@pytest.mark.django_db
def test_it_rejects_malformed_lines_naming_file_line_and_field(project, tmp_path):
    two = [_step(_completion("a", 2))]
    out_of_range = [_step(_completion("a", 1), chosen=3)]
    path = _write(
        tmp_path / "bad.jsonl",
        [
            _line(ALICE, PHASE2_STEPS),
            _line(ALICE, two, problem="p2"),
            _line(ALICE, out_of_range, problem="p3"),
            "{not json",
            {**_line(ALICE, PHASE2_STEPS), "labeler": None},
            {**_line(ALICE, PHASE2_STEPS), "question": "What?"},
        ],
    )
    before = _db_counts()
    with pytest.raises(DomainError) as exc:
        services.items_import(project=project, paths=[path], format="prm800k")
    assert exc.value.errors == [
        "bad.jsonl line 2, field 'label.steps[0].completions[0].rating': must be -1, 0, 1 or "
        "null, got 2",
        "bad.jsonl line 3, field 'label.steps[0].chosen_completion': 3 is out of range: the "
        "step has 1 completion(s)",
        "bad.jsonl line 4: not valid JSON",
        "bad.jsonl line 5, field 'labeler': must be a non-empty string",
        "bad.jsonl line 6, field 'question': must be an object",
    ]
    assert _db_counts() == before
