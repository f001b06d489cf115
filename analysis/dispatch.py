"""Queueing the analysis tasks, by name.

`analysis.tasks` imports `analysis.services` (a task calls a service), so the services do
not import the tasks back: they queue work through here, by the task's registered name
(`judgeapp.jobs`). A run's own row is its outbox entry: stamped `queued_at` once the broker
has the message.
"""

from analysis.models import AgreementRun
from judgeapp.jobs import enqueue_on_commit, send

AGREEMENT_RUN_TASK = "analysis.tasks.agreement_run_task"
AGREEMENT_RUNS_REAP_TASK = "analysis.tasks.agreement_runs_reap_task"


def agreement_run_enqueue(*, run_id: int) -> None:
    """Queue the computation of a run once the current transaction commits."""
    outbox = AgreementRun.objects.filter(pk=run_id)
    enqueue_on_commit(AGREEMENT_RUN_TASK, run_id, outbox=outbox)


def agreement_run_send(*, run_id: int) -> None:
    """Queue the computation of a run now (the reaper, outside any transaction)."""
    send(AGREEMENT_RUN_TASK, run_id, outbox=AgreementRun.objects.filter(pk=run_id))


REPORT_CHUNK_TASK = "analysis.tasks.report_chunk_task"
REPORT_MERGE_TASK = "analysis.tasks.report_merge_task"


def report_chunk_enqueue(*, chunk_id: int) -> None:
    """Queue one chunk of a streamed run once the current transaction commits."""
    enqueue_on_commit(REPORT_CHUNK_TASK, chunk_id)


def report_chunk_send(*, chunk_id: int) -> None:
    """Queue one chunk of a streamed run now (the reaper)."""
    send(REPORT_CHUNK_TASK, chunk_id)


def report_merge_enqueue(*, run_id: int) -> None:
    """Queue the merge of a streamed run's chunks once the current transaction commits."""
    enqueue_on_commit(REPORT_MERGE_TASK, run_id)


def report_merge_send(*, run_id: int) -> None:
    """Queue the merge of a streamed run's chunks now (the reaper)."""
    send(REPORT_MERGE_TASK, run_id)
