"""Queueing the annotations tasks, by name.

`annotations.tasks` imports `annotations.services` (a task calls a service), so the services
cannot import the tasks back. They queue work through here instead, by the task's registered
name (`judgeapp.jobs`); tasks.py registers its tasks under these names.
"""

from judgeapp.jobs import enqueue_on_commit

IMPORT_JOB_RUN_TASK = "annotations.tasks.import_job_run_task"
JUDGE_CHUNK_TASK = "annotations.tasks.judge_chunk_task"
JUDGE_CHUNKS_REAP_TASK = "annotations.tasks.judge_chunks_reap_task"


def import_job_run_enqueue(*, job_id: int) -> None:
    """Queue the run of an import job after the current transaction commits."""
    enqueue_on_commit(IMPORT_JOB_RUN_TASK, job_id)


def judge_chunk_enqueue(*, chunk_id: int) -> None:
    """Queue one chunk of a judge run after the current transaction commits."""
    enqueue_on_commit(JUDGE_CHUNK_TASK, chunk_id)
