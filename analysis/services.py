"""Agreement runs: start, execute (idempotently, from a Celery task), reap the stuck ones."""

import logging
import time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from analysis import dispatch, streamed_runs
from analysis.config import RunConfig, RunConfigError
from analysis.engine import CriterionData, Report, criterion_report, n_slices
from analysis.loading import criterion_data_load, project_index_load
from analysis.models import (
    AgreementRun,
)
from analysis.report_store import report_store
from analysis.streamed_runs import MAX_ATTEMPTS
from annotations import selectors as annotations_selectors
from annotations.audit import AuditAction, audit_record
from annotations.errors import DomainError
from annotations.models import Project
from judgeapp import jobs

logger = logging.getLogger(__name__)


def agreement_run_start(
    *, project: Project, user: AbstractBaseUser | None, config: RunConfig
) -> AgreementRun:
    """Create a run and queue it; the caller returns at once."""
    known = set(project.criteria.values_list("name", flat=True))
    unknown = [name for name in config.criteria if name not in known]
    if unknown:
        raise RunConfigError("criteria", f"Unknown criteria: {', '.join(unknown)}.")
    slice_keys_check(project=project, keys=list(config.slice_keys))
    with transaction.atomic():
        run = AgreementRun.objects.create(project=project, created_by=user, config=config.as_dict())
        dispatch.agreement_run_enqueue(run_id=run.pk)
        audit_record(
            actor=user,
            project=project,
            action=AuditAction.REPORT_START,
            target=run,
            detail={"criteria": list(config.criteria)},
        )
    return run


def slice_keys_check(*, project: Project, keys: list[str]) -> None:
    """Raise RunConfigError unless every slice key is in some item's meta: a key no item has
    would slice nothing and say nothing (the form, the API and the CLI all come here)."""
    missing = annotations_selectors.meta_keys_missing(project=project, keys=keys)
    if missing:
        raise RunConfigError(
            "slice_keys",
            f"No item of this project has the meta key {', '.join(map(repr, missing))}.",
        )


def report_download_record(*, run: AgreementRun, name: str, actor: AbstractBaseUser) -> None:
    """Audit a download of one of a run's files (a CSV or report.html), once the caller has
    checked the user may have it and the file exists."""
    audit_record(
        actor=actor, project=run.project, action=AuditAction.DOWNLOAD, target=run,
        detail={"file": name},
    )  # fmt: skip


def _claim(run_id: int, redelivered: bool) -> bool:
    # A redelivered message takes a running run only once its heartbeat has stopped: Redis
    # also redelivers the message of a live worker past the visibility timeout.
    claimable = Q(status=AgreementRun.Status.PENDING)
    if redelivered:
        claimable |= Q(status=AgreementRun.Status.RUNNING) & (
            Q(heartbeat_at__lt=jobs.stale_cutoff()) | Q(heartbeat_at__isnull=True)
        )
    now = timezone.now()
    return bool(
        AgreementRun.objects.filter(claimable, pk=run_id).update(
            status=AgreementRun.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            progress=0.0,
            error="",
        )
    )


