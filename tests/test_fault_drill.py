"""The fault drill (issue 11): the broker down when a job starts, and the database connection
dropped mid-job. Each must end in a finished row or a failed row with a reason, never a
stuck one. Real worker with beat on its real schedule, PostgreSQL, Redis. The third fault, a
worker killed mid-job, is drilled in tests/test_recovery_worker.py."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from analysis import services as analysis_services
from analysis.config import RunConfig
from analysis.models import AgreementRun
from annotations import services
from annotations.models import ImportJob, Judgement
from judgeapp.jobs import JobQueueUnavailable
from tests.analysis.test_run_worker import big_study  # noqa: F401 - the fixture
from tests.factories import good_lines
from tests.faults import broker_down
from tests.test_recovery_worker import RECOVERED_WITHIN_S, jsonl_bytes
from tests.worker import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_job_started_while_the_broker_was_down_runs_when_a_worker_is_back(
    tmp_path, lead, project
):
    upload = SimpleUploadedFile("judgements.jsonl", jsonl_bytes(good_lines()))
    with broker_down(), pytest.raises(JobQueueUnavailable):
        services.import_job_create(project=project, user=lead, file=upload, format="native")
    job = ImportJob.objects.get()
    assert (job.status, job.queued_at) == ("pending", None)
    back_at = time.monotonic()

    with celery_worker(beat_schedule=tmp_path / "beat", log=tmp_path / "worker.log"):
        ended = wait_for(
            lambda: ImportJob.objects.get(pk=job.pk).status in ("done", "failed"),
            timeout=RECOVERED_WITHIN_S,
            every=1,
        )
    job.refresh_from_db()
    assert ended, f"still {job.status}"
    assert job.status == "done", job.errors
    assert Judgement.objects.count() == 5
    took = time.monotonic() - back_at
    print(f"sent by the reaper and imported {took:.0f} s after the worker started")


def _terminate_other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_job_whose_database_connection_drops_mid_run_ends_done_or_failed_with_a_reason(
    tmp_path,
    big_study,  # noqa: F811 - the fixture imported above
    lead,
):
    config = RunConfig(slice_keys=("turn",), n_boot=3000, seed=9)
    run = analysis_services.agreement_run_start(project=big_study, user=lead, config=config)

    with celery_worker(beat_schedule=tmp_path / "beat", log=tmp_path / "worker.log"):
        assert wait_for(
            lambda: AgreementRun.objects.get(pk=run.pk).progress > 0.02, timeout=120, every=0.1
        ), "the worker never got going"
        assert _terminate_other_backends() >= 1  # the worker's (and its heartbeat's)
        dropped_at = time.monotonic()
        ended = wait_for(
            lambda: AgreementRun.objects.get(pk=run.pk).status in ("done", "failed"),
            timeout=RECOVERED_WITHIN_S,
            every=1,
        )
    run.refresh_from_db()
    assert ended, f"still {run.status} {time.monotonic() - dropped_at:.0f} s after the drop"
    assert run.status == "done" or "connection" in run.error.lower(), run.error
    print(f"connection dropped: the run ended {run.status} ({run.error!r})")
