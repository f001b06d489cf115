"""The agreement report as JSON next to its CSVs (the same rows), served by the page and the
API, and read back by `python -m judgeapp.report` and the pandas one-liner."""

import csv
import io
import json

import pandas as pd
import pytest
from django.core.management import call_command
from django.urls import reverse

from analysis.exports import JSON_FILES, REPORT_FILES, cell
from analysis.models import AgreementRun, ShortfallResult
from annotations import services as annotation_services
from judgeapp import report
from tests.analysis.test_runs import study_lines
from tests.factories import write_jsonl

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def out(tmp_path, project):
    path = write_jsonl(tmp_path / "study.jsonl", study_lines())
    annotation_services.items_import(project=project, paths=[path])
    directory = tmp_path / "report"
    call_command("agreement_report", project=project.name, out=directory, by=["category"],
                 bootstrap=50, seed=3, stdout=io.StringIO())  # fmt: skip
    return directory


def test_it_writes_each_csv_again_as_json_with_the_same_rows(out):
    for json_name, csv_name in JSON_FILES.items():
        with open(out / csv_name, newline="", encoding="utf-8") as handle:
            header, *csv_rows = list(csv.reader(handle))
        objects = json.loads((out / json_name).read_text(encoding="utf-8"))

        assert all(list(o) == header for o in objects), json_name
        # The CSV cell is the JSON value through the spreadsheet rule, nothing else.
        assert [[str(cell(v)) for v in o.values()] for o in objects] == csv_rows, json_name
    assert len(json.loads((out / "agreement.json").read_text())) > 10


def test_it_keeps_numbers_as_numbers_and_missing_as_null(out):
    rows = json.loads((out / "shortfall.json").read_text())

    assert all(isinstance(r["n_items"], int) for r in rows)
    assert all(r["p_value"] is None or isinstance(r["p_value"], float) for r in rows)
    assert {type(r["small_slice"]) for r in rows} == {bool}


def test_the_pandas_one_liner_and_the_loader_read_the_same_table(out):
    one_liner = pd.read_json(out / "agreement.json", dtype=False)

    frames = report.load(out)

    assert set(frames) == {"agreement", "shortfall", "disagreements", "charts"}
    pd.testing.assert_frame_equal(frames["agreement"], one_liner, check_dtype=False)


def test_the_report_module_prints_rows_and_verdicts(out, capsys):
    assert report.main([str(out)]) == 0

    printed = capsys.readouterr().out
    n_shortfall = ShortfallResult.objects.count()
    assert f"shortfall: {n_shortfall:,} rows" in printed
    whole = ShortfallResult.objects.filter(slice="all")
    for row in whole:
        assert f"{row.criterion}: {row.judge_group} vs {row.reference_group}: {row.verdict}" in (
            printed
        )


def test_the_report_module_prints_json_when_asked(out, capsys):
    report.main([str(out), "--json"])

    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"]["agreement"] == len(json.loads((out / "agreement.json").read_text()))
    assert {v["verdict"] for v in summary["verdicts"]} <= {
        r.verdict for r in ShortfallResult.objects.all()
    }


def test_the_report_module_says_when_a_directory_has_no_report(tmp_path, capsys):
    assert report.main([str(tmp_path)]) == 1

    assert "no report files" in capsys.readouterr().err


def test_the_page_and_the_api_serve_the_json_files(client, out, lead):
    run = AgreementRun.objects.get()
    client.force_login(lead)

    for url in (
        reverse("analysis:run-download", args=[run.pk, "agreement.json"]),
        reverse("analysis-api:run-file", args=[run.pk, "agreement.json"]),
    ):
        response = client.get(url)
        assert response["Content-Type"] == "application/json"
        body = json.loads(b"".join(response.streaming_content))
        assert body == json.loads((out / "agreement.json").read_text())

    files = client.get(reverse("analysis-api:run-detail", args=[run.pk])).json()["files"]
    assert set(files) == {*REPORT_FILES, *JSON_FILES}
