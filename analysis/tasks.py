"""Celery entry points for the analysis app: ids in, one service call."""

from celery import shared_task

from analysis import dispatch, services, streamed_runs


@shared_task(
    name=dispatch.AGREEMENT_RUN_TASK, bind=True, acks_late=True, reject_on_worker_lost=True
)
def agreement_run_task(self, run_id: int) -> None:
    # Claimed by a conditional update and stored by delete-then-insert in one transaction:
    # a redelivered or requeued message recomputes the run and overwrites, never duplicates.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    services.agreement_run_execute(run_id=run_id, redelivered=redelivered)


@shared_task(name=dispatch.AGREEMENT_RUNS_REAP_TASK)
def agreement_runs_reap_task() -> None:
    services.agreement_runs_reap()


@shared_task(name=dispatch.REPORT_CHUNK_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
def report_chunk_task(self, chunk_id: int) -> None:
    # Claimed by a conditional update and stored over its own (run, index) row: a redelivered
    # chunk is computed again by itself, never added twice.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    streamed_runs.report_chunk_execute(chunk_id=chunk_id, redelivered=redelivered)


@shared_task(name=dispatch.REPORT_MERGE_TASK, acks_late=True, reject_on_worker_lost=True)
def report_merge_task(run_id: int) -> None:
    streamed_runs.report_merge_execute(run_id=run_id)
