"""The native JSONL import: what it stores, that it is idempotent, and that bad input changes
nothing and names the line and field."""

import io
import json

import pytest

from annotations import services
from annotations.errors import DomainError
from annotations.exports import project_export_native
from annotations.importers.writer import MAX_REPORTED_ERRORS
from annotations.models import Criterion, Item, Judgement, Project, Rater, Step
from tests.factories import (
    COHERENCE,
    PREFERENCE,
    VALIDITY,
    good_lines,
    judgement,
    pair,
    solution,
    write_jsonl,
)

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (Project, Criterion, Item, Step, Rater, Judgement)
    } | {"values": sorted(Judgement.objects.values_list("pk", "code", "rationale"))}


def run_import(tmp_path, project, lines, name="in.jsonl"):
    return services.items_import(project=project, paths=[write_jsonl(tmp_path / name, lines)])


def rejected(tmp_path, project, lines) -> DomainError:
    with pytest.raises(DomainError) as caught:
        run_import(tmp_path, project, lines)
    return caught.value


def test_it_imports_criteria_items_steps_raters_and_judgements(tmp_path, project):
    counts = run_import(tmp_path, project, good_lines())

    assert counts.criteria_created == 3
    assert counts.items_created == 2
    assert counts.steps_created == 3
    assert counts.raters_created == 3
    assert counts.judgements_created == 5
    validity = Criterion.objects.get(project=project, name="validity")
    assert validity.error_labels == ["incorrect"]
    wrong = Judgement.objects.get(criterion=validity, step__index=1)
    assert (wrong.value, wrong.code, wrong.rationale) == ("incorrect", 1.0, "sign error")
    assert wrong.item.external_id == "gsm8k-5"
    tie = Judgement.objects.get(rater__name="gpt-4")
    assert (tie.value, tie.code, tie.step) == ("tie", 2.0, None)
    assert Rater.objects.get(name="gpt-4").kind == "model"
    item = Item.objects.get(external_id="gsm8k-5")
    assert item.prompt.startswith(r"Find \(x\)")
    assert list(item.steps.values_list("text", flat=True))[2] == r"step 2: \(x_2\)"


def test_it_stores_ordinal_and_interval_values_with_numeric_codes(tmp_path, project):
    score = {"type": "criterion", "name": "score", "target": "item", "scale": "interval"}
    score |= {"min": 0, "max": 10}
    lines = [COHERENCE, score, pair(), judgement("q81-t1", "coherence", 4)]
    lines.append(judgement("q81-t1", "score", 7.5))
    run_import(tmp_path, project, lines)

    assert Judgement.objects.get(criterion__name="coherence").code == 3.0
    assert Judgement.objects.get(criterion__name="score").code == 7.5


def test_it_changes_nothing_when_the_same_file_is_imported_twice(tmp_path, project):
    run_import(tmp_path, project, good_lines())
    before = snapshot()

    counts = run_import(tmp_path, project, good_lines())

    assert counts.judgements_created == 0
    assert counts.judgements_unchanged == 5
    assert counts.items_created == counts.criteria_created == counts.raters_created == 0
    assert snapshot() == before


def test_it_adds_only_new_judgements_on_a_second_file(tmp_path, project):
    run_import(tmp_path, project, good_lines())
    extra = good_lines() + [judgement("gsm8k-5", "validity", "correct", step=2)]

    counts = run_import(tmp_path, project, extra, name="more.jsonl")

    assert (counts.judgements_created, counts.judgements_unchanged) == (1, 5)
    assert Judgement.objects.count() == 6


def test_it_reproduces_a_project_through_export_and_import(tmp_path, project):
    run_import(tmp_path, project, good_lines())
    first = io.StringIO()
    project_export_native(project=project, out=first)
    copy = Project.objects.create(name="Copy", slug="copy")

    (tmp_path / "export.jsonl").write_text(first.getvalue())
    services.items_import(project=copy, paths=[tmp_path / "export.jsonl"])
    second = io.StringIO()
    project_export_native(project=copy, out=second)

    assert second.getvalue() == first.getvalue()
    assert Judgement.objects.filter(item__project=copy).count() == 5


