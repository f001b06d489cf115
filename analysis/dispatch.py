"""Queueing the analysis tasks, by name.

`analysis.tasks` imports `analysis.services` (a task calls a service), so the services do
not import the tasks back: they queue work through here, by the task's registered name
(`judgeapp.jobs`).
"""

from judgeapp.jobs import enqueue_on_commit

AGREEMENT_RUN_TASK = "analysis.tasks.agreement_run_task"
AGREEMENT_RUNS_REAP_TASK = "analysis.tasks.agreement_runs_reap_task"


def agreement_run_enqueue(*, run_id: int) -> None:
    """Queue the computation of a run once the current transaction commits."""
    enqueue_on_commit(AGREEMENT_RUN_TASK, run_id)
