"""Exports from the web as jobs (pretix's `services/export.py` pattern): `export_job_start`
saves the row and queues it, the task writes the file and fills the row in (progress, then
the path), the page polls the row and offers the download.

The job writes with the very functions `manage.py export_data` calls (`project_export_native`,
`project_export_tidy`, `preference_pairs`), so the web and the CLI give the same files. The
file is written in an attempt directory of its own and moved into place whole; the row's
`path` is set only after that, so a failed or half-written export is never served.
"""

import logging
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from annotations import dispatch
from annotations.errors import DomainError
from annotations.exports import project_export_native
from annotations.exports_pairs import preference_pairs
from annotations.exports_tidy import project_export_tidy
from annotations.models import Criterion, ExportJob, Item, Judgement, Project, Rater
from annotations.scores import Score
from judgeapp import jobs

logger = logging.getLogger(__name__)

EXPORTS_DIR = "exports"
PROGRESS_EVERY_S = 1.0  # how often a running export writes its progress to its row
TIDY = {
    ExportJob.Format.TIDY_PARQUET: "parquet",
    ExportJob.Format.TIDY_JSONL: "jsonl",
    ExportJob.Format.PAIRS: "jsonl",
}


def export_job_start(
    *, project: Project, user: AbstractBaseUser | None, format: str, pairs_group: str = ""
) -> ExportJob:
    """Save an export job and queue it; the caller returns at once."""
    if format not in ExportJob.Format.values:
        known = ", ".join(ExportJob.Format.values)
        raise DomainError(f"Unknown export format {format!r}; known: {known}.")
    if format == ExportJob.Format.PAIRS:
        groups = pairs_groups(project=project)
        if pairs_group not in groups:
            known = ", ".join(groups) or "none: no human judgements yet"
            raise DomainError(f"Pairs: no human rater group {pairs_group!r}; known: {known}.")
    else:
        pairs_group = ""
    with transaction.atomic():
        job = ExportJob.objects.create(
            project=project,
            requested_by=user,
            format=format,
            pairs_group=pairs_group,
        )
        dispatch.export_job_run_enqueue(job_id=job.pk)
    return job


def pairs_groups(*, project: Project) -> list[str]:
    """The human rater groups whose votes can decide preference pairs."""
    raters = Rater.objects.filter(project=project, kind=Rater.Kind.HUMAN)
    return sorted(set(raters.values_list("group", flat=True)))


def _rows_total(project: Project) -> int:
    """The rows an export will write, approximately (four counts; pairs not included)."""
    return (
        Criterion.objects.filter(project=project).count()
        + Item.objects.filter(project=project).count()
        + Judgement.objects.filter(item__project=project).count()
        + Score.objects.filter(item__project=project).count()
    )


def export_job_run(*, job_id: int, redelivered: bool = False) -> None:
    """Run a pending export job. Safe to call twice: only the caller that claims it runs it
    (a redelivered message takes a running job only once its heartbeat has stopped)."""
    claimable = Q(status=ExportJob.Status.PENDING)
    if redelivered:
        claimable |= Q(status=ExportJob.Status.RUNNING) & (
            Q(heartbeat_at__lt=jobs.stale_cutoff()) | Q(heartbeat_at__isnull=True)
        )
    now = timezone.now()
    claimed = ExportJob.objects.filter(claimable, pk=job_id).update(
        status=ExportJob.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        rows_done=0,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        logger.info("export job %s is not pending; nothing to do", job_id)
        return
    job = ExportJob.objects.select_related("project").get(pk=job_id)
    mine = ExportJob.objects.filter(
        pk=job_id, status=ExportJob.Status.RUNNING, attempts=job.attempts
    )
    # Counted by the job, not the request that starts it (four counts of a big project).
    mine.update(rows_total=_rows_total(job.project))
    directory = Path(settings.MEDIA_ROOT) / EXPORTS_DIR / str(job.pk)
    shutil.rmtree(directory, ignore_errors=True)  # a dead attempt's leftovers
    work = directory / f"attempt-{job.attempts}"
    work.mkdir(parents=True)
    last = time.monotonic()

    def progress(rows: int) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY_S:
            mine.update(rows_done=rows)
            last = time.monotonic()

    try:
        with jobs.heartbeat(mine, every=settings.JOB_HEARTBEAT_S):
            name, rows = _write(job, work, progress)
        os.replace(work / name, directory / name)
    except Exception as exc:
        # Recorded on the row, not raised: results and errors live in our rows, and the
        # lead reads this one on the page (a rerun would fail the same way).
        logger.exception("export job %s failed", job_id)
        jobs.connection_reset_if_lost()
        shutil.rmtree(directory, ignore_errors=True)
        mine.update(
            status=ExportJob.Status.FAILED,
            error=f"The export stopped: {exc}",
            finished_at=timezone.now(),
        )
        return
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mine.update(
        status=ExportJob.Status.DONE,
        path=f"{EXPORTS_DIR}/{job.pk}/{name}",
        rows_done=rows,
        finished_at=timezone.now(),
    )


def _write(job: ExportJob, work: Path, progress: Callable[[int], None]) -> tuple[str, int]:
    """Write the job's file in `work`: its name and the rows written."""
    stem = f"{job.project.slug}-export-{job.pk}"
    if job.format == ExportJob.Format.NATIVE:
        name = f"{stem}.jsonl"
        with open(work / name, "w", encoding="utf-8") as out:
            rows = project_export_native(project=job.project, out=out, progress=progress)
        return name, rows
    pairs = None
    if job.format == ExportJob.Format.PAIRS:
        pairs = preference_pairs(project=job.project, group=job.pairs_group, consensus="majority")
    data = work / stem
    export = project_export_tidy(
        project=job.project, directory=data, format=TIDY[job.format], pairs=pairs, progress=progress
    )
    name = f"{stem}.zip"
    with zipfile.ZipFile(work / name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(data.iterdir()):
            archive.write(path, arcname=f"{stem}/{path.name}")
    return name, sum(export.rows.values())


def export_job_file(*, job: ExportJob) -> Path | None:
    """The finished export's file, or None (not finished, failed, or its file is gone)."""
    if job.status != ExportJob.Status.DONE or not job.path:
        return None
    path = Path(settings.MEDIA_ROOT) / job.path
    return path if path.is_file() else None


def export_jobs_reap() -> dict[str, int]:
    """Recover export jobs a dead worker or a down broker left behind (as `import_jobs_reap`):
    silent running jobs are queued again, or failed after JOB_MAX_ATTEMPTS; pending jobs the
    broker may not have are sent again."""
    cutoff = jobs.stale_cutoff()
    stale = ExportJob.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True), status=ExportJob.Status.RUNNING
    )
    attempts = settings.JOB_MAX_ATTEMPTS
    failed, requeued = jobs.requeue_stale(
        stale,
        max_attempts=attempts,
        failed={
            "status": ExportJob.Status.FAILED,
            "error": f"The worker running this export stopped {attempts} times (killed, or out "
            "of memory?); ask an administrator.",
            "finished_at": timezone.now(),
        },
        requeued={"status": ExportJob.Status.PENDING, "queued_at": None},
    )
    pending = ExportJob.objects.filter(jobs.unsent(), status=ExportJob.Status.PENDING)
    resent = jobs.resend_lost(requeued, pending, lambda pk: dispatch.export_job_run_send(job_id=pk))
    reaped = {"failed": failed, "requeued": len(requeued), "resent": resent}
    if failed or requeued or resent:
        logger.warning("export jobs reaped: %s", reaped)
    return reaped
