"""Queueing the analysis tasks, by name.

`analysis.tasks` imports `analysis.services` (a task calls a service), so the services do
not import the tasks back: they queue work through here, looking the task up by its
registered name (`AnalysisConfig.ready` registers the tasks in every process). An
unregistered name raises `NotRegistered` instead of silently going to a broker.
"""

from celery import current_app

AGREEMENT_RUN_TASK = "analysis.tasks.agreement_run_task"
AGREEMENT_RUNS_REAP_TASK = "analysis.tasks.agreement_runs_reap_task"


def agreement_run_enqueue(*, run_id: int) -> None:
    """Queue the computation of a run once the current transaction commits."""
    current_app.tasks[AGREEMENT_RUN_TASK].delay_on_commit(run_id)