def agreement_run_execute(*, run_id: int, redelivered: bool = False) -> None:
    """Compute a run and store its rows. A rerun replaces the rows of an earlier attempt."""
    if not _claim(run_id, redelivered):
        logger.info("agreement run %s is not claimable; nothing to do", run_id)
        return
    run = AgreementRun.objects.select_related("project").get(pk=run_id)
    # Beats from a thread: one slice's bootstrap or the final store can outlast JOB_STALE_S.
    mine = AgreementRun.objects.filter(
        pk=run_id, status=AgreementRun.Status.RUNNING, attempts=run.attempts
    )
    try:
        if RunConfig.from_input(run.config).chunk_items:
            # Streamed: the chunks' tasks compute, the last one queues the merge, which
            # finishes the run (analysis.streamed_runs).
            streamed_runs.report_chunks_plan(run=run, config=RunConfig.from_input(run.config))
            return
        with jobs.heartbeat(mine, every=settings.JOB_HEARTBEAT_S):
            timings = _compute_and_store(run)
    except Exception as exc:
        logger.exception("agreement run %s failed", run_id)
        jobs.connection_reset_if_lost()
        AgreementRun.objects.filter(pk=run_id).update(
            status=AgreementRun.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        if not isinstance(exc, DomainError | ValueError):
            raise
        return
    AgreementRun.objects.filter(pk=run_id).update(
        status=AgreementRun.Status.DONE,
        progress=1.0,
        stage="done",
        timings=timings,
        finished_at=timezone.now(),
    )


def _compute_and_store(run: AgreementRun) -> dict:
    config = RunConfig.from_input(run.config)
    timings = {"load_s": 0.0, "compute_s": 0.0}
    started = time.perf_counter()
    loaded = _load(run, config, timings)
    tick = _progress_counter(run, total=sum(n_slices(d, config.slice_keys) for d in loaded))
    report = Report()
    for data in loaded:
        AgreementRun.objects.filter(pk=run.pk).update(stage=f"criterion {data.name}")
        t0 = time.perf_counter()
        part = criterion_report(data, config, progress=tick)
        timings["compute_s"] += time.perf_counter() - t0
        report.rows.extend(part.rows)
        report.shortfall.extend(part.shortfall)
        report.disagreements.extend(part.disagreements)
        report.charts.extend(part.charts)
    timings |= report_store(run=run, report=report)
    timings["total_s"] = time.perf_counter() - started
    return {k: round(v, 3) for k, v in timings.items()}


def _load(run: AgreementRun, config: RunConfig, timings: dict) -> list[CriterionData]:
    t0 = time.perf_counter()
    criteria = list(run.project.criteria.all())
    if config.criteria:
        criteria = [c for c in criteria if c.name in config.criteria]
    index = project_index_load(project=run.project)
    loaded = [criterion_data_load(criterion=c, index=index) for c in criteria]
    timings["load_s"] += time.perf_counter() - t0
    return loaded


def _progress_counter(run: AgreementRun, *, total: int):
    """A callback for the engine: one call per slice done, stored as the run's progress."""
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        AgreementRun.objects.filter(pk=run.pk).update(
            progress=done / (total or 1), heartbeat_at=timezone.now()
        )

    return tick


def agreement_runs_reap(*, stale_seconds: int | None = None) -> dict[str, int]:
    """Recover runs a dead worker or a down broker left behind, never stuck.

    Running runs whose heartbeat is older than `stale_seconds` (JOB_STALE_S) are queued
    again, or failed with the reason after MAX_ATTEMPTS; pending runs whose message the
    broker may not have are sent again (`judgeapp.jobs.unsent`).
    """
    if stale_seconds is None:
        stale_seconds = settings.JOB_STALE_S
    cutoff = timezone.now() - timezone.timedelta(seconds=stale_seconds)
    chunks = streamed_runs.report_chunks_reap(cutoff=cutoff)
    # A streamed run with chunks is recovered chunk by chunk (above), never replanned whole.
    stale = AgreementRun.objects.filter(
        status=AgreementRun.Status.RUNNING, heartbeat_at__lt=cutoff, chunks__isnull=True
    )
    failed, requeued = jobs.requeue_stale(
        stale,
        max_attempts=MAX_ATTEMPTS,
        failed={
            "status": AgreementRun.Status.FAILED,
            "error": f"The worker stopped responding {MAX_ATTEMPTS} times; giving up.",
            "finished_at": timezone.now(),
        },
        requeued={
            "status": AgreementRun.Status.PENDING,
            "stage": "requeued after a lost worker",
            "queued_at": None,
        },
    )
    pending = AgreementRun.objects.filter(jobs.unsent(), status=AgreementRun.Status.PENDING)
    resent = jobs.resend_lost(requeued, pending, lambda pk: dispatch.agreement_run_send(run_id=pk))
    reaped = {"failed": failed, "requeued": len(requeued), "resent": resent}
    reaped |= {f"chunks_{key}": n for key, n in chunks.items() if n}
    if failed or requeued or resent:
        logger.warning("agreement runs reaped: %s", reaped)
    return reaped
