"""Broker down: starting a job answers a clear 503, the row is saved unqueued, and the reaper
sends it once the broker is back, so nothing stays pending forever (issue 11, defect 5).
The broker is a closed port reached through the real Redis client; both databases."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from analysis import services as analysis_services
from analysis.models import AgreementRun
from annotations import services
from annotations.models import ImportJob, Judgement
from judgeapp.jobs import QUEUE_UNAVAILABLE_MESSAGE
from tests.analysis.test_runs import study  # noqa: F401 - the fixture
from tests.annotations.test_import_jobs import jsonl
from tests.factories import good_lines
from tests.faults import broker_down

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def resend_at_once(settings):
    settings.JOB_RESEND_AFTER_S = -1


def test_it_answers_503_on_the_report_page_and_runs_the_report_when_the_broker_returns(
    client,
    study,  # noqa: F811 - the fixture imported above
    lead,
    resend_at_once,
):
    client.force_login(lead)
    with broker_down():
        response = client.post(
            reverse("analysis:run-create", args=[study.slug]),
            {"slice_keys": "turn", "n_boot": 50, "seed": 1},
        )

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert QUEUE_UNAVAILABLE_MESSAGE in response.content.decode()
    run = AgreementRun.objects.get()
    assert (run.status, run.queued_at) == ("pending", None)  # saved, waiting in the outbox

    with broker_down():  # still down: the reaper's send fails quietly and changes nothing
        assert analysis_services.agreement_runs_reap()["resent"] == 0
    assert analysis_services.agreement_runs_reap()["resent"] == 1

    run.refresh_from_db()
    assert run.status == "done" and run.queued_at is not None
    assert analysis_services.agreement_runs_reap()["resent"] == 0  # queued once, not again


def test_it_answers_503_on_the_import_api_and_imports_when_the_broker_returns(
    client, lead, project, resend_at_once
):
    client.force_login(lead)
    upload = SimpleUploadedFile("judgements.jsonl", jsonl(good_lines()))
    with broker_down():
        response = client.post(
            reverse("api:import-create", args=[project.slug]),
            {"file": upload, "format": "native"},
        )

    assert response.status_code == 503
    assert response.json() == {"detail": QUEUE_UNAVAILABLE_MESSAGE}
    job = ImportJob.objects.get()
    assert (job.status, job.queued_at, Judgement.objects.count()) == ("pending", None, 0)

    assert services.import_jobs_reap() == {"failed": 0, "requeued": 0, "resent": 1}

    job.refresh_from_db()
    assert job.status == "done", job.errors
    assert Judgement.objects.count() == 5


def test_it_answers_503_on_the_import_page(client, lead, project):
    client.force_login(lead)
    upload = SimpleUploadedFile("judgements.jsonl", jsonl(good_lines()))
    with broker_down():
        response = client.post(
            reverse("annotations:import-create", args=[project.slug]),
            {"file": upload, "format": "native"},
        )

    assert response.status_code == 503
    assert "The job queue is unreachable" in response.content.decode()
    assert ImportJob.objects.get().status == "pending"


def test_it_waits_before_sending_a_job_just_committed_again(lead, project, settings):
    """A row whose send is still in flight (committed a moment ago) is not sent twice."""
    settings.JOB_RESEND_AFTER_S = 3600
    with broker_down(), pytest.raises(Exception, match="unreachable"):
        services.import_job_create(
            project=project,
            user=lead,
            file=SimpleUploadedFile("j.jsonl", jsonl(good_lines())),
            format="native",
        )

    assert services.import_jobs_reap()["resent"] == 0
    assert ImportJob.objects.get().status == "pending"
