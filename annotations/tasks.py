"""Celery entry points: ids in, one service call."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from annotations import dispatch, export_jobs, services
from annotations.annotate import services as annotate_services
from annotations.judges import execute as judge_execute
from annotations.judges import recovery as judge_recovery


@shared_task(
    bind=True, name=dispatch.IMPORT_JOB_RUN_TASK, acks_late=True, reject_on_worker_lost=True
)
def import_job_run_task(self, job_id: int) -> None:
    # The import is one transaction and the job is claimed by a conditional update, so a
    # redelivered message reruns a job whose worker died and does nothing to a finished one.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    services.import_job_run(job_id=job_id, redelivered=redelivered)


@shared_task(
    bind=True, name=dispatch.EXPORT_JOB_RUN_TASK, acks_late=True, reject_on_worker_lost=True
)
def export_job_run_task(self, job_id: int) -> None:
    # The file is written aside and moved into place whole, and the job is claimed by a
    # conditional update: a redelivered message redoes a dead attempt, not a finished job.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    export_jobs.export_job_run(job_id=job_id, redelivered=redelivered)


@shared_task(name=dispatch.EXPORT_JOBS_REAP_TASK)
def export_jobs_reap_task() -> None:
    export_jobs.export_jobs_reap()


@shared_task(
    bind=True,
    name=dispatch.JUDGE_CHUNK_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.JUDGE_CHUNK_SOFT_TIME_LIMIT,
    time_limit=settings.JUDGE_CHUNK_SOFT_TIME_LIMIT + 60,
)
def judge_chunk_task(self, chunk_id: int) -> None:
    # Every answer is stored as it arrives, under a unique key, and the chunk's counts are
    # overwritten when it ends: a redelivered chunk asks only what was in flight.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    judge_execute.judge_chunk_run(chunk_id=chunk_id, redelivered=redelivered)


@shared_task(name=dispatch.JUDGE_CHUNKS_REAP_TASK)
def judge_chunks_reap_task() -> None:
    judge_recovery.judge_chunks_reap()


@shared_task(name=dispatch.IMPORT_JOBS_REAP_TASK)
def import_jobs_reap_task() -> None:
    services.import_jobs_reap()


@shared_task
def assignments_release_stale_task() -> None:
    hours = settings.ASSIGNMENT_TIMEOUT_HOURS
    annotate_services.assignments_release_stale(older_than=timedelta(hours=hours))
