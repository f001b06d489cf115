"""Streamed agreement runs (config `chunk_items` > 0): one task per range of items, then a merge.

The run's own task plans the chunks (`report_chunks_plan`): it cuts the project's items into
ranges of `chunk_items` keys, writes one `ReportChunk` row per range and queues one task per
row. Each chunk task (`report_chunk_execute`) loads its range only, turns it into additive sums
(`engine.streamed.chunk_sums`), overwrites its row's sums and counts the run's progress. The
chunk that finds every chunk done queues the merge (`report_merge_execute`), which adds the
chunks' sums one row at a time and stores the result rows.

A Celery chord would need a result backend (this project keeps results in its own rows and has
none) and its unlock task polls; here the fan-in is a conditional update on the run, so a
chunk redone after a lost worker, or a merge queued twice, changes nothing. Memory: a chunk
task holds its range's judgements; the merge holds two chunks' sums at a time.
"""

import logging
import resource
import time

from django.conf import settings
from django.db import connections, reset_queries, transaction
from django.db.models import F, Q
from django.utils import timezone

from analysis import dispatch
from analysis.config import RunConfig
from analysis.engine.streamed import ChunkSums, chunk_sums, merged_report
from analysis.loading import criterion_chunk_load, project_index_load
from analysis.models import AgreementRun, ReportChunk
from analysis.report_store import report_store
from annotations import selectors as annotations_selectors
from annotations.errors import DomainError
from judgeapp import jobs

logger = logging.getLogger(__name__)

RUNNING = AgreementRun.Status.RUNNING
DONE = AgreementRun.Status.DONE
# A job whose worker stopped beating is sent again up to this many times (runs and chunks).
MAX_ATTEMPTS = 3


def report_chunks_plan(*, run: AgreementRun, config: RunConfig) -> int:
    """Cut the run's items into ranges, write a chunk row per range (replacing those of an
    earlier attempt) and queue them; returns the number of chunks."""
    ranges = annotations_selectors.item_key_ranges(
        project=run.project, per_range=config.chunk_items
    )
    with transaction.atomic():
        ReportChunk.objects.filter(run=run).delete()
        chunks = ReportChunk.objects.bulk_create(
            ReportChunk(run=run, index=i, item_low=low, item_high=high)
            for i, (low, high) in enumerate(ranges)
        )
        AgreementRun.objects.filter(pk=run.pk).update(
            stage=f"0 of {len(chunks)} chunks", progress=0.0
        )
        for chunk in chunks:
            dispatch.report_chunk_enqueue(chunk_id=chunk.pk)
        if not chunks:
            dispatch.report_merge_enqueue(run_id=run.pk)
    return len(chunks)


def _claim_chunk(chunk_id: int, redelivered: bool) -> int | None:
    """The attempt number this worker now owns, or None if another has the chunk."""
    claimable = Q(status=AgreementRun.Status.PENDING)
    if redelivered:
        claimable |= Q(status=RUNNING) & (
            Q(heartbeat_at__lt=jobs.stale_cutoff()) | Q(heartbeat_at__isnull=True)
        )
    claimed = ReportChunk.objects.filter(claimable, pk=chunk_id).update(
        status=RUNNING, attempts=F("attempts") + 1, heartbeat_at=timezone.now()
    )
    if not claimed:
        return None
    return ReportChunk.objects.values_list("attempts", flat=True).get(pk=chunk_id)