@pytest.mark.parametrize(
    ("bad_line", "field", "needle"),
    [
        ("{not json", "", "not valid JSON"),
        ('["a", "list"]', "", "must be a JSON object"),
        ({"type": "verdict"}, "type", "must be one of"),
        (judgement("nope", "validity", "correct", step=0), "item", "unknown item 'nope'"),
        (judgement("gsm8k-5", "truth", "correct", step=0), "criterion", "unknown criterion"),
        (
            judgement("gsm8k-5", "validity", "maybe", step=0),
            "value",
            '"maybe" is not one of "correct", "incorrect"',
        ),
        (judgement("gsm8k-5", "validity", "correct", step=3), "step", "out of range"),
        (judgement("gsm8k-5", "validity", "correct", step=-1), "step", "out of range"),
        (judgement("gsm8k-5", "validity", "correct"), "step", "needs a step"),
        (judgement("q81-t1", "preference", "a", step=0), "step", "leave step out"),
        (judgement("q81-t1", "preference", "A"), "value", '"A" is not one of "a", "b", "tie"'),
        (judgement("q81-t1", "coherence", 6), "value", "6 is not one of 1, 2, 3, 4, 5"),
        (judgement("q81-t1", "coherence", "4"), "value", '"4" is not one of 1, 2, 3, 4, 5'),
        (judgement("gsm8k-5", "preference", "a"), "criterion", "needs a pair"),
        (judgement("q81-t1", "validity", "correct", step=0), "criterion", "judges steps"),
        (judgement("q81-t1", "preference", "a", step=True), "step", "0-based step index"),
        ({"type": "judgement", "item": "q81-t1", "criterion": "preference"}, "", "required"),
        (
            judgement("q81-t1", "preference", "a", rater="r2", rater_kind="robot"),
            "rater_kind",
            "human",
        ),
        (judgement("q81-t1", "preference", "b", rater_kind="model"), "rater", "is a human"),
        ({"type": "item", "id": "s2", "kind": "solution", "steps": []}, "steps", "at least one"),
        ({"type": "item", "id": "s3", "kind": "essay"}, "kind", "must be solution"),
        (solution("gsm8k-5"), "id", "appears twice"),
        (VALIDITY | {"labels": ["correct", "incorrect", "?"]}, "name", "another definition"),
        (PREFERENCE | {"name": "p2", "target": "step"}, "target", "judges whole items"),
        (COHERENCE | {"name": "c2", "labels": [1]}, "labels", "at least 2"),
        ({"type": "criterion", "name": "s", "target": "item", "scale": "interval"}, "min", "min"),
    ],
)
def test_it_rejects_a_bad_line_with_its_number_and_field(
    tmp_path, project, bad_line, field, needle
):
    lines = good_lines()
    lines.insert(7, bad_line)  # after the criteria and items, among the judgements
    before = snapshot()

    error = rejected(tmp_path, project, lines)

    assert error.count == 1, error.errors
    message = error.errors[0]
    assert message.startswith("in.jsonl line 8"), message
    if field:
        assert f"field '{field}'" in message
    assert needle in message
    assert snapshot() == before


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("11", "11 is outside 0 to 10"),
        ('"7"', '"7" is not a number'),
        ("true", "true is not a number"),
        # Not JSON, but Python's json module reads them; the value rule rejects them.
        ("NaN", "NaN is outside 0 to 10"),
        ("-Infinity", "-Infinity is outside 0 to 10"),
    ],
)
def test_it_rejects_an_interval_value_by_the_one_value_rule(tmp_path, project, value, message):
    score = {"type": "criterion", "name": "score", "target": "item", "scale": "interval"}
    line = json.dumps(judgement("q81-t1", "score", "?")).replace('"?"', value)

    error = rejected(tmp_path, project, [score | {"min": 0, "max": 10}, pair(), line])

    assert error.errors == [f"in.jsonl line 3, field 'value': {message}"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # Beyond the judgement column's range: the database would have refused it mid-import.
        ('"time_spent_ms": 2147483648', "field 'time_spent_ms': must be at most 2147483647"),
        # json.loads reads 1e999 as infinity, which no JSON column can hold.
        ('"meta": {"x": [1e999]}', "field 'meta': holds a number out of range"),
    ],
)
def test_it_rejects_numbers_the_database_cannot_hold(tmp_path, project, extra, message):
    line = json.dumps(judgement("q81-t1", "preference", "a"))[:-1] + ", " + extra + "}"

    error = rejected(tmp_path, project, [PREFERENCE, pair(), line])

    assert error.errors[0].startswith(f"in.jsonl line 3, {message}")


def test_it_rejects_an_interval_value_too_large_for_a_float(tmp_path, project):
    score = {"type": "criterion", "name": "score", "target": "item", "scale": "interval"}
    line = json.dumps(judgement("q81-t1", "score", 10**400))

    error = rejected(tmp_path, project, [score | {"min": 0, "max": 10}, pair(), line])

    assert error.errors == [f"in.jsonl line 3, field 'value': {'1' + '0' * 39} is outside 0 to 10"]


