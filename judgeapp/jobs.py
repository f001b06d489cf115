"""Queueing a Celery task by its registered name, once the current transaction commits; and
the heartbeat that tells a live job from one whose worker died.

Services queue their app's tasks through this (via each app's `dispatch` module) instead of
importing the tasks, which import the services: no import loop. The tasks modules are loaded
on the first enqueue in a process that has not loaded them (a worker loads them at start),
not when Django starts: analysis.tasks pulls in numpy, scipy and statsmodels (about 110 MiB
and a second), which most web requests never need.

The job rows are an outbox. A row is committed first (status pending, `queued_at` empty) and
its message is sent after the commit; only a message the broker accepted stamps `queued_at`.
When the broker is unreachable the send raises `JobQueueUnavailable` (the request answers
503: the job is saved) and the row stays unqueued; each app's reaper, on the beat, sends the
rows left unqueued for JOB_RESEND_AFTER_S again. Sending twice is harmless: every task claims
its row with a conditional update, so a second message finds nothing to do.
"""

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

QUEUE_UNAVAILABLE_MESSAGE = (
    "The job queue is unreachable; the job is saved and will start when the queue is back."
)


class JobQueueUnavailable(Exception):
    """The broker refused or could not be reached; the job's row is saved, unqueued."""

    def __init__(self, task: str) -> None:
        super().__init__(QUEUE_UNAVAILABLE_MESSAGE)
        self.task = task
        self.message = QUEUE_UNAVAILABLE_MESSAGE


def send(name: str, *args: int, outbox: QuerySet | None = None) -> None:
    """Send the task `name` now (run it in-process when Celery is eager) and stamp the
    `outbox` rows (the job's own row) as queued once the broker has the message.

    Raises JobQueueUnavailable when the broker cannot be reached.
    """
    app = current_app
    if name not in app.tasks:
        # A bare send_task would ignore task_always_eager and need a broker; loading the
        # tasks lets the signature find its task and run it eagerly when there is none.
        app.loader.import_default_modules()
    try:
        app.signature(name, args=args).delay()
    except OperationalError as exc:
        # kombu wraps every connection failure (refused, timeout, DNS) in OperationalError.
        logger.error("could not queue %s%r: %s", name, args, exc)
        raise JobQueueUnavailable(name) from exc
    if outbox is not None:
        outbox.update(queued_at=timezone.now())


def enqueue_on_commit(name: str, *args: int, outbox: QuerySet | None = None) -> None:
    """Send the task `name` with `args` after commit (see `send`).

    A broker failure raises JobQueueUnavailable out of the commit (the rows are committed by
    then): the caller's request answers 503 and the reaper sends the job later.
    """
    transaction.on_commit(lambda: send(name, *args, outbox=outbox))


def stale_cutoff() -> object:
    """Running rows whose heartbeat is older than this lost their worker."""
    return timezone.now() - timedelta(seconds=settings.JOB_STALE_S)


def unsent(created_field: str = "created_at") -> Q:
    """Pending rows whose message the broker may not have: never accepted (the broker was
    down, or the process died between commit and send) for JOB_RESEND_AFTER_S, or accepted
    so long ago (JOB_RESEND_QUEUED_AFTER_S) that the message may have been lost with a
    broker restart. `created_field` names the row's creation time (a lookup path)."""
    now = timezone.now()
    never = Q(queued_at__isnull=True) & Q(
        **{f"{created_field}__lt": now - timedelta(seconds=settings.JOB_RESEND_AFTER_S)}
    )
    lost = Q(queued_at__lt=now - timedelta(seconds=settings.JOB_RESEND_QUEUED_AFTER_S))
    return never | lost


def requeue_stale(
    stale: QuerySet, *, max_attempts: int, failed: dict[str, object], requeued: dict[str, object]
) -> tuple[int, list[int]]:
    """The reapers' rule for rows whose worker stopped beating: those out of attempts are
    failed (one update with the fields in `failed`), the others queued again (`requeued`),
    each conditional on the attempt seen, so a row claimed again meanwhile is left alone.
    Returns how many failed and the ids queued again."""
    n_failed = stale.filter(attempts__gte=max_attempts).update(**failed)
    again = [
        pk
        for pk, seen in stale.filter(attempts__lt=max_attempts).values_list("pk", "attempts")
        if stale.filter(pk=pk, attempts=seen).update(**requeued)
    ]
    return n_failed, again


def resend_lost(requeued: list[int], pending: QuerySet, send_one: Callable[[int], None]) -> int:
    """Send the rows queued again first, then the pending rows whose message the broker may
    not have (`pending` already filtered with `unsent`); stops at the first broker failure."""
    rest = pending.exclude(pk__in=requeued).values_list("pk", flat=True)
    return resend([*requeued, *rest], send_one)


def resend(ids: Iterable[int], send_one: Callable[[int], None]) -> int:
    """Send each job again; stop at the first broker failure (the next beat tries again)."""
    sent = 0
    for pk in ids:
        try:
            send_one(pk)
        except JobQueueUnavailable:
            break
        sent += 1
    return sent


def connection_reset_if_lost() -> None:
    """After a job failed, drop the database connection if it is the cause (the server
    restarted, or the backend was terminated): the next query, the one that records the
    failure and its reason, then opens a new one instead of failing on the dead one."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


@contextmanager
def heartbeat(rows: QuerySet, *, every: float) -> Iterator[None]:
    """Write `heartbeat_at` on `rows` every `every` seconds while the block runs, from a
    thread with its own database connection, so a job that holds one long transaction (an
    import) or spends minutes in one computation still proves it is alive.

    SQLite allows one writer at a time and an import holds it for its whole transaction, so
    there the block runs without a heartbeat: SQLite deployments run Celery eagerly, in the
    web process, where there is no worker to lose and no beat to reap.
    """
    if connection.vendor == "sqlite":
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    rows.update(heartbeat_at=timezone.now())
                except Exception:
                    # A dropped connection must not kill the job; the next beat reconnects.
                    logger.exception("heartbeat failed")
                    connection.close()
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name="job-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)