def report_chunk_execute(*, chunk_id: int, redelivered: bool = False) -> None:
    """Compute one chunk's sums and store them over any earlier attempt's."""
    attempt = _claim_chunk(chunk_id, redelivered)
    if attempt is None:
        logger.info("report chunk %s is not claimable; nothing to do", chunk_id)
        return
    chunk = ReportChunk.objects.select_related("run__project").get(pk=chunk_id)
    mine = ReportChunk.objects.filter(pk=chunk_id, status=RUNNING, attempts=attempt)
    run_rows = AgreementRun.objects.filter(pk=chunk.run_id, status=RUNNING)
    started = time.perf_counter()
    try:
        # The chunk beats for itself, and for the run: a run with a live chunk is alive.
        every = settings.JOB_HEARTBEAT_S
        with jobs.heartbeat(mine, every=every), jobs.heartbeat(run_rows, every=every):
            sums = _chunk_compute(chunk)
    except Exception as exc:
        logger.exception("report chunk %s failed", chunk_id)
        jobs.connection_reset_if_lost()
        mine.update(status=AgreementRun.Status.FAILED)
        run_rows.update(
            status=AgreementRun.Status.FAILED,
            error=f"chunk {chunk.index}: {type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        if not isinstance(exc, DomainError | ValueError):
            raise
        return
    blob = sums.to_bytes()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stored = mine.update(
        status=DONE, sums=blob, seconds=time.perf_counter() - started, peak_rss_mb=peak
    )
    _forget_queries()
    if not stored:
        return  # the chunk was taken over meanwhile: that attempt stores it
    _count_and_maybe_merge(chunk.run_id)


def _forget_queries() -> None:
    """Clear Django's query log after a chunk or a merge. With DEBUG on (make run: chunks run
    eagerly in the web process) it keeps each query's SQL, the sums' bytes included: 120
    chunks of a demo project held 2.5 GB. Not while someone is capturing queries on purpose
    (CaptureQueriesContext, assertNumQueries): clearing would empty what they read."""
    if settings.DEBUG and not any(c.force_debug_cursor for c in connections.all()):
        reset_queries()


def _chunk_compute(chunk: ReportChunk) -> ChunkSums:
    run = chunk.run
    config = RunConfig.from_input(run.config)
    item_range = (chunk.item_low, chunk.item_high)
    # A chunk only reads: from the replica where one is configured (the run's rows, the
    # criteria and the sums stay on the primary).
    using = settings.REPORT_READ_DATABASE
    index = project_index_load(project=run.project, item_range=item_range, using=using)
    total = ChunkSums()
    for criterion in _criteria(run, config):
        data = criterion_chunk_load(
            criterion=criterion, index=index, item_range=item_range, using=using
        )
        ref = _reference(run, config)
        part = chunk_sums(
            data, item_keys=index.item_pk, slice_keys=config.slice_keys, reference=ref,
            n_boot=config.n_boot, seed=config.seed,
        )  # fmt: skip
        total.add(part)
    return total


def _criteria(run: AgreementRun, config: RunConfig) -> list:
    criteria = list(run.project.criteria.order_by("pk"))
    if config.criteria:
        criteria = [c for c in criteria if c.name in config.criteria]
    return criteria


def _reference(run: AgreementRun, config: RunConfig) -> str | None:
    """The reference group decided from the project's raters (a chunk may miss some)."""
    groups = {}
    for record in annotations_selectors.rater_index(project=run.project).values():
        groups.setdefault(record.group, [record.kind, 0])[1] += 1
    if config.reference_group:
        return config.reference_group if config.reference_group in groups else None
    if "expert" in groups:
        return "expert"
    humans = {name: n for name, (kind, n) in groups.items() if kind == "human"}
    return max(humans, key=humans.__getitem__) if humans else None


def _count_and_maybe_merge(run_id: int) -> None:
    chunks = ReportChunk.objects.filter(run_id=run_id)
    total, done = chunks.count(), chunks.filter(status=DONE).count()
    AgreementRun.objects.filter(pk=run_id, status=RUNNING).update(
        progress=0.95 * done / (total or 1),
        stage=f"{done} of {total} chunks",
        heartbeat_at=timezone.now(),
    )
    if done < total:
        return
    # Every chunk is done: the first to see it queues the merge (a conditional update).
    with transaction.atomic():
        if (
            AgreementRun.objects.filter(pk=run_id, status=RUNNING)
            .exclude(stage="merging")
            .update(stage="merging")
        ):
            dispatch.report_merge_enqueue(run_id=run_id)


def report_merge_execute(*, run_id: int) -> None:
    """Add every chunk's sums, compute the statistics and store the rows; the run is done."""
    run = AgreementRun.objects.select_related("project").get(pk=run_id)
    if run.status != RUNNING:
        return
    run_rows = AgreementRun.objects.filter(pk=run_id, status=RUNNING)
    with jobs.heartbeat(run_rows, every=settings.JOB_HEARTBEAT_S):
        _merge(run)
    _forget_queries()


def _merge(run: AgreementRun) -> None:
    run_id = run.pk
    config = RunConfig.from_input(run.config)
    started = time.perf_counter()
    merged = ChunkSums()
    seconds = peak = 0.0
    rows = ReportChunk.objects.filter(run=run, status=DONE).order_by("index")
    # One chunk's sums in memory at a time (the default fetches 2,000 rows per round trip).
    sums = rows.values_list("sums", "seconds", "peak_rss_mb").iterator(chunk_size=1)
    for blob, chunk_s, chunk_peak in sums:
        merged.add(ChunkSums.from_bytes(bytes(blob)))
        seconds, peak = seconds + chunk_s, max(peak, chunk_peak)
    report = merged_report(
        merged,
        confidence=0.95,
        n_boot=config.n_boot,
        min_slice_items=config.min_slice_items,
        epsilon_for=config.epsilon_for,
    )
    stored = report_store(run=run, report=report)
    merge_s = time.perf_counter() - started
    timings = {
        "chunks": rows.count(),
        "chunk_s_sum": round(seconds, 3),
        "chunk_peak_rss_mb": round(peak, 1),
        "merge_s": round(merge_s, 3),
        "store_s": round(stored["store_s"], 3),
        "merge_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "total_s": round((timezone.now() - run.started_at).total_seconds(), 3),
    }
    AgreementRun.objects.filter(pk=run_id, status=RUNNING).update(
        status=DONE, progress=1.0, stage="done", timings=timings, finished_at=timezone.now()
    )


def report_chunks_reap(*, cutoff: object) -> dict[str, int]:
    """Chunks whose worker stopped beating go back to pending and are sent again, each by
    itself (the run's other chunks keep their sums); after MAX_ATTEMPTS the run fails.
    `cutoff`: chunks whose heartbeat is older lost their worker."""
    stale = ReportChunk.objects.filter(status=RUNNING, run__status=RUNNING, heartbeat_at__lt=cutoff)
    failed_runs = list(stale.filter(attempts__gte=MAX_ATTEMPTS).values_list("run_id", flat=True))
    AgreementRun.objects.filter(pk__in=failed_runs).update(
        status=AgreementRun.Status.FAILED,
        error=f"A chunk's worker stopped responding {MAX_ATTEMPTS} times; giving up.",
        finished_at=timezone.now(),
    )
    requeued = []
    for chunk_id, seen in stale.filter(attempts__lt=MAX_ATTEMPTS).values_list("pk", "attempts"):
        if stale.filter(pk=chunk_id, attempts=seen).update(status=AgreementRun.Status.PENDING):
            requeued.append(chunk_id)
    sent = jobs.resend(requeued, lambda pk: dispatch.report_chunk_send(chunk_id=pk))
    # A merge whose worker died: the run stopped beating while merging; send the merge again
    # (it stores over its own rows).
    merging = AgreementRun.objects.filter(status=RUNNING, stage="merging", heartbeat_at__lt=cutoff)
    merges = [pk for pk in merging.values_list("pk", flat=True)
              if merging.filter(pk=pk).update(heartbeat_at=timezone.now())]  # fmt: skip
    remerged = jobs.resend(merges, lambda pk: dispatch.report_merge_send(run_id=pk))
    return {"failed": len(failed_runs), "requeued": len(requeued), "resent": sent,
            "merges_resent": remerged}  # fmt: skip
