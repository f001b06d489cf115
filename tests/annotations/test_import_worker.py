"""An import through a real Celery worker, a real Redis broker and PostgreSQL."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations import services
from annotations.models import ImportJob, Judgement
from tests.annotations.test_import_jobs import jsonl
from tests.factories import good_lines
from tests.worker import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_it_imports_through_a_real_worker(lead, project):
    upload = SimpleUploadedFile("judgements.jsonl", jsonl(good_lines()))
    job = services.import_job_create(project=project, user=lead, file=upload, format="native")
    assert ImportJob.objects.get(pk=job.pk).status == "pending"  # queued, not run in-process

    with celery_worker():
        finished = wait_for(
            lambda: ImportJob.objects.get(pk=job.pk).status in ("done", "failed"), timeout=90
        )

    job.refresh_from_db()
    assert finished, f"the worker did not finish the job (status {job.status})"
    assert job.status == "done", job.errors
    assert job.counts["judgements_created"] == 5
    assert Judgement.objects.count() == 5
