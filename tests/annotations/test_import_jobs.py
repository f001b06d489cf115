"""Import jobs from the web page and the REST API: queued as Celery tasks (eager here), with
progress, counts and line-numbered errors shown to leads only."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotations import services
from annotations.models import ImportJob, Judgement
from tests.factories import good_lines, judgement

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


def jsonl(lines) -> bytes:
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def upload(name="judgements.jsonl", lines=None):
    return SimpleUploadedFile(name, jsonl(good_lines() if lines is None else lines))


def test_it_runs_an_uploaded_import_and_shows_the_counts(client, lead, project):
    client.force_login(lead)

    response = client.post(
        reverse("annotations:import-create", args=[project.slug]),
        {"file": upload(), "format": "native"},
    )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("annotations:import-detail", args=[job.pk])
    assert job.status == "done"
    assert job.counts["judgements_created"] == 5
    page = client.get(response.url).content.decode()
    assert "<dt>Judgements created</dt>" in page
    assert Judgement.objects.count() == 5


def test_it_shows_line_numbered_errors_and_imports_nothing(client, lead, project):
    client.force_login(lead)
    lines = good_lines() + [judgement("gsm8k-5", "validity", "perhaps", step=0)]

    client.post(
        reverse("annotations:import-create", args=[project.slug]),
        {"file": upload(lines=lines), "format": "native"},
    )

    job = ImportJob.objects.get()
    assert job.status == "failed"
    assert job.error_count == 1
    page = client.get(reverse("annotations:import-detail", args=[job.pk])).content.decode()
    assert "judgements.jsonl line 11, field &#x27;value&#x27;" in page
    assert not Judgement.objects.exists()


def test_it_shows_the_form_again_when_the_upload_is_missing(client, lead, project):
    client.force_login(lead)

    response = client.post(
        reverse("annotations:import-create", args=[project.slug]), {"format": "native"}
    )

    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_it_hides_imports_from_annotators_and_outsiders(client, lead, annotator, outsider, project):
    job = services.import_job_create(project=project, user=lead, file=upload(), format="native")
    for user in (annotator, outsider):
        client.force_login(user)
        assert client.get(reverse("annotations:import-detail", args=[job.pk])).status_code == 404
        assert client.get(reverse("annotations:import-status", args=[job.pk])).status_code == 404
        response = client.post(
            reverse("annotations:import-create", args=[project.slug]), {"file": upload()}
        )
        assert response.status_code == (403 if user == annotator else 404)
    assert ImportJob.objects.count() == 1


def test_it_reports_progress_as_json_for_the_polling_page(client, lead, project):
    job = services.import_job_create(project=project, user=lead, file=upload(), format="native")
    client.force_login(lead)

    status = client.get(reverse("annotations:import-status", args=[job.pk])).json()

    assert status == {"status": "done", "lines_done": 10, "error_count": 0}


def test_it_runs_a_claimed_job_only_once(lead, project):
    job = services.import_job_create(project=project, user=lead, file=upload(), format="native")

    services.import_job_run(job_id=job.pk)  # the task already ran it (eager): nothing happens

    job.refresh_from_db()
    assert job.status == "done"
    assert Judgement.objects.count() == 5


def test_it_reruns_a_job_whose_worker_died(lead, project):
    job = services.import_job_create(project=project, user=lead, file=upload(), format="native")
    Judgement.objects.all().delete()  # as if the dead worker's transaction had rolled back
    stopped = timezone.now() - timedelta(seconds=settings.JOB_STALE_S + 1)
    ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=stopped)

    services.import_job_run(job_id=job.pk, redelivered=True)

    job.refresh_from_db()
    assert (job.status, job.attempts) == ("done", 2)
    assert Judgement.objects.count() == 5


def test_it_leaves_a_redelivered_job_alone_while_its_heartbeat_is_fresh(lead, project):
    job = services.import_job_create(project=project, user=lead, file=upload(), format="native")
    ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now())

    services.import_job_run(job_id=job.pk, redelivered=True)

    assert ImportJob.objects.get(pk=job.pk).attempts == 1  # not claimed a second time


def test_it_requeues_a_job_whose_heartbeat_stopped_and_fails_it_after_three_attempts(lead, project):
    job = services.import_job_create(project=project, user=lead, file=upload(), format="native")
    Judgement.objects.all().delete()
    stopped = timezone.now() - timedelta(seconds=settings.JOB_STALE_S + 1)
    ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=stopped)

    assert services.import_jobs_reap() == {"failed": 0, "requeued": 1, "resent": 1}
    job.refresh_from_db()
    assert (job.status, Judgement.objects.count()) == ("done", 5)  # eager: run again at once

    ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=stopped, attempts=3)
    assert services.import_jobs_reap() == {"failed": 1, "requeued": 0, "resent": 0}
    job.refresh_from_db()
    assert job.status == "failed"
    assert "stopped 3 times" in job.errors[0]


def test_it_leaves_a_running_job_with_a_fresh_heartbeat_alone(lead, project):
    job = services.import_job_create(project=project, user=lead, file=upload(), format="native")
    ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=timezone.now())

    assert services.import_jobs_reap() == {"failed": 0, "requeued": 0, "resent": 0}
    assert ImportJob.objects.get(pk=job.pk).status == "running"


class TestApi:
    def test_it_accepts_an_upload_and_returns_the_job(self, client, lead, project):
        token = Token.objects.create(user=lead)

        response = client.post(
            reverse("api:import-create", args=[project.slug]),
            {"file": upload(), "format": "native"},
            HTTP_AUTHORIZATION=f"Token {token.key}",
        )

        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "done"
        assert body["counts"]["judgements_created"] == 5
        detail = client.get(body["url"], HTTP_AUTHORIZATION=f"Token {token.key}").json()
        assert detail["id"] == body["id"]

    def test_it_returns_line_errors_of_a_failed_import(self, client, lead, project):
        client.force_login(lead)
        lines = good_lines() + ["{oops"]

        body = client.post(
            reverse("api:import-create", args=[project.slug]), {"file": upload(lines=lines)}
        ).json()

        assert body["status"] == "failed"
        assert body["errors"] == [
            "judgements.jsonl line 11: not valid JSON "
            "(Expecting property name enclosed in double quotes at column 2)"
        ]

    def test_it_rejects_an_unknown_format(self, client, lead, project):
        client.force_login(lead)

        response = client.post(
            reverse("api:import-create", args=[project.slug]),
            {"file": upload(), "format": "xml"},
        )

        assert response.status_code == 400
        assert "format" in response.json()
        assert not ImportJob.objects.exists()

    def test_it_denies_annotators_and_anonymous_users(self, client, annotator, project):
        url = reverse("api:import-create", args=[project.slug])
        assert client.post(url, {"file": upload()}).status_code in (401, 403)
        client.force_login(annotator)
        assert client.post(url, {"file": upload()}).status_code == 403  # for the leads
        assert not ImportJob.objects.exists()

    def test_it_lists_only_the_users_projects(self, client, outsider, lead, project):
        client.force_login(outsider)
        assert client.get(reverse("api:project-list")).json() == []
        client.force_login(lead)
        assert [p["slug"] for p in client.get(reverse("api:project-list")).json()] == [project.slug]
