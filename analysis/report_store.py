"""A run's result rows and HTML report, stored over any earlier attempt's: the one way both
the in-process run (services) and the merge of a streamed run (streamed_runs) store a report."""

import logging
import time

from django.db import connection, transaction

from analysis import document
from analysis.engine import Report
from analysis.models import (
    AgreementResult,
    AgreementRun,
    ChartData,
    Disagreement,
    ShortfallResult,
)
from analysis.schema import DisagreementRow, column_names

logger = logging.getLogger(__name__)


def report_store(*, run: AgreementRun, report: Report) -> dict[str, float]:
    """Store a run's rows (over any earlier attempt's) and its HTML report; the timings."""
    t0 = time.perf_counter()
    _store(run, report)
    return {"store_s": time.perf_counter() - t0, "document_s": _document_store(run)}


def _document_store(run: AgreementRun) -> float:
    """The self-contained HTML report; a failure there is logged and leaves the rows (the
    page and the CSVs) intact."""
    AgreementRun.objects.filter(pk=run.pk).update(stage="HTML report")
    try:
        return document.report_document_store(run=run)
    except Exception:
        logger.exception("agreement run %s: the HTML report could not be made", run.pk)
        return 0.0


def _store(run: AgreementRun, report: Report) -> None:
    with transaction.atomic():
        # Overwrite, never add: a rerun of the run leaves exactly one set of rows.
        AgreementResult.objects.filter(run=run).delete()
        ShortfallResult.objects.filter(run=run).delete()
        Disagreement.objects.filter(run=run).delete()
        ChartData.objects.filter(run=run).delete()
        ChartData.objects.bulk_create(
            [ChartData.from_row(run=run, row=row) for row in report.charts], batch_size=2000
        )
        AgreementResult.objects.bulk_create(
            [AgreementResult.from_row(run=run, row=row) for row in report.rows], batch_size=2000
        )
        ShortfallResult.objects.bulk_create(
            [
                ShortfallResult.from_row(run=run, rank=rank, row=row)
                for rank, row in enumerate(report.shortfall, start=1)
            ],
            batch_size=2000,
        )
        _disagreements_store(run, report.disagreements)


DISAGREEMENT_FIELDS = column_names(DisagreementRow)


def _disagreements_store(run: AgreementRun, rows: list[DisagreementRow]) -> None:
    """Many rows (one per disagreeing target): COPY on PostgreSQL, bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        Disagreement.objects.bulk_create(
            [Disagreement.from_row(run=run, row=row) for row in rows], batch_size=5000
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
