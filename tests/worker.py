"""Start a real Celery worker against the test database and the configured broker."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@contextmanager
def celery_worker(
    *,
    extra_env: dict[str, str] | None = None,
    log: Path | None = None,
    beat_schedule: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """A worker process on the test database (which the test must have committed to); its
    output goes to `log` when given, else to the test's output. With `beat_schedule` (a
    file for beat's state) it embeds beat (`-B`), on the real schedule, in a process group
    of its own: SIGKILL the group (`kill_group`) to kill the worker and its beat."""
    env = os.environ | {
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DJANGO_SETTINGS_MODULE": "judgeapp.settings",
    }
    env |= extra_env or {}
    output = log.open("ab") if log else None
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "judgeapp",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            *(["-B", f"--schedule={beat_schedule}"] if beat_schedule else []),
        ],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
        start_new_session=beat_schedule is not None,
    )
    try:
        yield worker
    finally:
        if beat_schedule:
            kill_group(worker)
        worker.kill()
        worker.wait(timeout=30)
        if output:
            output.close()


def wait_for(predicate, *, timeout: float = 60.0, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def kill_group(worker: subprocess.Popen) -> None:
    """SIGKILL a worker started with its own process group, and its embedded beat."""
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
