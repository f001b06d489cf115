"""Exports from the web: a job row first, the task fills it in (progress, then the file), the
page offers the download; the files equal what `manage.py export_data` writes; leads only."""

import io
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from annotations import export_jobs, exports_tidy
from annotations.models import ExportJob
from judgeapp.jobs import QUEUE_UNAVAILABLE_MESSAGE
from tests.annotations.test_exports_tidy import load, richer_lines, votes_lines
from tests.faults import broker_down

TRANSACTIONAL = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


def start(client, project, **data):
    return client.post(reverse("annotations:exports", args=[project.slug]), data)


def download(client, job: ExportJob) -> bytes:
    response = client.get(reverse("annotations:export-download", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    return b"".join(response.streaming_content)


def unzip(content: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        archive.extractall(into)
    (directory,) = into.iterdir()
    return directory


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_it_exports_native_jsonl_equal_to_the_command_line(client, lead, project, tmp_path):
    load(tmp_path, project, richer_lines())
    client.force_login(lead)

    response = start(client, project, format="native")

    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert job.status == "done", job.error
    assert job.requested_by == lead
    call_command("export_data", project=project.name, out=str(tmp_path / "cli.jsonl"))
    cli = (tmp_path / "cli.jsonl").read_bytes()
    assert download(client, job) == cli
    assert job.rows_done == len(cli.splitlines()) == job.rows_total
    page = client.get(reverse("annotations:exports", args=[project.slug])).content.decode()
    assert reverse("annotations:export-download", args=[job.pk]) in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_it_zips_the_tidy_data_set_the_command_line_writes(client, lead, project, tmp_path, fmt):
    load(tmp_path, project, richer_lines())
    client.force_login(lead)

    start(client, project, format=f"tidy-{fmt}")

    job = ExportJob.objects.get()
    assert job.status == "done", job.error
    web = unzip(download(client, job), tmp_path / "web")
    out = io.StringIO()
    call_command(
        "export_data", project=project.name, format=fmt, out=str(tmp_path / "cli"), stdout=out
    )
    cli = tmp_path / "cli"
    assert sorted(p.name for p in web.iterdir()) == sorted(p.name for p in cli.iterdir())
    for path in cli.iterdir():
        if fmt == "parquet" and path.suffix == ".parquet":
            assert pq.read_table(web / path.name).equals(pq.read_table(path)), path.name
        else:
            assert (web / path.name).read_bytes() == path.read_bytes(), path.name
    rows = [
        int(line.split(": ")[1].split()[0].replace(",", "")) for line in out.getvalue().splitlines()
    ]
    assert job.rows_done == sum(rows) == job.rows_total


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_it_exports_the_majority_pairs_of_the_group_chosen(client, lead, project, tmp_path):
    load(tmp_path, project, votes_lines())
    client.force_login(lead)

    start(client, project, format="pairs", pairs_group="expert")

    job = ExportJob.objects.get()
    assert (job.status, job.pairs_group) == ("done", "expert"), job.error
    web = unzip(download(client, job), tmp_path / "web")
    call_command(
        "export_data", project=project.name, format="jsonl", out=str(tmp_path / "cli"),
        pairs=True, pairs_group="expert", consensus="majority", stdout=io.StringIO(),
    )  # fmt: skip
    pairs = (tmp_path / "cli" / "preference_pairs.jsonl").read_bytes()
    assert (web / "preference_pairs.jsonl").read_bytes() == pairs
    assert len(pairs.splitlines()) == 2  # q1 and q2 (see votes_lines)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_it_refuses_pairs_for_a_group_without_human_votes(client, lead, project, tmp_path):
    load(tmp_path, project, votes_lines())
    client.force_login(lead)

    response = start(client, project, format="pairs", pairs_group="gpt-4")

    assert response.status_code == 400
    page = response.content.decode()
    assert "no human rater group &#x27;gpt-4&#x27;; known: crowd, expert" in page
    assert not ExportJob.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_it_shows_progress_while_the_export_runs(client, lead, project, tmp_path, monkeypatch):
    load(tmp_path, project, richer_lines())
    client.force_login(lead)
    monkeypatch.setattr(export_jobs, "PROGRESS_EVERY_S", 0)
    monkeypatch.setattr(exports_tidy, "PROGRESS_EVERY", 3)
    seen = []
    write = export_jobs.project_export_tidy

    def spying(**kwargs):
        report = kwargs["progress"]

        def progress(rows: int) -> None:
            report(rows)
            job = ExportJob.objects.get()
            status = client.get(reverse("annotations:export-status", args=[job.pk])).json()
            seen.append((status["status"], status["rows_done"], status["download_url"]))

        return write(**kwargs | {"progress": progress})

    monkeypatch.setattr(export_jobs, "project_export_tidy", spying)

    start(client, project, format="tidy-jsonl")

    job = ExportJob.objects.get()
    assert job.status == "done"
    assert {s for s, _, _ in seen} == {"running"}
    assert {url for _, _, url in seen} == {""}  # no download before the file is whole
    done = [rows for _, rows, _ in seen]
    assert done == sorted(done) and 0 < done[0] < done[-1] <= job.rows_done
    status = client.get(reverse("annotations:export-status", args=[job.pk])).json()
    assert status["download_url"] == reverse("annotations:export-download", args=[job.pk])


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_it_marks_a_failed_export_and_serves_no_partial_file(
    client, lead, project, tmp_path, monkeypatch
):
    load(tmp_path, project, richer_lines())
    client.force_login(lead)

    def half_then_fail(*, directory: Path, **kwargs):
        directory.mkdir(parents=True)
        (directory / "items.jsonl").write_text('{"item": "gsm8k-5"}\n')
        raise OSError("No space left on device")

    monkeypatch.setattr(export_jobs, "project_export_tidy", half_then_fail)

    start(client, project, format="tidy-jsonl")

    job = ExportJob.objects.get()
    assert (job.status, job.path) == ("failed", "")
    assert "No space left on device" in job.error
    page = client.get(reverse("annotations:exports", args=[project.slug])).content.decode()
    assert "The export stopped: No space left on device" in page
    url = reverse("annotations:export-download", args=[job.pk])
    assert client.get(url).status_code == 404
    assert not (Path(settings.MEDIA_ROOT) / "exports" / str(job.pk)).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_it_keeps_exports_to_the_projects_leads(
    client, lead, annotator, outsider, project, tmp_path
):
    load(tmp_path, project, richer_lines())
    job = export_jobs.export_job_start(project=project, user=lead, format="native")
    page = reverse("annotations:exports", args=[project.slug])
    for user, page_status in ((annotator, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(page).status_code == page_status
        assert client.post(page, {"format": "native"}).status_code == page_status
        for name in ("annotations:export-status", "annotations:export-download"):
            assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert ExportJob.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_it_links_the_exports_page_for_leads_only(client, lead, annotator, project):
    link = reverse("annotations:exports", args=[project.slug])
    for user, shown in ((lead, True), (annotator, False)):
        client.force_login(user)
        page = client.get(reverse("annotations:project-detail", args=[project.slug]))
        assert (link in page.content.decode()) is shown


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_it_requeues_an_export_whose_worker_died(lead, project, tmp_path, monkeypatch):
    load(tmp_path, project, richer_lines())
    job = ExportJob.objects.create(project=project, requested_by=lead, status="running")
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=None, attempts=1)

    reaped = export_jobs.export_jobs_reap()

    job.refresh_from_db()
    assert reaped["requeued"] == 1
    assert job.status == "done" and job.attempts == 2  # sent again, and run eagerly
    assert export_jobs.export_job_file(job=job).is_file()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_it_answers_503_when_the_broker_is_down_and_exports_when_it_returns(
    client, lead, project, tmp_path, settings
):
    load(tmp_path, project, richer_lines())
    settings.JOB_RESEND_AFTER_S = -1
    client.force_login(lead)
    with broker_down():
        response = start(client, project, format="native")

    assert response.status_code == 503
    assert QUEUE_UNAVAILABLE_MESSAGE in response.content.decode()
    job = ExportJob.objects.get()
    assert (job.status, job.queued_at) == ("pending", None)

    assert export_jobs.export_jobs_reap() == {"failed": 0, "requeued": 0, "resent": 1}

    job.refresh_from_db()
    assert job.status == "done" and job.queued_at is not None


FORMATS = st.sampled_from([*ExportJob.Format.values, ""]) | st.text(max_size=20)
GROUPS = st.sampled_from(["expert", "gpt-4", ""]) | st.text(max_size=80)


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fmt=FORMATS, group=GROUPS)
def test_the_export_form_never_fails_on_odd_input(client, lead, project, fmt, group):
    client.force_login(lead)
    before = ExportJob.objects.count()

    response = start(client, project, format=fmt, pairs_group=group)

    assert response.status_code in (302, 400)
    added = ExportJob.objects.count() - before
    assert added == (response.status_code == 302)
    if added:
        job = ExportJob.objects.latest("pk")
        assert job.format in ExportJob.Format.values
        assert job.format != "pairs"  # the project has no human votes: pairs are refused
