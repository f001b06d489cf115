"""The JUDGE-BENCH importer, on newsroom and the recipes copied whole into demo_data."""

import json
from pathlib import Path

import pytest

from annotations import services
from annotations.errors import DomainError
from annotations.models import Criterion, Item, Judgement, Rater

DATA = Path(__file__).resolve().parents[3] / "annotations" / "demo_data" / "judge_bench"
NEWSROOM = DATA / "newsroom.json"
RECIPES = DATA / "meta_evaluation_recipes.json"


def _scores(path: Path) -> dict[str, list]:
    """metric -> every individual score in the file, counted independently of the importer."""
    data = json.loads(path.read_bytes())
    scores: dict[str, list] = {a["metric"]: [] for a in data["annotations"]}
    for instance in data["instances"]:
        for metric, entry in instance["annotations"].items():
            scores[metric].extend(entry["individual_human_scores"])
    return scores


def _db_counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Criterion, Item, Rater, Judgement))


def _write(path: Path, annotations: list, instances: list) -> Path:
    path.write_text(
        json.dumps({"dataset": "toy", "annotations": annotations, "instances": instances})
    )
    return path


GRADED = {"metric": "Quality", "category": "graded", "worst": 1, "best": 5, "prompt": "?"}


@pytest.fixture
def imported(project):
    return services.items_import(project=project, paths=[NEWSROOM, RECIPES], format="judgebench")


@pytest.mark.django_db
def test_it_imports_every_instance_and_score(project, imported):
    newsroom, recipes = _scores(NEWSROOM), _scores(RECIPES)
    every = [s for scores in (*newsroom.values(), *recipes.values()) for s in scores]
    assert all(isinstance(s, int) for s in every)  # no null, no float in the shipped files
    assert imported.items_created == 420 + 52
    assert imported.judgements_created == len(every) == 420 * 4 * 3 + 6336
    for metric, scores in (*newsroom.items(), *recipes.items()):
        assert Judgement.objects.filter(criterion__name=metric).count() == len(scores)
    labels = dict(Criterion.objects.values_list("name", "labels"))
    assert labels["Informativeness"] == [1, 2, 3, 4, 5]
    assert labels["grammar"] == [1, 2, 3, 4, 5, 6]
    assert set(Criterion.objects.values_list("scale", flat=True)) == {"ordinal"}
    longest = max(
        len(e["annotations"]["overall"]["individual_human_scores"])
        for e in json.loads(RECIPES.read_bytes())["instances"]
    )
    assert Rater.objects.filter(group="human").count() == longest == 88


@pytest.mark.django_db
def test_it_takes_the_position_of_a_score_as_its_rater(project, imported):
    instance = json.loads(NEWSROOM.read_bytes())["instances"][0]
    item = Item.objects.get(external_id=f"newsroom-{instance['id']}")
    assert (item.kind, item.prompt, item.response) == ("response", "", instance["instance"])
    assert item.meta == {"dataset": "newsroom", "instance_id": instance["id"]}
    stored = dict(
        Judgement.objects.filter(item=item, criterion__name="Fluency").values_list(
            "rater__name", "value"
        )
    )
    scores = instance["annotations"]["Fluency"]["individual_human_scores"]
    assert stored == {f"human_{i}": score for i, score in enumerate(scores, start=1)}
    recipe = Item.objects.get(
        external_id="rewritten-cooking-recipes-stein-et-al-dmr-workshop-2024-baked_ziti_5_dependency"
    )
    assert recipe.meta["dataset"] == "Rewritten cooking recipes (Stein et al., DMR Workshop 2024"


@pytest.mark.django_db
def test_it_imports_again_without_changes(project, imported):
    again = services.items_import(project=project, paths=[NEWSROOM, RECIPES], format="judgebench")
    assert (again.items_created, again.judgements_created) == (0, 0)
    assert again.judgements_unchanged == imported.judgements_created


@pytest.mark.django_db
def test_it_splits_object_instances_skips_nulls_and_keeps_fractional_scores(project, tmp_path):
    categorical = {"metric": "Label", "category": "categorical", "labels_list": ["yes", "no"]}
    fractional = {**GRADED, "metric": "Mean"}
    path = _write(
        tmp_path / "toy.json",
        [GRADED, categorical, fractional],
        [
            {
                "id": 0,
                "instance": {"context": "Say hi.", "response": "Hi!"},
                "annotations": {
                    "Quality": {"individual_human_scores": [4, None, 5.0]},
                    "Label": {"individual_human_scores": ["yes", "no"]},
                    "Mean": {"individual_human_scores": [2.5, 4]},
                },
            },
            {"id": 1, "instance": {"text": "plain"}, "annotations": {}},
        ],
    )
    counts = services.items_import(project=project, paths=[path], format="judgebench")
    assert counts.judgements_created == 2 + 2 + 2
    item = Item.objects.get(external_id="toy-0")
    assert (item.prompt, item.response) == ('{\n  "context": "Say hi."\n}', "Hi!")
    assert Item.objects.get(external_id="toy-1").response == '{\n  "text": "plain"\n}'
    quality = Judgement.objects.filter(criterion__name="Quality").order_by("rater__name")
    assert list(quality.values_list("rater__name", "value")) == [("human_1", 4), ("human_3", 5)]
    mean = Criterion.objects.get(name="Mean")
    assert (mean.scale, mean.min_value, mean.max_value) == ("interval", 1, 5)
    assert Criterion.objects.get(name="Label").labels == ["yes", "no"]


@pytest.mark.django_db
def test_it_rejects_bad_definitions_and_scores_naming_file_entry_and_field(project, tmp_path):
    path = _write(
        tmp_path / "bad.json",
        [GRADED, {"metric": "Odd", "category": "stars"}],
        [
            {
                "id": 0,
                "instance": "ok",
                "annotations": {"Quality": {"individual_human_scores": [3]}},
            },
            {
                "id": 1,
                "instance": "x",
                "annotations": {"Quality": {"individual_human_scores": [7]}},
            },
            {"id": 2, "instance": "y", "annotations": {"Tone": {"individual_human_scores": [1]}}},
            {"id": 3, "instance": 5, "annotations": {}},
        ],
    )
    before = _db_counts()
    with pytest.raises(DomainError) as exc:
        services.items_import(project=project, paths=[path], format="judgebench")
    assert exc.value.errors == [
        "bad.json line 1, field 'annotations[1].category': must be graded or categorical, "
        "got 'stars'",
        "bad.json entry 2, field 'annotations.Quality.individual_human_scores[0]': 7 is not "
        "one of 1, 2, 3, 4, 5",
        "bad.json entry 3, field 'annotations.Tone': is not a metric of the file's annotations",
        "bad.json entry 4, field 'instance': must be a text or an object",
    ]
    assert _db_counts() == before
