"""Label Studio import on real exports of a running Label Studio 1.23.2 (data/labelstudio/,
its README): counts per project as the README's table, every value as in the export, every
export kind (JSON, snapshot, JSON_MIN, CSV) giving the same judgements, re-imports that
change nothing or only what Label Studio changed, and bad exports rejected by task."""

import copy
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotations import services
from annotations.errors import DomainError
from annotations.models import Criterion, Item, Judgement, Project, Rater
from tests.annotations.importers.test_import_fuzz import table_counts

DATA = Path(__file__).parent / "data" / "labelstudio"
EMAILS = {2: "alice.annotator@example.com", 3: "bob.annotator@example.com",
          4: "carol.annotator@example.com"}  # fmt: skip
# The README's table: tasks, annotations (not skipped), skipped, predictions, model judgements
# (a prediction's results), human judgements (an annotation's results, regions on steps).
README = {
    "pairwise": {"tasks": 30, "annotations": 90, "skipped": 0, "predictions": 30,
                 "model_judgements": 30, "human_judgements": 90},
    "rubric": {"tasks": 20, "annotations": 58, "skipped": 1, "predictions": 20,
               "model_judgements": 40, "human_judgements": 116},
    "steps": {"tasks": 10, "annotations": 30, "skipped": 0, "predictions": 0,
              "model_judgements": 0, "human_judgements": 147},
}  # fmt: skip
PROJECTS = list(README)


def load(name: str) -> list:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def config(project: str) -> str:
    return (DATA / f"{project}.xml").read_text(encoding="utf-8")


def do_import(project: Project, path: Path, **options):
    return services.items_import(
        project=project, paths=[path], format="labelstudio", options=options
    )


@pytest.fixture
def fresh(db):
    def make(name: str = "ls") -> Project:
        return services.project_get_or_create(name=name)

    return make


def stored(project: Project, rater_names=lambda name: name) -> set[tuple]:
    rows = Judgement.objects.filter(item__project=project).values_list(
        "rater__name", "item__external_id", "step__index", "criterion__name", "value",
        "rationale", "time_spent_ms",
    )  # fmt: skip
    return {(rater_names(r), *rest) for r, *rest in rows}


def items(project: Project) -> list[tuple]:
    fields = ("external_id", "kind", "prompt", "response", "response_a", "response_b", "meta")
    rows = Item.objects.filter(project=project).order_by("external_id").values_list(*fields)
    steps = Item.objects.filter(project=project).order_by("external_id", "steps__index")
    return [*rows, *steps.values_list("external_id", "steps__text")]


def expected_humans(tasks: list) -> set[tuple]:
    """Every judgement the snapshot's annotations hold, read straight from the export."""
    rows = set()
    for task in tasks:
        for annotation in task["annotations"]:
            if annotation["was_cancelled"]:
                continue
            rater = annotation["completed_by"]["email"]
            texts = [r["value"]["text"] for r in annotation["result"] if r["type"] == "textarea"]
            rationale = "\n".join(texts[0]) if texts else ""
            ms = round(annotation["lead_time"] * 1000)
            for result in annotation["result"]:
                for step, value in _values(result):
                    rows.add((rater, str(task["id"]), step, result["from_name"], value,
                              rationale, ms))  # fmt: skip
    return rows


def _values(result: dict) -> list[tuple]:
    value = result["value"]
    kind = result["type"]
    if kind == "pairwise":
        return [(None, {"left": "a", "right": "b"}[value["selected"]])]
    if kind == "rating":
        return [(None, value["rating"])]
    if kind == "choices":
        return [(None, value["choices"][0])]
    if kind == "paragraphlabels":
        return [(int(value["start"]), value["paragraphlabels"][0])]
    return []


# ---- counts and values ------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROJECTS)
def test_it_imports_each_project_with_the_counts_of_the_readme(fresh, name):
    project = fresh()
    expected = README[name]

    counts = do_import(project, DATA / f"{name}.snapshot.json", config=config(name))

    assert Item.objects.filter(project=project).count() == expected["tasks"]
    humans = Judgement.objects.filter(item__project=project, rater__kind="human")
    models = Judgement.objects.filter(item__project=project, rater__kind="model")
    assert humans.count() == expected["human_judgements"]
    assert models.count() == expected["model_judgements"]
    annotations = {j["labelstudio"]["record"] for j in humans.values_list("meta", flat=True)}
    predictions = {j["labelstudio"]["record"] for j in models.values_list("meta", flat=True)}
    assert len(annotations) == expected["annotations"]
    assert len(predictions) == expected["predictions"]
    assert counts.extra["annotations_skipped"] == expected["skipped"]
    assert set(humans.values_list("rater__name", flat=True)) == set(EMAILS.values())
    assert set(humans.values_list("rater__group", flat=True)) == {"labelstudio"}


