"""Every write to the annotations app goes through here."""

import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from annotations import dispatch
from annotations.audit import AuditAction, audit_record
from annotations.errors import DomainError
from annotations.importers import FORMATS, WRITER_OPTIONS
from annotations.importers.writer import ImportCounts, ImportRejected, ImportWriter
from annotations.models import ImportJob, Membership, Project, Rater
from judgeapp import jobs

logger = logging.getLogger(__name__)


def project_get_or_create(*, name: str) -> Project:
    """The project called `name`, created (with a unique slug) if it does not exist."""
    name = name.strip()
    if not name:
        raise DomainError("A project needs a name.")
    project = Project.objects.filter(name=name).first()
    if project is not None:
        return project
    base = slugify(name)[:180] or "project"
    slug, n = base, 1
    while Project.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    project, _ = Project.objects.get_or_create(name=name, defaults={"slug": slug})
    return project


GROUP_MAX_CHARS = 64  # Rater.group and Membership.rater_group


def rater_group_clean(group: str) -> str:
    """A rater group name as stored: stripped, not empty, at most GROUP_MAX_CHARS characters."""
    cleaned = group.strip() if isinstance(group, str) else ""
    if not cleaned:
        raise DomainError("A rater group needs a name.")
    if len(cleaned) > GROUP_MAX_CHARS:
        raise DomainError(f"A rater group name has at most {GROUP_MAX_CHARS} characters.")
    if not cleaned.isprintable():
        raise DomainError("A rater group name must be printable text.")
    return cleaned


def membership_set(
    *,
    project: Project,
    user: AbstractBaseUser,
    role: str,
    rater_group: str | None = None,
    actor: AbstractBaseUser | None = None,
    audit_action: AuditAction = AuditAction.MEMBERSHIP_SET,
) -> Membership:
    """Make the user a member with `role`. A new member's judgements go into `rater_group`,
    by default the project's annotator group; an existing member given another group is
    moved there with their rater (`annotator_group_move`), and keeps their group otherwise.

    A change is audited once, as `audit_action` by `actor` (a call that changes nothing is not).
    """
    if role not in Membership.Role.values:
        raise DomainError(f"Unknown role {role!r}.")
    with transaction.atomic():
        membership = Membership.objects.filter(project=project, user=user).first()
        if membership is None:
            group = rater_group_clean(rater_group or project.annotator_group)
            membership = Membership.objects.create(
                project=project, user=user, role=role, rater_group=group
            )
            changes = {"created": True, "role": role, "group": group}
        else:
            changes = {}
            if membership.role != role:
                changes["role"] = [membership.role, role]
                membership.role = role
                membership.save(update_fields=["role"])
            if rater_group is not None and rater_group.strip() != membership.rater_group:
                membership, before = _group_move(membership, rater_group)
                changes["group"] = [before, membership.rater_group]
        if changes:
            detail = {"user": user.get_username(), **changes}
            audit_record(
                actor=actor, project=project, action=audit_action, target=membership, detail=detail
            )
    return membership


def annotator_group_move(
    *, membership: Membership, group: str, actor: AbstractBaseUser | None = None
) -> Membership:
    """Move a member, and every judgement they made in the project, into another group
    (`_group_move`); audited as a group move by `actor`."""
    with transaction.atomic():
        moved, before = _group_move(membership, group)
        if moved.rater_group != before:
            detail = {"user": moved.user.get_username(), "group": [before, moved.rater_group]}
            audit_record(
                actor=actor,
                project=moved.project,
                action=AuditAction.GROUP_MOVE,
                target=moved,
                detail=detail,
            )
    return moved


def _group_move(membership: Membership, group: str) -> tuple[Membership, str]:
    """Move a member, and every judgement they made in the project, into another group.

    The group of a judgement is its rater's (`Rater.group`), so the move rewrites the
    membership and the user's rater in one transaction: every judgement of theirs is in the
    new group afterwards, none left behind, and what they submit next goes there too. A group
    that holds model raters is refused: people and models are compared, never pooled.
    Finished reports keep the groups they were computed with. Returns the membership and the
    group it was in.
    """
    group = rater_group_clean(group)
    with transaction.atomic():
        locked = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user", "project")
            .get(pk=membership.pk)
        )
        models_there = Rater.objects.filter(
            project_id=locked.project_id, group=group, kind=Rater.Kind.MODEL
        )
        if models_there.exists():
            raise DomainError(f"The group {group!r} holds model judges; choose another name.")
        before = locked.rater_group
        locked.rater_group = group
        locked.save(update_fields=["rater_group"])
        Rater.objects.filter(project_id=locked.project_id, user_id=locked.user_id).update(
            group=group
        )
    return locked, before


def items_import(
    *,
    project: Project,
    paths: list[Path],
    format: str = "native",
    progress=None,
    options: dict | None = None,
) -> ImportCounts:
    """Import files of one format into `project`, all or nothing; `options` are the format's
    own (labelstudio: config, human_group, mapping, item_id_field).

    `human_group` names the group of the export's own annotators, for the formats that take
    one (HUMAN_GROUP_FORMATS). Raises DomainError (with line-numbered messages) and changes
    nothing when any line is bad.
    """
    parser = FORMATS.get(format)
    if parser is None:
        raise DomainError(f"Unknown format {format!r}; known: {', '.join(sorted(FORMATS))}.")
    writer = ImportWriter(project, progress=progress, **WRITER_OPTIONS.get(format, {}))
    try:
        return writer.run(parser(paths, **(options or {})))
    except ImportRejected as exc:
        raise DomainError(
            f"{exc.error_count} error(s) in the import; nothing was imported.",
            exc.errors,
            exc.error_count,
        ) from None


