"""The Argilla import (`--format argilla`): the SDK-written fixtures in both layouts, every value
checked against the export, and bad or partial exports refused by record and field with
nothing written."""

import io
import json
import shutil
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from annotations import services
from annotations.errors import DomainError
from annotations.models import Criterion, ImportJob, Item, Judgement, Rater
from tests.annotations.importers.test_import_fuzz import (
    SETTINGS,
    _mutate,
    import_or_line_errors,
    table_counts,
    write,
)

DATA = Path(__file__).resolve().parent / "data" / "argilla"
DISK = DATA / "feedback"
HUB = DATA / "feedback-hf"
ALICE = "0b6c1f0e-4a57-4c39-9d2e-2f1b6a3c0001"
BOB = "0b6c1f0e-4a57-4c39-9d2e-2f1b6a3c0002"
AGENT = "gpt-4o-judge"

pytestmark = pytest.mark.django_db


def run(project, *paths, **options):
    return services.items_import(project=project, paths=list(paths), format="argilla", **options)


def stored() -> set[tuple]:
    """The stored judgements, their meta as JSON text (a dict cannot be in a set)."""
    rows = Judgement.objects.values_list(
        "item__external_id", "criterion__name", "rater__name", "value", "rationale", "meta"
    )
    return {(*row[:5], json.dumps(row[5])) for row in rows}


def disk_records() -> list[dict]:
    return json.loads((DISK / "records.json").read_text())


def verdict(ranking: list[dict]) -> str:
    ranks = {entry["value"]: entry["rank"] for entry in ranking}
    if ranks["response_a"] == ranks["response_b"]:
        return "tie"
    return "a" if ranks["response_a"] < ranks["response_b"] else "b"


def expected_from_disk() -> set[tuple]:
    """Every response and suggestion of records.json as the judgement it should become."""
    rows = set()
    for record in disk_records():
        by_user: dict[str, dict] = {}
        for question, responses in record["responses"].items():
            for response in responses:
                by_user.setdefault(response["user_id"], {})[question] = response["value"]
        for user, answers in by_user.items():
            why = answers.pop("why", "")
            for question, value in answers.items():
                value = verdict(value) if question == "preference" else value
                rows.add((record["id"], question, user, value, why, json.dumps({})))
        for question, suggestion in record["suggestions"].items():
            value = suggestion["value"]
            value = verdict(value) if question == "preference" else value
            meta = json.dumps({"score": suggestion["score"]})
            rows.add((record["id"], question, suggestion["agent"], value, "", meta))
    return rows


def test_it_imports_every_response_and_suggestion_of_a_to_disk_export(project):
    counts = run(project, DISK)

    assert counts.criteria_created == 3
    assert (counts.items_created, counts.raters_created, counts.judgements_created) == (4, 3, 23)
    assert stored() == expected_from_disk()
    assert len(expected_from_disk()) == 23


def test_it_maps_the_questions_to_criteria_and_the_records_to_pair_items(project):
    run(project, DISK)

    criteria = {c.name: (c.scale, c.labels) for c in Criterion.objects.filter(project=project)}
    assert criteria == {
        "quality": ("nominal", ["good", "bad"]),
        "helpfulness": ("ordinal", [1, 2, 3, 4, 5]),
        "preference": ("pairwise", []),
    }
    item = Item.objects.get(project=project, external_id="r2")
    assert (item.kind, item.prompt, item.response_a, item.response_b) == (
        "pair",
        "Name a prime number above 10.",
        "12",
        "13",
    )
    assert item.meta == {"source": "fixture"}
    groups = dict(Rater.objects.values_list("name", "group"))
    assert groups == {ALICE: "argilla", BOB: "argilla", AGENT: AGENT}
    assert Rater.objects.get(name=AGENT).kind == "model"
    # Bob preferred b on r2 and wrote why; the model judge preferred a with score 0.6.
    bob = Judgement.objects.get(item=item, rater__name=BOB, criterion__name="preference")
    assert (bob.value, bob.rationale) == ("b", "12 is not prime")
    model = Judgement.objects.get(item=item, rater__name=AGENT, criterion__name="preference")
    assert (model.value, model.meta) == ("a", {"score": 0.6})


def test_it_reads_the_hub_layout_and_leaves_discarded_responses_out(project):
    counts = run(project, HUB)

    # The hub layout keeps response status: Bob's discarded "bad" on r4 is no judgement.
    discarded = ("r4", "quality", BOB, "bad", "", json.dumps({}))
    assert counts.judgements_created == 22
    assert stored() == expected_from_disk() - {discarded}