def test_it_rejects_a_huge_bound_on_a_criterion_of_any_scale(tmp_path, project):
    # A nominal criterion's max is stored and compared too: float() of it overflowed (a 500).
    nominal = {"type": "criterion", "name": "ok", "target": "item", "scale": "nominal"}
    line = json.dumps(nominal | {"labels": ["y", "n"], "max": 10**400})

    error = rejected(tmp_path, project, [line])

    assert error.errors[0].startswith("in.jsonl line 1, field 'max': must be a number from")


def test_it_rejects_a_duplicate_judgement_naming_both_lines(tmp_path, project):
    lines = good_lines() + [judgement("gsm8k-5", "validity", "correct", step=0)]
    before = snapshot()

    error = rejected(tmp_path, project, lines)

    assert error.errors == [
        "in.jsonl line 11: duplicate judgement: same rater, item, step and criterion as line 6"
    ]
    assert snapshot() == before


def test_it_rejects_a_judgement_that_conflicts_with_a_stored_one(tmp_path, project):
    run_import(tmp_path, project, good_lines())
    before = snapshot()
    changed = good_lines()
    changed[5] = judgement("gsm8k-5", "validity", "incorrect", step=0)

    error = rejected(tmp_path, project, changed)

    assert len(error.errors) == 1
    assert error.errors[0].startswith("in.jsonl line 6, field 'value': conflicts with the stored")
    assert snapshot() == before


def test_it_rejects_an_item_that_exists_with_other_content(tmp_path, project):
    run_import(tmp_path, project, good_lines())
    before = snapshot()
    changed = good_lines()
    changed[3] = solution("gsm8k-5", n_steps=4)

    error = rejected(tmp_path, project, changed)

    assert "line 4, field 'id': item 'gsm8k-5' already exists with other content" in error.errors[0]
    assert snapshot() == before


def test_it_rejects_a_file_that_is_not_utf8(tmp_path, project):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(pair()).encode() + b"\n" + '{"type": "é"}'.encode("latin-1"))

    with pytest.raises(DomainError) as caught:
        services.items_import(project=project, paths=[path])

    assert caught.value.errors == ["latin1.jsonl line 2: is not UTF-8 text"]
    assert not Item.objects.exists()


def test_it_reports_the_first_errors_and_counts_all_of_them(tmp_path, project):
    lines = good_lines() + ["{broken"] * 120

    error = rejected(tmp_path, project, lines)

    assert error.count == 120
    assert len(error.errors) == MAX_REPORTED_ERRORS
    assert error.errors[0].startswith("in.jsonl line 11:")
    assert "120 error(s)" in error.message


def test_it_leaves_an_earlier_import_untouched_when_a_later_one_fails(tmp_path, project):
    run_import(tmp_path, project, good_lines())
    before = snapshot()
    lines = good_lines() + [solution("new-1"), judgement("new-1", "validity", "correct", step=9)]

    rejected(tmp_path, project, lines)

    assert snapshot() == before
    assert not Item.objects.filter(external_id="new-1").exists()


@pytest.mark.parametrize(
    ("text", "needle"), [("a\u0000b", "NUL character"), ("\ud800", "lone surrogate")]
)
def test_it_rejects_text_the_database_cannot_store(tmp_path, project, text, needle):
    lines = good_lines()
    lines[6] = judgement("gsm8k-5", "validity", "incorrect", step=1, rationale=text)

    error = rejected(tmp_path, project, lines)

    assert error.errors[0].startswith("in.jsonl line 7: contains a")
    assert needle in error.errors[0]
    assert not Item.objects.exists()


def test_it_imports_items_interleaved_with_their_judgements_across_batches(
    tmp_path, project, monkeypatch
):
    from annotations.importers import items, writer

    monkeypatch.setattr(items, "ITEM_BATCH", 3)
    monkeypatch.setattr(writer, "STAGING_BATCH", 7)
    lines = [VALIDITY]
    for i in range(10):
        lines.append(solution(f"s{i}", n_steps=2))
        lines += [judgement(f"s{i}", "validity", "correct", step=k) for k in range(2)]

    counts = run_import(tmp_path, project, lines)
    again = run_import(tmp_path, project, lines)

    assert (counts.items_created, counts.steps_created, counts.judgements_created) == (10, 20, 20)
    assert (again.items_created, again.judgements_created, again.judgements_unchanged) == (0, 0, 20)
    assert set(Judgement.objects.values_list("item__external_id", "step__index")) == {
        (f"s{i}", k) for i in range(10) for k in range(2)
    }
