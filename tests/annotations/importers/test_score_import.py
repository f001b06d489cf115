"""Reward-model and PRM scores: native `score` lines and `--format scores` CSV, stored all or
nothing, idempotent, and refused with the line and field when wrong."""

import io
import json
import math

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from annotations import services
from annotations.errors import DomainError
from annotations.models import Project, Rater, Score
from tests.factories import (
    COHERENCE,
    PREFERENCE,
    VALIDITY,
    judgement,
    pair,
    solution,
    write_jsonl,
)

pytestmark = pytest.mark.django_db

CORRECTNESS = {
    "type": "criterion",
    "name": "correctness",
    "target": "item",
    "scale": "nominal",
    "labels": ["correct", "wrong"],
    "error_labels": ["wrong"],
}


def score(item: str, criterion: str, value, rater: str = "prm", **extra) -> dict:
    return (
        {"type": "score", "item": item, "criterion": criterion, "rater": rater}
        | {"score": value}
        | extra
    )


def base_lines() -> list:
    return [VALIDITY, CORRECTNESS, COHERENCE, solution(), pair()]


def score_lines() -> list:
    return [
        score("gsm8k-5", "validity", 0.9, step=0, rater_group="prm", rater_model="math-prm-7b"),
        score("gsm8k-5", "validity", -1.25, step=1, rater_group="prm"),
        score("gsm8k-5", "correctness", 3, rater="rm", rater_group="reward"),
    ]


def run_import(tmp_path, project, lines, name="in.jsonl", format="native"):
    path = tmp_path / name
    if format == "native":
        write_jsonl(path, lines)
    else:
        path.write_text(lines)
    return services.items_import(project=project, paths=[path], format=format)


def errors_of(tmp_path, project, lines, format="native") -> list[str]:
    with pytest.raises(DomainError) as caught:
        run_import(tmp_path, project, lines, format=format)
    return caught.value.errors


def test_it_stores_item_and_step_scores_of_model_raters(tmp_path, project):
    counts = run_import(tmp_path, project, base_lines() + score_lines())

    assert (counts.scores_created, counts.scores_unchanged, counts.raters_created) == (3, 0, 2)
    step_scores = Score.objects.filter(criterion__name="validity").order_by("step__index")
    assert [(s.step.index, s.score) for s in step_scores] == [(0, 0.9), (1, -1.25)]
    item_score = Score.objects.get(criterion__name="correctness")
    assert (item_score.step, item_score.score) == (None, 3.0)
    prm = Rater.objects.get(name="prm")
    assert (prm.kind, prm.group, prm.model_name) == ("model", "prm", "math-prm-7b")


def test_it_changes_nothing_when_the_same_scores_are_imported_twice(tmp_path, project):
    run_import(tmp_path, project, base_lines() + score_lines())
    before = sorted(Score.objects.values_list("pk", "score"))

    counts = run_import(tmp_path, project, base_lines() + score_lines(), name="again.jsonl")

    assert (counts.scores_created, counts.scores_unchanged) == (0, 3)
    assert sorted(Score.objects.values_list("pk", "score")) == before


def test_a_different_score_for_a_stored_one_is_a_conflict(tmp_path, project):
    run_import(tmp_path, project, base_lines() + score_lines())
    changed = [score("gsm8k-5", "validity", 0.5, step=0, rater_group="prm")]
    changed.append(score("gsm8k-5", "validity", 0.1, step=2, rater_group="prm"))

    errors = errors_of(tmp_path, project, base_lines() + changed)

    assert errors == [
        "in.jsonl line 6, field 'score': conflicts with the stored score 0.9; scores are "
        "never overwritten by an import"
    ]
    assert Score.objects.count() == 3


def test_it_refuses_a_score_given_twice_in_one_file(tmp_path, project):
    twice = [score("gsm8k-5", "validity", 0.9, step=0), score("gsm8k-5", "validity", 0.9, step=0)]

    errors = errors_of(tmp_path, project, base_lines() + twice)

    assert errors == [
        "in.jsonl line 7: duplicate score: same rater, item, step and criterion as line 6"
    ]
    assert not Score.objects.exists()