def test_it_imports_a_zipped_export(project, tmp_path):
    archive = tmp_path / "feedback.zip"
    archive.write_bytes(zipped(DISK))

    counts = run(project, archive)

    assert counts.judgements_created == 23


def test_it_changes_nothing_when_the_same_export_is_imported_twice(project):
    run(project, DISK)
    before = table_counts()

    counts = run(project, DISK)

    assert (counts.judgements_created, counts.judgements_unchanged) == (0, 23)
    assert table_counts() == before


def test_it_puts_the_annotators_in_the_group_given(project):
    call_command(
        "import_data", str(DISK), project=project.name, format="argilla", human_group="experts"
    )

    assert set(Rater.objects.filter(kind="human").values_list("group", flat=True)) == {"experts"}


def test_it_refuses_a_human_group_for_a_format_without_one(project, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("")
    with pytest.raises(CommandError, match="only for --format"):
        call_command(
            "import_data", str(path), project=project.name, format="native", human_group="x"
        )


def rejected(project, *paths) -> DomainError:
    before = table_counts()
    with pytest.raises(DomainError) as caught:
        run(project, *paths)
    assert table_counts() == before
    return caught.value


def test_it_refuses_a_multi_label_question_by_name(project):
    error = rejected(project, DATA / "multilabel")

    assert error.errors == [
        ".argilla/settings.json line 1, field 'questions[4].type': MultiLabelQuestion "
        "'topics' is not supported: judgeapp keeps one value per rater and criterion; remove "
        "the question from settings.json to import the rest"
    ]


def export_with(tmp_path: Path, change) -> Path:
    """The to_disk fixture with its records changed by `change(records)`."""
    copy = tmp_path / "export"
    shutil.copytree(DISK, copy)
    records = disk_records()
    change(records)
    (copy / "records.json").write_text(json.dumps(records))
    return copy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r[1]["responses"]["quality"][0].update(value="meh"),
            "records.json entry 2, field 'responses.quality[0].value': record 'r2': \"meh\" "
            'is not one of "good", "bad" (\'quality\')',
        ),
        (
            lambda r: r[2].pop("id"),
            "records.json entry 3, field 'id': every record needs an id (a string)",
        ),
        (
            lambda r: r[0]["fields"].pop("response_b"),
            "records.json entry 1, field 'fields': record 'r1': the ranking 'preference' needs "
            "the two answers as fields 'response_a' and 'response_b'; 'response_b' missing",
        ),
        (
            lambda r: r[0]["responses"]["preference"][1].update(value=[{"value": "response_a"}]),
            "records.json entry 1, field 'responses.preference[1].value': record 'r1': must rank "
            "both 'response_a' and 'response_b' as [{value, rank}, ...] ('preference')",
        ),
        (
            lambda r: r[3]["responses"].update(topics=[{"value": "x", "user_id": BOB}]),
            "records.json entry 4, field 'responses.topics': record 'r4': no question "
            "'topics' in the settings",
        ),
        (
            lambda r: r[1]["suggestions"]["helpfulness"].update(score="high"),
            "records.json entry 2, field 'suggestions.helpfulness.score': record 'r2': must be "
            "a number",
        ),
    ],
)
def test_it_refuses_a_record_it_cannot_place_naming_record_and_field(
    project, tmp_path, change, message
):
    error = rejected(project, export_with(tmp_path, change))

    assert error.errors == [message]


def test_it_refuses_records_without_settings(project):
    error = rejected(project, DISK / "records.json")

    assert error.errors == [
        "records.json line 1: an Argilla export needs exactly one .argilla/settings.json "
        "(found none)"
    ]


def test_it_refuses_a_ranking_of_three_options(project, tmp_path):
    copy = export_with(tmp_path, lambda records: None)
    settings_path = copy / ".argilla" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["questions"][2]["settings"]["options"].append({"value": "response_c"})
    settings_path.write_text(json.dumps(settings))

    error = rejected(project, copy)

    assert "RankingQuestion 'preference' ranks 3 options" in error.errors[0]
    assert "field 'questions[2].settings.options'" in error.errors[0]


