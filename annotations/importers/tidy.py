"""The tidy data set `export_data --format parquet|jsonl` writes, read back (`--format tidy`):
importing an export into a fresh project reproduces the project.

Give the export's directory (or its files): `criteria`, `items`, `judgements` and `scores`
tables, each `.jsonl` or `.parquet` (the columns of `annotations.exports_tidy`); the card and
`preference_pairs` are derived and skipped. Each row becomes the native line it stands for and
goes through the native parser's careful path (`native.read_line`), so it is checked exactly
as a native line is; the JSON-text columns (labels, value_json, meta, parameters) are decoded
first, an error naming the row and column when one is not JSON.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from annotations.importers.errors import EntryOrigin, LineError, Origin
from annotations.importers.native import read_line
from annotations.importers.records import Record

TABLES = ("criteria", "items", "judgements", "scores")
SUFFIXES = (".jsonl", ".parquet")
JSON_TEXT = {
    "criteria": ("labels", "error_labels"),
    "items": ("meta",),
    "judgements": ("value_json", "meta", "parameters"),
    "scores": (),
}
# tidy column -> native field, per table (columns not named are dropped)
RENAMES = {
    "criteria": {"criterion": "name", "target": "target", "scale": "scale", "labels": "labels",
                 "min": "min", "max": "max", "error_labels": "error_labels"},
    "items": {"item": "id", "kind": "kind", "prompt": "prompt", "response": "response",
              "response_a": "response_a", "response_b": "response_b",
              "reference_answer": "reference_answer", "steps": "steps", "meta": "meta"},
    "judgements": {"item": "item", "step": "step", "criterion": "criterion", "rater": "rater",
                   "kind": "rater_kind", "group": "rater_group", "value_json": "value",
                   "rationale": "rationale", "time_spent_ms": "time_spent_ms", "meta": "meta",
                   "model": "rater_model", "prompt_version": "rater_prompt_version",
                   "parameters": "rater_parameters"},
    "scores": {"item": "item", "step": "step", "criterion": "criterion", "rater": "rater",
               "group": "rater_group", "model": "rater_model", "score": "score"},
}  # fmt: skip
TYPES = {"criteria": "criterion", "items": "item", "judgements": "judgement", "scores": "score"}


def parse(paths: list[Path]) -> Iterator[Record]:
    """The tables' records: criteria, then items, judgements and scores."""
    files: dict[str, list[Path]] = {table: [] for table in TABLES}
    for path in map(Path, paths):
        candidates = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            table = candidate.name.split(".", 1)[0]
            if table in files and candidate.suffix in SUFFIXES:
                files[table].append(candidate)
    if not any(files.values()):
        name = Path(paths[0]).name if paths else "tidy"
        message = "no tables: expected criteria, items, judgements or scores .jsonl|.parquet"
        yield LineError(Origin(name, 1), "", message)
        return
    for table in TABLES:
        for path in files[table]:
            for origin, row in _rows(path):
                if isinstance(row, LineError):
                    yield row
                    continue
                record = _record(table, row, origin)
                if record is not None:
                    yield record


def _rows(path: Path) -> Iterator[tuple[Origin, dict | LineError]]:
    if path.suffix == ".parquet":
        try:
            number = 0
            for batch in pq.ParquetFile(path).iter_batches(batch_size=5000):
                for row in batch.to_pylist():
                    number += 1
                    yield EntryOrigin(path.name, number), row
        except (pa.ArrowException, OSError) as exc:
            origin = Origin(path.name, 1)
            yield origin, LineError(origin, "", f"is not a readable Parquet file ({exc})")
        return
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            origin = Origin(path.name, number)
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                yield origin, LineError(origin, "", "not valid JSON")
                continue
            if not isinstance(row, dict):
                yield origin, LineError(origin, "", "must be a JSON object")
            else:
                yield origin, row


def _record(table: str, row: dict, origin: Origin) -> Record | None:
    line: dict[str, Any] = {"type": TYPES[table]}
    for column, name in RENAMES[table].items():
        if column not in row:
            continue
        value = row[column]
        if column in JSON_TEXT[table] and value is not None:
            if not isinstance(value, str):
                return LineError(origin, column, "must be JSON text")
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                return LineError(origin, column, "is not valid JSON text")
        line[name] = value
    try:
        text = json.dumps(line, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        return LineError(origin, "", "holds a value JSON cannot keep")
    return read_line(text, origin)
