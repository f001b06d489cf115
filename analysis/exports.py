"""The CSV agreement reports: agreement.csv, shortfall.csv, disagreements.csv and charts.csv
(the confusion matrices, earliest-error offsets and score curves behind the charts), and the
same rows as JSON (agreement.json, ...: a list of objects keyed by the CSV's columns, numbers
as numbers, missing as null; `python -m judgeapp.report DIR` reads them into pandas)."""

import csv
import json
import math
import re
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
# The JSON files: the same rows as the CSV of the same name.
JSON_FILES = {name.removesuffix(".csv") + ".json": name for name in REPORT_FILES}
DOWNLOADS = [*REPORT_FILES, *JSON_FILES]
# A formula start at the beginning of the text or after any line break, delimiter or quote
# inside it: a reader that splits rows at a bare carriage return (or reads line by line) may
# start a cell at any of them, even in the middle of a cell that has no line break itself.
FORMULA_START = re.compile(r"(^|[\r\n,\"])(?=[=+\-@\t\r])")


def cell(value: object) -> object:
    """A CSV cell safe to open in a spreadsheet: the one rule for every CSV the app writes.

    Text that starts like a formula, at its beginning or after any line break, comma or quote
    inside it, gets an apostrophe there (OWASP "CSV injection"); the writer quotes every text cell
    (`csv_lines`), so a line break stays inside its cell. Numbers stay numbers, so a negative
    kappa is still -0.12. Missing numbers are empty.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else round(value, 6)
    if isinstance(value, int):
        return value
    return FORMULA_START.sub(r"\1'", str(value))


class _LineBuffer:
    """A file for csv.writer that keeps the last line, so CSV can be streamed line by line."""

    line = ""

    def write(self, value: str) -> None:
        self.line = value


def csv_lines(columns: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    """The lines of a CSV file: the header, then each row through `cell`.

    Every text cell is quoted (QUOTE_NONNUMERIC), numbers are not: the writer's minimal
    quoting would leave a bare carriage return unquoted, since its lines end with a newline.
    """
    buffer = _LineBuffer()
    csv.writer(buffer, lineterminator="\n").writerow(columns)  # names: never need quoting
    yield buffer.line
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    for row in rows:
        writer.writerow([cell(v) for v in row])
        yield buffer.line


def report_lines(*, run: AgreementRun, name: str) -> Iterator[str]:
    """The lines of one report file of a run, header first, read in chunks."""
    model, columns = REPORT_FILES[name]
    rows = model.objects.filter(run=run).order_by("pk").values_list(*columns)
    return csv_lines(columns, rows.iterator(chunk_size=5000))


def report_json_chunks(*, run: AgreementRun, name: str) -> Iterator[str]:
    """The text of one JSON report file of a run (`agreement.json`, ...), a row at a time.

    The rows and keys of the CSV of the same name; values as stored (no spreadsheet escaping:
    JSON is not opened as formulas), NaN and infinities as null."""
    model, columns = REPORT_FILES[JSON_FILES[name]]
    rows = model.objects.filter(run=run).order_by("pk").values_list(*columns)
    separator = "\n"
    yield "["
    for row in rows.iterator(chunk_size=5000):
        values = {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        yield separator + json.dumps(values, ensure_ascii=False, default=str)
        separator = ",\n"
    yield "\n]\n"


def _json_value(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_chunks(*, run: AgreementRun, name: str) -> Iterator[str]:
    """Any download of a run by name: a CSV's lines or a JSON file's chunks."""
    if name in JSON_FILES:
        return report_json_chunks(run=run, name=name)
    return report_lines(run=run, name=name)


def report_write(*, run: AgreementRun, name: str, out: TextIO) -> int:
    """Write one CSV or JSON file; returns its rows."""
    n = -1 if name in REPORT_FILES else -2  # the header, or the list's brackets, are no row
    for chunk in report_chunks(run=run, name=name):
        out.write(chunk)
        n += 1
    return n


def report_write_dir(*, run: AgreementRun, directory: Path) -> dict[str, int]:
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in DOWNLOADS:
        with open(directory / name, "w", encoding="utf-8", newline="") as out:
            written[name] = report_write(run=run, name=name, out=out)
    return written