@pytest.mark.parametrize(
    ("question", "value", "message"),
    [
        # CI's fuzzer: a ranking option's value [] was used as a dict key (TypeError)
        (2, [], "question 'preference': an option's value must be a text, not []"),
        (0, {"a": 1}, "question 'quality': an option's value must be a text, not {\"a\": 1}"),
        (1, "3", "question 'helpfulness': an option's value must be an integer, not \"3\""),
        (1, True, "question 'helpfulness': an option's value must be an integer, not true"),
    ],
)
def test_it_refuses_an_option_value_of_the_wrong_type(project, tmp_path, question, value, message):
    copy = export_with(tmp_path, lambda records: None)
    settings_path = copy / ".argilla" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["questions"][question]["settings"]["options"][0]["value"] = value
    settings_path.write_text(json.dumps(settings))

    error = rejected(project, copy)

    assert error.errors == [
        f".argilla/settings.json line 1, field 'questions[{question}].settings.options[0].value': "
        + message
    ]


def test_it_refuses_a_question_that_repeats_an_option(project, tmp_path):
    copy = export_with(tmp_path, lambda records: None)
    settings_path = copy / ".argilla" / "settings.json"
    settings = json.loads(settings_path.read_text())
    options = settings["questions"][0]["settings"]["options"]
    options[1]["value"] = options[0]["value"]
    settings_path.write_text(json.dumps(settings))

    error = rejected(project, copy)

    assert "question 'quality' repeats an option" in error.errors[0]


def test_it_refuses_a_question_whose_type_is_not_a_name(project, tmp_path):
    copy = export_with(tmp_path, lambda records: None)
    settings_path = copy / ".argilla" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["questions"][2]["settings"]["type"] = [None]
    settings["questions"][2].pop("type")
    settings_path.write_text(json.dumps(settings))

    error = rejected(project, copy)

    assert error.errors == [
        ".argilla/settings.json line 1, field 'questions[2].type': question 'preference' "
        "needs a type (label_selection, rating, ...)"
    ]


def test_it_refuses_a_corrupt_zip(project, tmp_path):
    bad = tmp_path / "export.zip"
    bad.write_bytes(b"PK\x05\x06" + b"\x00" * 18 + b"PK\x03\x04broken")

    error = rejected(project, bad)

    assert "line 1" in error.errors[0]


def fuzz_sample(layout: str) -> dict:
    """The fixture's settings and three records, in the to_disk or the hub (JSON Lines) layout."""
    settings = json.loads((DISK / ".argilla" / "settings.json").read_text())
    if layout == "disk":
        records = ("json", disk_records()[:3])
        return {"settings.json": ("json", settings), "records.json": records}
    rows = pq.read_table(next((HUB / "data").glob("*.parquet"))).to_pylist()[:3]
    for row in rows:  # JSON Lines keep no class names: the label itself
        row["quality.suggestion"] = ["good", "bad"][row["quality.suggestion"]]
    return {"settings.json": ("json", settings), "train.jsonl": ("jsonl", rows)}


def test_the_hub_layout_as_json_lines_imports_as_the_parquet_does(project, tmp_path):
    paths = write(tmp_path, fuzz_sample("hub"))

    counts = run(project, *paths)

    first_three = {row for row in expected_from_disk() if row[0] != "r4"}
    assert counts.judgements_created == len(first_three) == 22
    assert stored() == first_three


@pytest.mark.parametrize("layout", ["disk", "hub"])
@SETTINGS
@given(data=st.data())
def test_a_mutated_argilla_export_imports_or_names_its_records(
    tmp_path_factory, project, layout, data
):
    directory = tmp_path_factory.mktemp("argilla")
    files = fuzz_sample(layout)
    for _ in range(data.draw(st.integers(1, 3))):
        files = _mutate(data, files)

    import_or_line_errors(write(directory, files), "argilla", project)


def zipped(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for path in directory.rglob("*"):
            out.write(path, Path(directory.name) / path.relative_to(directory))
    return buffer.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_a_lead_uploads_a_zipped_export_on_the_import_page(client, lead, project):
    client.force_login(lead)

    client.post(
        reverse("annotations:import-create", args=[project.slug]),
        {"file": SimpleUploadedFile("feedback-hf.zip", zipped(HUB)), "format": "argilla"},
    )

    job = ImportJob.objects.get()
    assert (job.status, job.counts["judgements_created"]) == ("done", 22)
    assert stored() == expected_from_disk() - {("r4", "quality", BOB, "bad", "", "{}")}
