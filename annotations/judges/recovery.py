"""Judge chunks whose worker died: found by their stopped heartbeat, queued again, or
failed after JUDGE_CHUNK_MAX_ATTEMPTS attempts so that no run stays "running" forever.

With Redis as the broker, the message of a task whose worker was killed comes back only
after the visibility timeout (an hour); the heartbeat finds the chunk within minutes. A
requeued chunk asks only what its dead attempt had in flight: every answer that arrived
was stored under its unique key.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotations import dispatch
from annotations.judges.models import JudgeRun, JudgeRunChunk
from judgeapp import jobs

logger = logging.getLogger(__name__)


def judge_chunks_reap(*, stale_seconds: int | None = None) -> dict[str, int]:
    """Queue again the running chunks whose heartbeat is older than `stale_seconds`
    (JUDGE_CHUNK_STALE_S by default); fail those out of attempts, and their runs. Pending
    chunks of live runs whose message the broker may not have (it was down when the run
    started) are sent again (`judgeapp.jobs.unsent`)."""
    if stale_seconds is None:
        stale_seconds = settings.JUDGE_CHUNK_STALE_S
    cutoff = timezone.now() - timedelta(seconds=stale_seconds)
    stale = JudgeRunChunk.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True), status=JudgeRun.Status.RUNNING
    )
    reaped = {"failed": 0, "requeued": 0, "resent": 0}
    requeued = []
    for chunk_id, run_id, index, attempts in stale.values_list("pk", "run", "index", "attempts"):
        with transaction.atomic():
            # Conditional on the attempt seen: a chunk claimed again meanwhile is left alone.
            this = stale.filter(pk=chunk_id, attempts=attempts)
            if attempts >= settings.JUDGE_CHUNK_MAX_ATTEMPTS:
                if this.update(status=JudgeRun.Status.FAILED):
                    reaped["failed"] += 1
                    _run_fail(run_id, f"Chunk {index} lost its worker {attempts} times; gave up.")
            elif this.update(status=JudgeRun.Status.PENDING, queued_at=None):
                requeued.append(chunk_id)
    reaped["requeued"] = len(requeued)
    pending = JudgeRunChunk.objects.filter(
        jobs.unsent("run__created_at"),
        status=JudgeRun.Status.PENDING,
        run__status__in=[JudgeRun.Status.PENDING, JudgeRun.Status.RUNNING],
    ).exclude(pk__in=requeued)
    reaped["resent"] = jobs.resend(
        [*requeued, *pending.values_list("pk", flat=True)],
        lambda pk: dispatch.judge_chunk_send(chunk_id=pk),
    )
    if any(reaped.values()):
        logger.warning("judge chunks reaped: %s", reaped)
    return reaped


def _run_fail(run_id: int, error: str) -> None:
    # The run's other chunks see it failed at their next check and stop.
    JudgeRun.objects.filter(
        pk=run_id, status__in=[JudgeRun.Status.PENDING, JudgeRun.Status.RUNNING]
    ).update(
        status=JudgeRun.Status.FAILED,
        error=error,
        stop_reason="error",
        finished_at=timezone.now(),
    )