# ---- import jobs (web and API) ---------------------------------------------------------------


def _progress_key(job_id: int) -> str:
    return f"import-job:{job_id}:lines"


def import_job_create(
    *,
    project: Project,
    user: AbstractBaseUser | None,
    file: UploadedFile,
    format: str,
    options: dict | None = None,
) -> ImportJob:
    """Store the upload and queue its import; the caller returns at once. `options` are the
    format's own, checked already (`labelstudio.options_clean`)."""
    if format not in FORMATS:
        raise DomainError(f"Unknown format {format!r}; known: {', '.join(sorted(FORMATS))}.")
    with transaction.atomic():
        job = ImportJob(
            project=project,
            created_by=user,
            format=format,
            size_bytes=file.size,
            options=options or {},
        )
        # A directory of its own keeps the upload's own name, which the line errors then show.
        job.file.save(f"{uuid.uuid4().hex}/{Path(file.name).name}", file, save=True)
        detail = {"format": format, "file": Path(file.name).name, "size_bytes": file.size}
        audit_record(
            actor=user, project=project, action=AuditAction.IMPORT_START, target=job, detail=detail
        )
        dispatch.import_job_run_enqueue(job_id=job.pk)
    return job


def import_job_run(*, job_id: int, redelivered: bool = False) -> None:
    """Run a pending import job. Safe to call twice: only the caller that claims it runs it.

    `redelivered` says the broker handed this job out again (its worker died, or the message
    outlived the visibility timeout): a running job is taken again only once its heartbeat
    has stopped, so two attempts never import at once. A dead attempt's transaction was
    rolled back with it.
    """
    claimable = Q(status=ImportJob.Status.PENDING)
    if redelivered:
        claimable |= Q(status=ImportJob.Status.RUNNING) & (
            Q(heartbeat_at__lt=jobs.stale_cutoff()) | Q(heartbeat_at__isnull=True)
        )
    now = timezone.now()
    claimed = ImportJob.objects.filter(claimable, pk=job_id).update(
        status=ImportJob.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        logger.info("import job %s is not pending; nothing to do", job_id)
        return
    job = ImportJob.objects.select_related("project", "created_by").get(pk=job_id)
    mine = ImportJob.objects.filter(
        pk=job_id, status=ImportJob.Status.RUNNING, attempts=job.attempts
    )

    def progress(lines: int) -> None:
        # The import holds its transaction open, so progress goes through the cache.
        cache.set(_progress_key(job_id), lines, timeout=24 * 3600)

    try:
        with jobs.heartbeat(mine, every=settings.JOB_HEARTBEAT_S):
            counts = items_import(
                project=job.project,
                paths=[Path(job.file.path)],
                format=job.format,
                progress=progress,
                options=job.options,
            )
    except DomainError as exc:
        errors = exc.errors or [exc.message]
        _import_job_finish(job, ImportJob.Status.FAILED, errors=errors, error_count=exc.count)
        return
    except Exception as exc:
        logger.exception("import job %s crashed", job_id)
        jobs.connection_reset_if_lost()
        errors = [f"The import stopped unexpectedly: {exc}"]
        _import_job_finish(job, ImportJob.Status.FAILED, errors=errors, error_count=1)
        raise
    _import_job_finish(
        job,
        ImportJob.Status.DONE,
        counts=counts.as_dict(),
        lines_done=counts.lines,
        notes=counts.notes,
    )


def _import_job_finish(job: ImportJob, status: str, **fields: object) -> None:
    """Store the outcome, audited as finished on behalf of the lead who started the job."""
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(
            status=status, finished_at=timezone.now(), **fields
        )
        detail = {"status": status, "error_count": fields.get("error_count", 0)}
        if "counts" in fields:
            detail["counts"] = fields["counts"]
        audit_record(
            actor=job.created_by,
            project=job.project,
            action=AuditAction.IMPORT_FINISH,
            target=job,
            detail=detail,
        )


def import_job_progress(*, job: ImportJob) -> int:
    """Lines processed so far: live from the cache while running, from the row after."""
    if job.status == ImportJob.Status.RUNNING:
        return cache.get(_progress_key(job.pk), 0)
    return job.lines_done


def import_jobs_reap() -> dict[str, int]:
    """Recover import jobs a dead worker or a down broker left behind, never stuck.

    Running jobs whose heartbeat is older than JOB_STALE_S are queued again, or failed with
    the reason after JOB_MAX_ATTEMPTS (an import that kills its worker every time); pending
    jobs whose message the broker may not have are sent again (`judgeapp.jobs.unsent`).
    """
    cutoff = jobs.stale_cutoff()
    stale = ImportJob.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True), status=ImportJob.Status.RUNNING
    )
    attempts = settings.JOB_MAX_ATTEMPTS
    failed, requeued = jobs.requeue_stale(
        stale,
        max_attempts=attempts,
        failed={
            "status": ImportJob.Status.FAILED,
            "errors": [
                f"The worker running this import stopped {attempts} times (killed, or out of "
                "memory?); nothing was imported. Split the file or ask an administrator."
            ],
            "error_count": 1,
            "finished_at": timezone.now(),
        },
        requeued={"status": ImportJob.Status.PENDING, "queued_at": None},
    )
    pending = ImportJob.objects.filter(jobs.unsent(), status=ImportJob.Status.PENDING)
    resent = jobs.resend_lost(requeued, pending, lambda pk: dispatch.import_job_run_send(job_id=pk))
    reaped = {"failed": failed, "requeued": len(requeued), "resent": resent}
    if failed or requeued or resent:
        logger.warning("import jobs reaped: %s", reaped)
    return reaped
