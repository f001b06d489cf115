"""The SummEval importer, on the 12 system files copied whole into demo_data."""

import json
from pathlib import Path

import pytest

from annotations import services
from annotations.errors import DomainError
from annotations.models import Criterion, Item, Judgement, Rater

DATA = Path(__file__).resolve().parents[3] / "annotations" / "demo_data" / "summeval"
FILES = sorted(DATA.glob("M*_outputs_annotations.jsonl"))
CRITERIA = ("coherence", "consistency", "fluency", "relevance")


def _summaries() -> list[dict]:
    return [json.loads(line) for path in FILES for line in path.open("rb") if line.strip()]


def _db_counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Criterion, Item, Rater, Judgement))


@pytest.fixture
def imported(project):
    return services.items_import(project=project, paths=FILES, format="summeval")


@pytest.mark.django_db
def test_it_imports_every_summary_and_every_score(project, imported):
    summaries = _summaries()
    scores = [
        a[name]
        for s in summaries
        for a in s["expert_annotations"] + s["turker_annotations"]
        for name in CRITERIA
    ]
    missing = sum(score is None for score in scores)
    assert (len(FILES), len(summaries), missing) == (12, 1200, 0)
    assert imported.items_created == 1200
    assert imported.judgements_created == 1200 * 4 * 8 - missing == len(scores)
    assert Judgement.objects.count() == 38_400
    assert list(Criterion.objects.values_list("name", "scale", "labels")) == [
        (name, "ordinal", [1, 2, 3, 4, 5]) for name in CRITERIA
    ]
    groups = dict(Rater.objects.values_list("name", "group"))
    assert groups == {
        **{f"expert_{i}": "expert" for i in (1, 2, 3)},
        **{f"turker_{i}": "crowd" for i in (1, 2, 3, 4, 5)},
    }


@pytest.mark.django_db
def test_it_takes_the_position_in_the_list_as_the_rater(project, imported):
    summary = _summaries()[0]
    item = Item.objects.get(external_id=f"{summary['id']}-{summary['model_id']}")
    assert (item.prompt, item.response) == (summary["text"], summary["decoded"])
    assert item.meta == {"model_id": summary["model_id"], "source_id": summary["id"]}
    stored = dict(
        Judgement.objects.filter(item=item, criterion__name="coherence").values_list(
            "rater__name", "value"
        )
    )
    assert stored == {
        **{f"expert_{i}": a["coherence"] for i, a in enumerate(summary["expert_annotations"], 1)},
        **{f"turker_{i}": a["coherence"] for i, a in enumerate(summary["turker_annotations"], 1)},
    }


@pytest.mark.django_db
def test_it_imports_again_without_changes(project, imported):
    again = services.items_import(project=project, paths=FILES, format="summeval")
    assert (again.items_created, again.judgements_created) == (0, 0)
    assert again.judgements_unchanged == 38_400


@pytest.mark.django_db
def test_it_skips_missing_scores_and_takes_whole_floats(project, tmp_path):
    line = json.loads(FILES[0].read_bytes().splitlines()[0])
    line["expert_annotations"][0]["coherence"] = None
    del line["expert_annotations"][1]["fluency"]
    line["turker_annotations"][0]["relevance"] = 4.0
    path = tmp_path / "M0_outputs_annotations.jsonl"
    path.write_text(json.dumps(line) + "\n")
    counts = services.items_import(project=project, paths=[path], format="summeval")
    assert counts.judgements_created == 4 * 8 - 2
    assert Judgement.objects.get(rater__name="turker_1", criterion__name="relevance").value == 4


@pytest.mark.django_db
def test_it_rejects_bad_lines_naming_file_line_and_field(project, tmp_path):
    good = json.loads(FILES[0].read_bytes().splitlines()[0])
    half = json.loads(json.dumps(good))
    half["model_id"] = "M99"
    half["turker_annotations"][2]["fluency"] = 3.5
    no_summary = {**good, "model_id": "M98", "decoded": None}
    path = tmp_path / "M99_outputs_annotations.jsonl"
    path.write_text(
        "\n".join([json.dumps(good), json.dumps(half), "{oops", json.dumps(no_summary)]) + "\n"
    )
    before = _db_counts()
    with pytest.raises(DomainError) as exc:
        services.items_import(project=project, paths=[path], format="summeval")
    assert exc.value.errors == [
        "M99_outputs_annotations.jsonl line 2, field 'turker_annotations[2].fluency': "
        "must be a whole number 1-5, got 3.5",
        "M99_outputs_annotations.jsonl line 3: not valid JSON",
        "M99_outputs_annotations.jsonl line 4, field 'decoded': must be a non-empty string, "
        "got null",
    ]
    assert _db_counts() == before


@pytest.mark.django_db
def test_it_adds_the_binary_consistent_criterion_when_asked(project, tmp_path):
    line = {
        "id": "a1",
        "model_id": "M0",
        "decoded": "summary",
        "text": "article",
        "expert_annotations": [
            {"coherence": 1, "consistency": c, "fluency": 1, "relevance": 1} for c in (5, 4, 5)
        ],
        "turker_annotations": [],
    }
    path = tmp_path / "M0_outputs_annotations.jsonl"
    path.write_text(json.dumps(line) + "\n")
    from annotations.importers import summeval
    from annotations.importers.writer import ImportWriter

    ImportWriter(project).run(summeval.parse([path], consistent=True))
    criterion = Criterion.objects.get(project=project, name="consistent")
    assert (criterion.scale, criterion.labels, criterion.error_labels) == (
        "nominal",
        ["yes", "no"],
        ["no"],
    )
    labels = dict(Judgement.objects.filter(criterion=criterion).values_list("rater__name", "value"))
    assert labels == {"expert_1": "yes", "expert_2": "no", "expert_3": "yes"}
    services.items_import(project=project, paths=[path], format="summeval")  # off by default
    assert Criterion.objects.filter(project=project).count() == 5
