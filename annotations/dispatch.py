"""Queueing the annotations tasks, by name.

`annotations.tasks` imports `annotations.services` (a task calls a service), so the services
cannot import the tasks back. They queue work through here instead: a signature by the task's
registered name, sent once the current transaction commits. tasks.py registers its tasks under
these names.
"""

from celery import current_app
from django.db import transaction

IMPORT_JOB_RUN_TASK = "annotations.tasks.import_job_run_task"
JUDGE_CHUNK_TASK = "annotations.tasks.judge_chunk_task"


def import_job_run_enqueue(*, job_id: int) -> None:
    """Queue the run of an import job after the current transaction commits."""
    _enqueue_on_commit(IMPORT_JOB_RUN_TASK, job_id)


def judge_chunk_enqueue(*, chunk_id: int) -> None:
    """Queue one chunk of a judge run after the current transaction commits."""
    _enqueue_on_commit(JUDGE_CHUNK_TASK, chunk_id)


def _enqueue_on_commit(name: str, *args: int) -> None:
    app = current_app
    if name not in app.tasks:
        # A web process has not imported the apps' tasks.py (a worker does when it starts):
        # load them, so that the signature finds its task and runs it in-process when Celery
        # is eager; a bare send_task would ignore task_always_eager and need a broker.
        app.loader.import_default_modules()
    transaction.on_commit(app.signature(name, args=args).delay)