@pytest.mark.parametrize("name", PROJECTS)
def test_it_stores_every_value_as_the_export_holds_it(fresh, name):
    project = fresh()
    tasks = load(f"{name}.snapshot.json")

    do_import(project, DATA / f"{name}.snapshot.json", config=config(name))

    humans = {row for row in stored(project) if "@" in row[0]}
    assert humans == expected_humans(tasks)
    models = Judgement.objects.filter(item__project=project, rater__kind="model")
    expected = {
        (p["model_version"], str(t["id"]), r["from_name"], _values(r)[0][1], p["score"])
        for t in tasks
        for p in t["predictions"]
        for r in p["result"]
    }
    got = {
        (j.rater.name, j.item.external_id, j.criterion.name, j.value, j.meta["score"])
        for j in models.select_related("rater", "item", "criterion")
    }
    assert got == expected
    assert all(j.rater.group == j.rater.name for j in models)


def test_it_maps_task_data_to_the_item_fields_and_the_rest_to_meta(fresh):
    pairs, rubric, steps = fresh("p"), fresh("r"), fresh("s")
    do_import(pairs, DATA / "pairwise.json", config=config("pairwise"))
    do_import(rubric, DATA / "rubric.json", config=config("rubric"))
    do_import(steps, DATA / "steps.json", config=config("steps"), item_id_field="pb_id")

    task = load("pairwise.json")[0]
    item = Item.objects.get(project=pairs, external_id=str(task["id"]))
    assert (item.kind, item.prompt) == ("pair", task["data"]["question"])
    assert (item.response_a, item.response_b) == (task["data"]["answer1"], task["data"]["answer2"])
    rest = {k: task["data"][k] for k in ("question_id", "category", "model_a", "model_b")}
    assert item.meta == rest | {"labelstudio_task": task["id"]}
    task = load("rubric.json")[0]
    item = Item.objects.get(project=rubric, external_id=str(task["id"]))
    assert (item.kind, item.prompt, item.response) == (
        "response",
        task["data"]["article"],
        task["data"]["summary"],
    )
    task = load("steps.json")[0]
    item = Item.objects.get(project=steps, external_id=task["data"]["pb_id"])
    assert [s.text for s in item.steps.order_by("index")] == [
        p["text"] for p in task["data"]["steps"]
    ]
    assert item.meta["gold_first_error"] == task["data"]["gold_first_error"]
    assert Criterion.objects.get(project=steps).error_labels == ["incorrect"]


def test_it_imports_bobs_edited_annotation_with_its_final_value(fresh):
    project = fresh()

    do_import(project, DATA / "rubric.snapshot.json", config=config("rubric"))

    edited = Judgement.objects.get(
        rater__name=EMAILS[3], item__external_id="33", criterion__name="coherence"
    )
    assert edited.value == 4
    assert "(Revised" in edited.rationale
    assert edited.time_spent_ms == 165032
    assert edited.meta["labelstudio"]["record"] == "annotation 98"


def test_it_leaves_out_carols_skip_and_counts_it(fresh):
    project = fresh()

    counts = do_import(project, DATA / "rubric.json", config=config("rubric"))

    carol = "labelstudio-user-4"
    assert not Judgement.objects.filter(rater__name=carol, item__external_id="37").exists()
    assert not Judgement.objects.filter(rater__name=carol, item__external_id="48").exists()
    assert counts.as_dict()["annotations_skipped"] == 1


