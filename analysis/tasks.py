"""Celery entry points for the analysis app: ids in, one service call."""

from celery import shared_task

from analysis import dispatch, services


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