@pytest.mark.parametrize(
    ("bad_line", "field", "needle"),
    [
        (score("gsm8k-5", "coherence", 0.5), "criterion", "has no error labels"),
        (score("gsm8k-5", "nope", 0.5), "criterion", "unknown criterion"),
        (score("nope", "correctness", 0.5), "item", "unknown item 'nope'"),
        (score("gsm8k-5", "validity", 0.5), "step", "needs a step"),
        (score("gsm8k-5", "validity", 0.5, step=3), "step", "out of range"),
        (score("gsm8k-5", "correctness", 0.5, step=0), "step", "leave step out"),
        (score("gsm8k-5", "correctness", "high"), "score", "must be a finite number"),
        (score("gsm8k-5", "correctness", True), "score", "must be a finite number"),
        (
            '{"type": "score", "item": "gsm8k-5", "criterion": "correctness", "rater": "prm",'
            ' "score": 1e999}',
            "score",
            "NaN or infinite",
        ),
        ({"type": "score", "item": "gsm8k-5", "criterion": "correctness"}, "rater", "is required"),
        (score("gsm8k-5", "correctness", 0.5, rater="expert_1"), "rater", "is a human"),
    ],
)
def test_it_names_the_line_and_field_of_a_bad_score(tmp_path, project, bad_line, field, needle):
    lines = base_lines() + [judgement("gsm8k-5", "validity", "correct", step=0), bad_line]

    errors = errors_of(tmp_path, project, lines)

    assert len(errors) == 1
    where = f"in.jsonl line 7, field '{field}'" if field else "in.jsonl line 7:"
    assert errors[0].startswith(where)
    assert needle in errors[0]
    assert not Score.objects.exists()
    assert not Rater.objects.exists()


CSV = (
    "item,criterion,step,rater,rater_group,score\n"
    "gsm8k-5,validity,0,prm,prm,0.9\n"
    "gsm8k-5,validity,1,prm,prm,-1.25\n"
    "gsm8k-5,correctness,,rm,,3\n"
)


def test_the_csv_format_stores_the_same_scores_as_native_lines(tmp_path, project):
    run_import(tmp_path, project, base_lines())

    counts = run_import(tmp_path, project, CSV, name="scores.csv", format="scores")

    assert counts.scores_created == 3
    assert sorted(Score.objects.values_list("rater__name", "step__index", "score")) == [
        ("prm", 0, 0.9),
        ("prm", 1, -1.25),
        ("rm", None, 3.0),
    ]
    assert Rater.objects.get(name="rm").group == "model"
    again = run_import(tmp_path, project, CSV, name="scores.csv", format="scores")
    assert (again.scores_created, again.scores_unchanged) == (0, 3)


@pytest.mark.parametrize(
    ("row", "field", "needle"),
    [
        ("gsm8k-5,correctness,,rm,,inf", "score", "must be a finite number"),
        ("gsm8k-5,correctness,,rm,,nan", "score", "must be a finite number"),
        ("gsm8k-5,correctness,,rm,,high", "score", "must be a finite number, got 'high'"),
        ("gsm8k-5,validity,x,rm,,1", "step", "0-based step index"),
        ("gsm8k-5,correctness,,,,1", "rater", "is required"),
        ("gsm8k-5,validity,7,rm,,1", "step", "out of range"),
    ],
)
def test_a_bad_csv_row_names_its_line_and_nothing_is_stored(tmp_path, project, row, field, needle):
    run_import(tmp_path, project, base_lines())
    text = CSV + row + "\n"

    errors = errors_of(tmp_path, project, text, format="scores")

    assert len(errors) == 1
    assert errors[0].startswith(f"in.jsonl line 5, field '{field}'")
    assert needle in errors[0]
    assert not Score.objects.exists()


def test_the_database_refuses_a_non_finite_score(tmp_path, project):
    run_import(tmp_path, project, base_lines() + score_lines())
    stored = Score.objects.get(criterion__name="correctness")

    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(IntegrityError), transaction.atomic():
            Score.objects.filter(pk=stored.pk).update(score=bad)


# ---- pair scores: P(a is better than b) on a pairwise criterion ----------------------------


def pair_lines() -> list:
    return [PREFERENCE, CORRECTNESS, pair("q1"), pair("q2"), solution()]


