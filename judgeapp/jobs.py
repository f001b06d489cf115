"""Queueing a Celery task by its registered name, once the current transaction commits.

Services queue their app's tasks through this (via each app's `dispatch` module) instead of
importing the tasks, which import the services: no import loop. The tasks modules are loaded
on the first enqueue in a process that has not loaded them (a worker loads them at start),
not when Django starts: analysis.tasks pulls in numpy, scipy and statsmodels (about 110 MiB
and a second), which most web requests never need.
"""

from celery import current_app
from django.db import transaction


def enqueue_on_commit(name: str, *args: int) -> None:
    """Send the task `name` with `args` after commit (run in-process when Celery is eager)."""
    app = current_app
    if name not in app.tasks:
        # A bare send_task would ignore task_always_eager and need a broker; loading the
        # tasks lets the signature find its task and run it eagerly when there is none.
        app.loader.import_default_modules()
    transaction.on_commit(app.signature(name, args=args).delay)