@pytest.mark.parametrize("name", PROJECTS)
@pytest.mark.parametrize("kind", [".json", ".min.json", ".csv"])
def test_it_reads_the_same_judgements_from_every_export_kind(fresh, name, kind):
    snapshot, other = fresh("snapshot"), fresh("other")
    do_import(snapshot, DATA / f"{name}.snapshot.json", config=config(name))

    counts = do_import(other, DATA / f"{name}{kind}", config=config(name))

    def email(rater: str) -> str:
        return EMAILS[int(rater.removeprefix("labelstudio-user-"))]

    humans = {row for row in stored(snapshot) if "@" in row[0]}
    assert stored(other, email) == humans
    assert items(other) == items(snapshot)
    if kind != ".json" or name != "steps":  # no predictions to miss in steps.json
        assert counts.notes  # each says what this kind of export lacks


def test_it_says_that_the_json_export_lists_predictions_by_id_only(fresh):
    counts = do_import(fresh(), DATA / "pairwise.json", config=config("pairwise"))

    assert counts.extra["predictions_ids_only"] == 30
    assert "listed by id only" in counts.notes[0]
    assert "snapshot export" in counts.notes[0]
    assert not Rater.objects.filter(kind="model").exists()


@pytest.mark.parametrize("name", PROJECTS)
def test_it_infers_the_configs_criteria_from_the_results(fresh, name):
    with_config, inferred = fresh("config"), fresh("inferred")
    do_import(with_config, DATA / f"{name}.snapshot.json", config=config(name))

    do_import(inferred, DATA / f"{name}.snapshot.json")

    def criteria(project):
        return list(project.criteria.values_list("name", "target", "scale", "labels"))

    assert criteria(inferred) == criteria(with_config)
    assert stored(inferred) == stored(with_config)


def test_it_fixes_rating_scale_and_choice_order_from_the_config(fresh, tmp_path):
    xml = config("rubric").replace('maxRating="5"', 'maxRating="10"')
    choices = '<Choice value="no"/><Choice value="maybe"/><Choice value="yes"/>'
    xml = xml.replace('<Choice value="yes"/>\n    <Choice value="no"/>', choices)
    project = fresh()

    do_import(project, DATA / "rubric.snapshot.json", config=xml)

    assert project.criteria.get(name="coherence").labels == list(range(1, 11))
    assert project.criteria.get(name="faithful").labels == ["no", "maybe", "yes"]


# ---- re-imports -----------------------------------------------------------------------------


def snapshot_rows(project: Project) -> list[tuple]:
    return list(
        Judgement.objects.filter(item__project=project)
        .order_by("pk")
        .values_list("pk", "value", "rationale", "time_spent_ms", "meta", "created_at")
    )


def test_it_changes_nothing_when_the_same_export_is_imported_twice(fresh):
    project = fresh()
    do_import(project, DATA / "rubric.snapshot.json", config=config("rubric"))
    before = snapshot_rows(project)

    counts = do_import(project, DATA / "rubric.snapshot.json", config=config("rubric"))

    assert snapshot_rows(project) == before
    assert counts.judgements_created == 0
    assert counts.judgements_unchanged == len(before)
    assert counts.extra["judgements_updated"] == 0


def newer_export(tmp_path: Path) -> Path:
    """rubric.snapshot.json after Alice edits annotation 91 in Label Studio (as Bob's 98)."""
    tasks = load("rubric.snapshot.json")
    annotation = next(a for t in tasks for a in t["annotations"] if a["id"] == 91)
    for result in annotation["result"]:
        if result["type"] == "rating":
            result["value"]["rating"] = 5
        if result["type"] == "textarea":
            result["value"]["text"] = ["Revised: reads well after all."]
    annotation["updated_at"] = "2026-11-29T09:00:00.000000Z"
    annotation["lead_time"] = 300.5
    path = tmp_path / "rubric.newer.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def test_it_updates_only_the_annotations_changed_in_a_newer_export(fresh, tmp_path):
    project = fresh()
    do_import(project, DATA / "rubric.snapshot.json", config=config("rubric"))
    before = {row[0]: row for row in snapshot_rows(project)}

    counts = do_import(project, newer_export(tmp_path), config=config("rubric"))

    after = {row[0]: row for row in snapshot_rows(project)}
    changed = {pk for pk in after if after[pk] != before[pk]}
    alices = Judgement.objects.filter(meta__labelstudio__record="annotation 91")
    assert changed == set(alices.values_list("pk", flat=True))
    assert len(changed) == 2 == counts.extra["judgements_updated"]
    coherence = alices.get(criterion__name="coherence")
    assert (coherence.value, coherence.rationale) == (5, "Revised: reads well after all.")
    assert coherence.time_spent_ms == 300500
    assert counts.judgements_created == 0


