"""The reading loop the real-data parsers share: JSON Lines, CSV and JSON lists, with line (or
entry) numbers, and decoding errors turned into errors on that line.

Each reader takes a `build` function from one parsed line to whatever the parser makes of it,
and yields `(origin, built)` pairs, or `(origin, FieldError)` when the line could not be read or
`build` raised. The native format has its own decoder (`native.py`): it is the fast path.
"""

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from annotations.importers.errors import EntryOrigin, FieldError, LineError, Origin

T = TypeVar("T")
Read = Iterator[tuple[Origin, T | FieldError]]


def json_object(line: bytes) -> dict:
    """One JSON Lines line as an object; FieldError when it is not one."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise FieldError("", "not valid JSON") from None
    if not isinstance(obj, dict):
        raise FieldError("", "must be a JSON object")
    return obj


def json_lines(paths: Iterable[Path], build: Callable[[dict, Origin], T]) -> Read[T]:
    """Each non-blank line of JSON Lines files, streamed, as an object handed to `build`."""
    for path in map(Path, paths):
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                origin = Origin(path.name, number)
                try:
                    yield origin, build(json_object(line), origin)
                except FieldError as exc:
                    yield origin, exc


def csv_rows(paths: Iterable[Path], build: Callable[[dict, Origin], T]) -> Read[T]:
    """Each row of CSV files with a header, as a dict handed to `build`.

    utf-8-sig: a CSV saved by a spreadsheet starts with a byte order mark. A file that stops
    being readable (not UTF-8, a broken quote) ends with an error on the line where it broke.
    """
    for path in map(Path, paths):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            try:
                for row in reader:
                    origin = Origin(path.name, reader.line_num)
                    try:
                        yield origin, build(row, origin)
                    except FieldError as exc:
                        yield origin, exc
            except (UnicodeDecodeError, csv.Error) as exc:
                reason = "is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
                yield Origin(path.name, reader.line_num + 1), FieldError("", reason)


def load_json(path: Path) -> tuple[Any, LineError | None]:
    """A whole (small) JSON file, or an error naming the line where the JSON breaks."""
    try:
        return json.loads(path.read_bytes()), None
    except json.JSONDecodeError as exc:
        return None, LineError(Origin(path.name, exc.lineno), "", f"not valid JSON ({exc.msg})")
    except UnicodeDecodeError:
        return None, LineError(Origin(path.name, 1), "", "is not UTF-8 text")


def json_entries(entries: list, source: str, build: Callable[[Any, Origin], T]) -> Read[T]:
    """Each entry of a JSON list (numbered from 1), handed to `build`."""
    for number, entry in enumerate(entries, start=1):
        origin = EntryOrigin(source, number)
        try:
            yield origin, build(entry, origin)
        except FieldError as exc:
            yield origin, exc
