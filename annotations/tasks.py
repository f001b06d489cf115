"""Celery entry points: ids in, one service call."""

from celery import shared_task

from annotations import services


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def import_job_run_task(self, job_id: int) -> None:
    # The import is one transaction and the job is claimed by a conditional update, so a
    # redelivered message reruns a job whose worker died and does nothing to a finished one.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    services.import_job_run(job_id=job_id, redelivered=redelivered)


@shared_task
def import_jobs_fail_stale_task() -> None:
    services.import_jobs_fail_stale()