def test_it_keeps_the_newer_value_when_an_older_export_comes_back(fresh, tmp_path):
    project = fresh()
    do_import(project, newer_export(tmp_path), config=config("rubric"))
    before = snapshot_rows(project)

    counts = do_import(project, DATA / "rubric.snapshot.json", config=config("rubric"))

    assert snapshot_rows(project) == before
    assert counts.extra["judgements_older_than_stored"] == 1  # the rating; faithful is equal


def test_it_still_rejects_a_value_that_contradicts_another_record(fresh, tmp_path):
    project = fresh()
    do_import(project, DATA / "rubric.snapshot.json", config=config("rubric"))
    tasks = load("rubric.snapshot.json")
    annotation = tasks[0]["annotations"][0]
    annotation["id"] = 9999  # another annotation by the same person on the same task
    annotation["result"][0]["value"]["rating"] = (
        1 if annotation["result"][0]["value"]["rating"] > 1 else 5
    )
    path = tmp_path / "other.json"
    path.write_text(json.dumps(tasks[:1]), encoding="utf-8")
    before = table_counts()

    with pytest.raises(DomainError) as caught:
        do_import(project, path, config=config("rubric"))

    assert caught.value.errors == [
        f"other.json task 31, annotation 9999, field 'value': conflicts with the stored "
        f"judgement {_stored(project, tasks[0])}, which is not an earlier version of "
        "this one; judgements are never overwritten by another"
    ]
    assert table_counts() == before


def _stored(project: Project, task: dict) -> str:
    rater = task["annotations"][0]["completed_by"]["email"]
    judgement = Judgement.objects.get(
        rater__name=rater, item__external_id=str(task["id"]), criterion__name="coherence"
    )
    return json.dumps(judgement.value)


def test_it_keeps_native_imports_rejecting_a_contradiction(fresh, tmp_path):
    """The update rule is Label Studio's only: the native format still never overwrites."""
    from tests.factories import good_lines, judgement

    project = fresh()
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in good_lines()))
    services.items_import(project=project, paths=[path])
    changed = good_lines()[:-1] + [judgement("q81-t1", "preference", "b", rater="gpt-4")]
    path.write_text("".join(json.dumps(x) + "\n" for x in changed))

    with pytest.raises(DomainError, match="error"):
        services.items_import(project=project, paths=[path])


# ---- bad exports ------------------------------------------------------------------------------


def reject(project: Project, path: Path, **options) -> list[str]:
    before = table_counts()
    with pytest.raises(DomainError) as caught:
        do_import(project, path, **options)
    assert table_counts() == before
    return caught.value.errors


def test_it_rejects_a_file_that_is_not_a_label_studio_export(fresh, tmp_path):
    native = tmp_path / "judgements.json"
    native.write_text(json.dumps({"type": "criterion", "name": "x"}))

    errors = reject(fresh(), native)

    assert errors == [
        "judgements.json line 1: not a Label Studio export: expected a JSON list of tasks"
    ]


def test_it_rejects_a_config_the_mapping_cannot_place(fresh):
    xml = config("rubric").replace(
        "</View>",
        '<RectangleLabels name="box" toName="summary"><Label value="x"/></RectangleLabels></View>',
    )

    errors = reject(fresh(), DATA / "rubric.json", config=xml)

    assert errors == [
        "labeling config <RectangleLabels name='box'>: is a control tag judgeapp cannot place "
        "(no criterion fits it)"
    ]


def test_it_rejects_a_multiple_choice_and_an_orphan_text_area(fresh):
    multiple = config("rubric").replace('choice="single"', 'choice="multiple"')
    orphan = config("rubric").replace(
        'name="rationale" toName="summary"', 'name="rationale" toName="article"'
    )

    assert "allows several choices" in reject(fresh(), DATA / "rubric.json", config=multiple)[0]
    assert "no criterion judges article" in reject(fresh(), DATA / "rubric.json", config=orphan)[0]


