"""The reading loop the real-data parsers share: JSON Lines, CSV and JSON lists, with line (or
entry) numbers, and decoding errors turned into errors on that line.

Each reader takes a `build` function from one parsed line to whatever the parser makes of it,
and yields `(origin, built)` pairs, or `(origin, FieldError)` when the line could not be read or
`build` raised. The native format has its own decoder (`native.py`): it is the fast path.
"""

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from annotations.importers.errors import EntryOrigin, FieldError, LineError, Origin
from annotations.importers.rules import MAX_DEPTH, TOO_DEEP, json_problem

T = TypeVar("T")
Read = Iterator[tuple[Origin, T | FieldError]]


def json_object(line: bytes) -> dict:
    """One JSON Lines line as an object; FieldError when it is not one, or when it holds NaN,
    an infinity or nesting no field of any format needs (see `rules.json_problem`)."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise FieldError("", "not valid JSON") from None
    except RecursionError:  # json's C decoder stops at Python's recursion limit
        raise FieldError("", TOO_DEEP) from None
    except ValueError:  # an integer of more than 4,300 digits (Python's limit)
        raise FieldError("", "has a number too long to read") from None
    if not isinstance(obj, dict):
        raise FieldError("", "must be a JSON object")
    problem = json_problem(obj)
    if problem:
        raise FieldError("", problem)
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
    """A whole (small) JSON file, or an error naming the line where the JSON breaks (or
    where it nests too deeply, or the first line holding NaN or an infinity)."""
    data = path.read_bytes()
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        return None, LineError(Origin(path.name, exc.lineno), "", f"not valid JSON ({exc.msg})")
    except UnicodeDecodeError:
        return None, LineError(Origin(path.name, 1), "", "is not UTF-8 text")
    except RecursionError:
        return None, LineError(Origin(path.name, deep_line(data)), "", TOO_DEEP)
    except ValueError:
        return None, LineError(Origin(path.name, 1), "", "has a number too long to read")
    problem = json_problem(value)
    if problem == TOO_DEEP:
        return None, LineError(Origin(path.name, deep_line(data)), "", problem)
    if problem:
        return None, LineError(Origin(path.name, _non_finite_line(data)), "", problem)
    return value, None


NON_FINITE = re.compile(rb"\b(NaN|Infinity)\b|\d[eE]\+?\d{3,}")
OPEN, CLOSE, QUOTE, BACKSLASH, NEWLINE = b"[{", b"]}", ord('"'), ord("\\"), ord("\n")


def deep_line(data: bytes) -> int:
    """The 1-based line of JSON text where nesting first goes deeper than MAX_DEPTH: a
    scanner of brackets outside strings, run only when a file is too deep to decode."""
    depth, line, in_string, escaped = 0, 1, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == BACKSLASH:
                escaped = True
            elif byte == QUOTE:
                in_string = False
        elif byte == QUOTE:
            in_string = True
        elif byte in OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif byte in CLOSE:
            depth -= 1
        if byte == NEWLINE:
            line += 1
    return line


def _non_finite_line(data: bytes) -> int:
    """The line of the first NaN, Infinity or huge exponent (a best guess: it may be in a
    string, in which case the decoded value would not have held one there)."""
    found = NON_FINITE.search(data)
    return data.count(b"\n", 0, found.start()) + 1 if found else 1


def json_entries(entries: list, source: str, build: Callable[[Any, Origin], T]) -> Read[T]:
    """Each entry of a JSON list (numbered from 1), handed to `build`."""
    for number, entry in enumerate(entries, start=1):
        origin = EntryOrigin(source, number)
        try:
            yield origin, build(entry, origin)
        except FieldError as exc:
            yield origin, exc