def test_it_stores_pair_scores_as_probabilities_of_a_on_a_pairwise_criterion(tmp_path, project):
    lines = pair_lines() + [
        score("q1", "preference", 0.8, rater="pm", rater_group="pref"),
        score("q2", "preference", 0, rater="pm", rater_group="pref"),
    ]

    counts = run_import(tmp_path, project, lines)

    assert counts.scores_created == 2
    stored = Score.objects.filter(criterion__name="preference").order_by("item__external_id")
    assert [(s.item.external_id, s.step, s.score) for s in stored] == [
        ("q1", None, 0.8),
        ("q2", None, 0.0),
    ]


@pytest.mark.parametrize(
    ("bad_line", "field", "needle"),
    [
        (score("q2", "preference", 1.5), "score", "1.5 is outside 0 to 1"),
        (score("q2", "preference", -0.01), "score", "-0.01 is outside 0 to 1"),
        (score("gsm8k-5", "preference", 0.5), "criterion", "needs a pair, 'gsm8k-5' is not"),
        (score("q2", "preference", 0.5, step=0), "step", "leave step out"),
    ],
)
def test_it_refuses_a_bad_pair_score_and_stores_none(tmp_path, project, bad_line, field, needle):
    lines = pair_lines() + [score("q1", "preference", 0.8), bad_line]

    errors = errors_of(tmp_path, project, lines)

    assert len(errors) == 1
    assert errors[0].startswith(f"in.jsonl line 7, field '{field}'")
    assert needle in errors[0]
    assert not Score.objects.exists()


def test_a_csv_pair_score_out_of_range_rejects_the_whole_file(tmp_path, project):
    run_import(tmp_path, project, pair_lines())
    header = "item,criterion,step,rater,rater_group,score\n"

    counts = run_import(
        tmp_path, project, header + "q1,preference,,pm,,1\n", name="ok.csv", format="scores"
    )
    assert counts.scores_created == 1
    errors = errors_of(
        tmp_path,
        project,
        header + "q2,preference,,pm,,0.3\nq1,preference,,pm,,2\n",
        format="scores",
    )

    assert errors == [
        "in.jsonl line 3, field 'score': 2 is outside 0 to 1: a score on pairwise criterion "
        "'preference' is the probability that a is better than b"
    ]
    assert list(Score.objects.values_list("item__external_id", "score")) == [("q1", 1.0)]


# ---- export -------------------------------------------------------------------------------


def scores_of(project) -> list[tuple]:
    return sorted(  # by item, rater, criterion, then step (None as -1)
        Score.objects.filter(criterion__project=project).values_list(
            "item__external_id",
            "step__index",
            "criterion__name",
            "rater__name",
            "rater__group",
            "rater__kind",
            "rater__model_name",
            "score",
        ),
        key=lambda row: (row[0], row[3], row[2], -1 if row[1] is None else row[1]),
    )


def test_export_data_writes_the_scores_and_an_import_of_it_reproduces_them(tmp_path, project):
    # A rater with judgements and scores, float scores that need every digit, a pair score.
    lines = pair_lines() + score_lines()[:2] + [
        judgement("q1", "preference", "a", rater="pm", rater_kind="model", rater_group="pref",
                  rater_prompt_version="pair-v2"),
        score("q1", "preference", 0.1 + 0.2, rater="pm", rater_group="pref"),
        score("q2", "preference", 1, rater="pm", rater_group="pref"),
        score("gsm8k-5", "correctness", -1.7976931348623157e308, rater="rm"),
    ]  # fmt: skip
    lines.insert(1, VALIDITY)
    run_import(tmp_path, project, lines)
    out = tmp_path / "export.jsonl"

    call_command("export_data", project=project.name, out=str(out), stderr=io.StringIO())
    copy = Project.objects.create(name="Copy", slug="copy")
    counts = services.items_import(project=copy, paths=[out])

    assert counts.scores_created == 5
    assert scores_of(copy) == scores_of(project)
    assert Rater.objects.get(project=copy, name="pm").prompt_version == "pair-v2"
    assert len(scores_of(copy)) == 5
    again = tmp_path / "again.jsonl"
    call_command("export_data", project="Copy", out=str(again), stderr=io.StringIO())
    assert again.read_text() == out.read_text()
    score_line = json.loads(out.read_text().splitlines()[-1])
    assert score_line == {
        "type": "score", "item": "gsm8k-5", "criterion": "correctness", "rater": "rm",
        "rater_group": "model", "score": -1.7976931348623157e308,
    }  # fmt: skip