def test_it_rejects_a_task_without_data_and_names_it(fresh, tmp_path):
    tasks = load("pairwise.snapshot.json")
    tasks[4]["data"] = {}
    del tasks[7]["data"]["answer2"]
    path = tmp_path / "pairwise.json"
    path.write_text(json.dumps(tasks))

    errors = reject(fresh(), path, config=config("pairwise"))

    assert errors == ["pairwise.json task 5, field 'data': the task has no data"]
    # A pair may lack one answer (only its verdicts known), as in the native format.


def test_it_rejects_results_the_config_does_not_know_naming_task_and_annotation(fresh, tmp_path):
    tasks = load("rubric.snapshot.json")
    tasks[2]["annotations"][1]["result"][0]["from_name"] = "fluency"
    tasks[3]["annotations"][0]["result"][0]["value"]["rating"] = 7
    tasks[5]["annotations"][0]["lead_time"] = "soon"
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps(tasks))
    ids = [tasks[2]["annotations"][1]["id"], tasks[3]["annotations"][0]["id"],
           tasks[5]["annotations"][0]["id"]]  # fmt: skip

    errors = reject(fresh(), path, config=config("rubric"))

    assert errors == [
        f"rubric.json task 33, annotation {ids[0]}, field 'result[0].from_name': 'fluency' is "
        "not a control tag of the labeling config",
        f"rubric.json task 34, annotation {ids[1]}, field 'value': 7 is not one of 1, 2, 3, 4, 5",
        f"rubric.json task 36, annotation {ids[2]}, field 'lead_time': must be seconds, got 'soon'",
    ]


def test_it_asks_for_the_config_with_a_json_min_or_csv_export(fresh):
    errors = reject(fresh(), DATA / "rubric.csv")

    assert errors == [
        "rubric.csv: a CSV export puts the task data and the answers side by side; give the "
        "labeling config (--config) so they can be told apart"
    ]


def test_it_rejects_a_step_region_beyond_the_solution(fresh, tmp_path):
    tasks = load("steps.snapshot.json")
    region = copy.deepcopy(tasks[0]["annotations"][0]["result"][0])
    region["value"]["start"] = region["value"]["end"] = "40"
    tasks[0]["annotations"][0]["result"].append(region)
    path = tmp_path / "steps.json"
    path.write_text(json.dumps(tasks))

    errors = reject(fresh(), path, config=config("steps"))

    assert len(errors) == 1
    assert errors[0].startswith(
        f"steps.json task 51, annotation {tasks[0]['annotations'][0]['id']}, field 'step'"
    )


# ---- the command line ---------------------------------------------------------------------------


def test_it_imports_from_the_command_line_with_its_options(db, capsys):
    call_command(
        "import_data", str(DATA / "pairwise.json"), project="LS pairs", format="labelstudio",
        config=DATA / "pairwise.xml", human_group="annotators", map=["prompt=category"],
        item_id_field="question_id",
    )  # fmt: skip

    out = capsys.readouterr().out
    assert "annotations skipped: 0" in out
    assert "Note: 30 prediction(s) are listed by id only" in out
    project = Project.objects.get(name="LS pairs")
    item = project.items.get(external_id="84")
    assert item.prompt == "writing"
    assert set(Rater.objects.filter(project=project).values_list("group", flat=True)) == {
        "annotators"
    }


def test_it_refuses_label_studio_options_for_other_formats(db):
    with pytest.raises(CommandError, match="--config: only for --format labelstudio"):
        call_command("import_data", str(DATA / "pairwise.json"), project="x",
                     config=DATA / "pairwise.xml")  # fmt: skip
    with pytest.raises(CommandError, match="expected FIELD=DATA_KEY"):
        call_command("import_data", str(DATA / "pairwise.json"), project="x",
                     format="labelstudio", map=["question"])  # fmt: skip
    assert not Project.objects.exists()


def test_it_names_the_entry_of_a_task_that_is_not_one(fresh, tmp_path):
    tasks = load("pairwise.snapshot.json")[:2]
    path = tmp_path / "pairwise.json"
    path.write_text(json.dumps([tasks[0], "task", {**tasks[1], "id": "2"}]))

    errors = reject(fresh(), path, config=config("pairwise"))

    assert errors == [
        "pairwise.json entry 2, field 'id': must be a task with an integer id",
        "pairwise.json entry 3, field 'id': must be a task with an integer id",
    ]
