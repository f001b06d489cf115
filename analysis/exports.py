"""The CSV agreement reports: agreement.csv, shortfall.csv, disagreements.csv and charts.csv
(the confusion matrices, earliest-error offsets and score curves behind the charts)."""

import csv
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from analysis.models import (
    AgreementResult,
    AgreementRun,
    ChartData,
    Disagreement,
    ShortfallResult,
)
from analysis.schema import ChartRow, DisagreementRow, ResultRow, ShortfallRow, column_names

# The CSV columns are the schema's, in its order (a shortfall row also has its rank).
AGREEMENT_COLUMNS = column_names(ResultRow)
SHORTFALL_COLUMNS = ["rank", *column_names(ShortfallRow)]
DISAGREEMENT_COLUMNS = column_names(DisagreementRow)
CHART_COLUMNS = column_names(ChartRow)
REPORT_FILES = {
    "agreement.csv": (AgreementResult, AGREEMENT_COLUMNS),
    "shortfall.csv": (ShortfallResult, SHORTFALL_COLUMNS),
    "disagreements.csv": (Disagreement, DISAGREEMENT_COLUMNS),
    "charts.csv": (ChartData, CHART_COLUMNS),
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """A CSV cell safe to open in a spreadsheet.

    Text that starts like a formula gets a leading apostrophe (OWASP "CSV injection");
    numbers stay numbers, so a negative kappa is still -0.12. Missing numbers are empty.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(round(value, 6))
    if isinstance(value, int):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _LineBuffer:
    """A file for csv.writer that keeps the last line, so CSV can be streamed line by line."""

    line = ""

    def write(self, value: str) -> None:
        self.line = value


def csv_lines(columns: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    buffer = _LineBuffer()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    yield buffer.line
    for row in rows:
        writer.writerow([cell(v) for v in row])
        yield buffer.line


def report_lines(*, run: AgreementRun, name: str) -> Iterator[str]:
    """The lines of one report file of a run, header first, read in chunks."""
    model, columns = REPORT_FILES[name]
    rows = model.objects.filter(run=run).order_by("pk").values_list(*columns)
    return csv_lines(columns, rows.iterator(chunk_size=5000))


def report_write(*, run: AgreementRun, name: str, out: TextIO) -> int:
    n = -1  # the header is not a row
    for line in report_lines(run=run, name=name):
        out.write(line)
        n += 1
    return n


def report_write_dir(*, run: AgreementRun, directory: Path) -> dict[str, int]:
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in REPORT_FILES:
        with open(directory / name, "w", encoding="utf-8", newline="") as out:
            written[name] = report_write(run=run, name=name, out=out)
    return written
