"""Every CSV the app writes keeps formulas dead, even behind a line break inside a cell: item
ids and slice values like "\\r=1+1-18" through the web download, the API and the CLI."""

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from analysis.exports import REPORT_FILES, cell, csv_lines
from analysis.models import AgreementRun
from annotations import services as annotation_services
from tests.factories import PREFERENCE, judgement, pair, write_jsonl

FORMULA = ("=", "+", "-", "@")
HOSTILE_IDS = ["\r=1+1-18", "x\r=cmd|' /C calc'!A0", "\n+1", "a\r\n-2", "@SUM(A1)\r\r=3"]


def dead_everywhere(text: str) -> None:
    """Read back two ways (a CSV reader; one row per physical line, split at \\r and \\n as a
    spreadsheet splitting a bare carriage return would): no text cell starts a formula."""
    for row in csv.reader(io.StringIO(text, newline="")):
        for value in row:
            assert not _live(value), (value, row)
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        for value in next(csv.reader([line]), []):
            assert not _live(value), (value, line)


def _live(value: str) -> bool:
    if not value.startswith(FORMULA):
        return False
    try:
        float(value)  # a negative number is a number, not a formula
    except ValueError:
        return True
    return False


@given(st.lists(st.text(alphabet="=+-@\t\r\n ax,\"'1", max_size=12), min_size=1, max_size=6))
def test_it_never_writes_a_live_formula_cell(values):
    text = "".join(csv_lines(["a"] * len(values), [tuple(values)]))

    dead_everywhere(text)
    row = next(csv.reader(io.StringIO(text.split("\n", 1)[1], newline="")))
    # Nothing but the apostrophes is added: the reader gets the cells back.
    assert [value.replace("'", "") for value in row] == [v.replace("'", "") for v in values]


def test_it_quotes_text_and_leaves_numbers_bare():
    line = list(csv_lines(["a", "b", "c"], [("x\r=1", -0.25, None)]))[1]

    assert line == '"x\r\'=1",-0.25,""\n'
    assert cell(-3) == -3


@pytest.fixture
def hostile_study(project, lead, tmp_path_factory):
    lines = [PREFERENCE]
    for i, item_id in enumerate(HOSTILE_IDS * 4):
        item_id = f"{item_id}{i}"
        lines.append(pair(item_id, category="\r=HYPERLINK(1)"))
        for e in range(2):
            lines.append(judgement(item_id, "preference", "a", rater=f"expert_{e}"))
        gpt = {"rater_kind": "model", "rater_group": "gpt-4"}
        lines.append(judgement(item_id, "preference", "b", rater="gpt", **gpt))
    path = write_jsonl(tmp_path_factory.mktemp("hostile") / "hostile.jsonl", lines)
    annotation_services.items_import(project=project, paths=[path])
    return project


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_web_api_and_cli_exports_keep_formulas_dead(client, hostile_study, lead, tmp_path):
    client.force_login(lead)
    client.post(
        reverse("analysis:run-create", args=[hostile_study.slug]),
        {"slice_keys": "category", "n_boot": 0, "seed": 1},
    )
    run = AgreementRun.objects.get()
    texts = {}
    for name in REPORT_FILES:
        for url in (
            reverse("analysis:run-download", args=[run.pk, name]),
            reverse("analysis-api:run-file", args=[run.pk, name]),
        ):
            response = client.get(url)
            assert response.status_code == 200
            texts[url] = b"".join(response.streaming_content).decode()
    out = tmp_path / "report"
    call_command("agreement_report", project=hostile_study.name, out=out, by=["category"],
                 bootstrap=0, seed=1, stdout=io.StringIO())  # fmt: skip
    for name in REPORT_FILES:
        texts[name] = (out / name).read_text(encoding="utf-8")

    disagreements = texts["disagreements.csv"]
    assert "1+1-18" in disagreements  # the hostile ids are there ...
    for text in texts.values():
        dead_everywhere(text)  # ... and dead
