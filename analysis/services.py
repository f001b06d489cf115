"""Agreement runs: start, execute (idempotently, from a Celery task), reap the stuck ones."""

import logging
import math
import time

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from analysis.engine import ReportConfig, criterion_report, n_slices
from analysis.models import AgreementResult, AgreementRun, Disagreement, ShortfallResult
from analysis.selectors import criterion_data_load
from annotations import selectors as annotations_selectors
from annotations.errors import DomainError
from annotations.models import Project

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MAX_BOOT = 20_000


def _config_clean(project: Project, config: dict) -> dict:
    known = set(project.criteria.values_list("name", flat=True))
    criteria = list(config.get("criteria") or [])
    unknown = [name for name in criteria if name not in known]
    if unknown:
        raise DomainError(f"Unknown criteria: {', '.join(unknown)}.")
    n_boot = int(config.get("n_boot", 1000))
    if not 0 <= n_boot <= MAX_BOOT:
        raise DomainError(f"Bootstrap resamples must be between 0 and {MAX_BOOT}.")
    seed = int(config.get("seed", 0))
    if seed < 0:
        raise DomainError("The seed must not be negative.")
    slice_keys = [str(k).strip() for k in config.get("slice_keys") or [] if str(k).strip()]
    return {
        "criteria": criteria,
        "slice_keys": slice_keys,
        "reference_group": config.get("reference_group") or None,
        "n_boot": n_boot,
        "seed": seed,
        "min_slice_items": int(config.get("min_slice_items", 30)),
    }


def agreement_run_start(
    *, project: Project, user: AbstractBaseUser | None, config: dict
) -> AgreementRun:
    """Create a run and queue it; the caller returns at once."""
    from analysis.tasks import agreement_run_task

    with transaction.atomic():
        run = AgreementRun.objects.create(
            project=project, created_by=user, config=_config_clean(project, config)
        )
        agreement_run_task.delay_on_commit(run.pk)
    return run


def _claim(run_id: int, redelivered: bool) -> bool:
    claimable = [AgreementRun.Status.PENDING]
    if redelivered:
        claimable.append(AgreementRun.Status.RUNNING)
    now = timezone.now()
    return bool(
        AgreementRun.objects.filter(pk=run_id, status__in=claimable).update(
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
    try:
        timings = _compute_and_store(run)
    except Exception as exc:
        logger.exception("agreement run %s failed", run_id)
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
    config = run.config
    report_config = ReportConfig(
        reference_group=config.get("reference_group"),
        slice_keys=tuple(config.get("slice_keys", ())),
        n_boot=config.get("n_boot", 1000),
        seed=config.get("seed", 0),
        min_slice_items=config.get("min_slice_items", 30),
    )
    criteria = list(run.project.criteria.all())
    if config.get("criteria"):
        criteria = [c for c in criteria if c.name in config["criteria"]]
    timings = {"load_s": 0.0, "compute_s": 0.0}
    started = time.perf_counter()
    items = annotations_selectors.item_index(project=run.project)
    raters = annotations_selectors.rater_index(project=run.project)
    timings["load_s"] += time.perf_counter() - started

    loaded = []
    for criterion in criteria:
        t0 = time.perf_counter()
        data = criterion_data_load(criterion=criterion, items=items, raters=raters)
        timings["load_s"] += time.perf_counter() - t0
        loaded.append(data)
    total = sum(n_slices(d, report_config.slice_keys) for d in loaded) or 1
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        AgreementRun.objects.filter(pk=run.pk).update(
            progress=done / total, heartbeat_at=timezone.now()
        )

    results, shortfall, disagreements = [], [], []
    for data in loaded:
        AgreementRun.objects.filter(pk=run.pk).update(stage=f"criterion {data.name}")
        t0 = time.perf_counter()
        report = criterion_report(data, report_config, progress=tick)
        timings["compute_s"] += time.perf_counter() - t0
        results.extend(report.rows)
        shortfall.extend(report.shortfall)
        disagreements.extend(report.disagreements)

    t0 = time.perf_counter()
    with transaction.atomic():
        # Overwrite, never add: a rerun of the run leaves exactly one set of rows.
        AgreementResult.objects.filter(run=run).delete()
        ShortfallResult.objects.filter(run=run).delete()
        Disagreement.objects.filter(run=run).delete()
        AgreementResult.objects.bulk_create(
            [
                AgreementResult(
                    run=run,
                    **{k: _finite(v) for k, v in row.__dict__.items()},
                )
                for row in results
            ],
            batch_size=2000,
        )
        ShortfallResult.objects.bulk_create(
            [
                ShortfallResult(
                    run=run, rank=rank, **{k: _finite(v) for k, v in row.__dict__.items()}
                )
                for rank, row in enumerate(shortfall, start=1)
            ],
            batch_size=2000,
        )
        _disagreements_store(run, disagreements)
    timings["store_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - started
    return {k: round(v, 3) for k, v in timings.items()}


DISAGREEMENT_FIELDS = [
    "criterion", "item", "step", "reference_group", "judge_group", "reference_label",
    "judge_label",
]  # fmt: skip


def _disagreements_store(run: AgreementRun, rows: list) -> None:
    """Many rows (one per disagreeing target): COPY on PostgreSQL, bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        Disagreement.objects.bulk_create(
            [Disagreement(run=run, **row.__dict__) for row in rows], batch_size=5000
        )
        return
    table = Disagreement._meta.db_table
    columns = ", ".join(["run_id", *(f'"{name}"' for name in DISAGREEMENT_FIELDS)])
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([run.pk, *(getattr(row, name) for name in DISAGREEMENT_FIELDS)])


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def agreement_runs_reap(*, stale_seconds: int = 600) -> dict[str, int]:
    """Runs whose worker stopped sending heartbeats: queued again, or failed after
    MAX_ATTEMPTS, never left "running" forever."""
    from analysis.tasks import agreement_run_task

    cutoff = timezone.now() - timezone.timedelta(seconds=stale_seconds)
    stale = AgreementRun.objects.filter(status=AgreementRun.Status.RUNNING, heartbeat_at__lt=cutoff)
    failed = stale.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=AgreementRun.Status.FAILED,
        error=f"The worker stopped responding {MAX_ATTEMPTS} times; giving up.",
        finished_at=timezone.now(),
    )
    requeued = 0
    for run_id in stale.filter(attempts__lt=MAX_ATTEMPTS).values_list("pk", flat=True):
        with transaction.atomic():
            if AgreementRun.objects.filter(
                pk=run_id, status=AgreementRun.Status.RUNNING, heartbeat_at__lt=cutoff
            ).update(status=AgreementRun.Status.PENDING, stage="requeued after a lost worker"):
                requeued += 1
                agreement_run_task.delay_on_commit(run_id)
    return {"failed": failed, "requeued": requeued}
