"""The native JSON Lines format: one object per line, `type` first. `records.py` defines it.

Two ways through a line, the same record out of both. The fast one: msgspec decodes a
well-formed line straight into its record type. Every line it refuses (and every line with a
`\\u` escape, which may hide text the database cannot store) takes the careful one: `json.loads`,
a check for NUL characters and lone surrogates, nulls read as absent fields and numeric ids as
text, then the same record types through `msgspec.convert`, whose refusal is turned into an
error naming the field.

Only shape is checked here (types of fields, required fields); whether a value fits its
criterion, an item exists or a step is in range is the writer's job, since it needs the database.
"""

import json
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from annotations.importers.errors import FieldError, LineError, Origin
from annotations.importers.records import (
    CriterionRecord,
    ItemRecord,
    JudgementRecord,
    Line,
    Record,
    ScoreRecord,
)
from annotations.importers.rules import TOO_DEEP, json_problem

DECODER = msgspec.json.Decoder(Line)
TYPES: dict[str, type[Line]] = {
    "criterion": CriterionRecord,
    "item": ItemRecord,
    "judgement": JudgementRecord,
    "score": ScoreRecord,
}
ID_FIELDS = {"item": "id", "judgement": "item", "score": "item"}  # ids that may be given as numbers
MISSING = re.compile(r"Object missing required field `(\w+)`")
AT_MOST = re.compile(r"<= (\d+)")
WHERE = re.compile(r" - at `\$\.(\w+)(?:\[(\d+)\])?")


def parse(paths: list[Path]) -> Iterator[Record]:
    """Stream the records of native JSONL files, one line at a time (never the whole file)."""
    for path in paths:
        # Bytes, not text: each line is decoded on its own, so one bad byte is one bad line.
        with open(path, "rb") as handle:
            yield from parse_lines(handle, source=Path(path).name)


def parse_lines(lines: Iterable[bytes | str], source: str = "") -> Iterator[Record]:
    """Yield one record (or one LineError) per non-blank line."""
    decode = DECODER.decode
    for number, line in enumerate(lines, start=1):
        if type(line) is bytes and b"\\u" not in line:
            try:
                record = decode(line)
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                pass  # the careful way names what is wrong
            else:
                record.origin = Origin(source, number)
                yield record
                continue
        record = read_line(line, Origin(source, number))
        if record is not None:
            yield record


def read_line(line: bytes | str, origin: Origin) -> Record | None:
    """The careful way through one line: its record, its error, or None when it is blank."""
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return LineError(origin, "", f"not valid JSON ({exc.msg} at column {exc.colno})")
    except UnicodeDecodeError:
        return LineError(origin, "", "is not UTF-8 text")
    except RecursionError:  # json's C decoder stops at Python's recursion limit
        return LineError(origin, "", TOO_DEEP)
    except ValueError:  # an integer of more than 4,300 digits (Python's limit)
        return LineError(origin, "", "has a number too long to read")
    return read_object(obj, origin)


def read_object(obj: Any, origin: Origin) -> Record:
    """A decoded JSON value as a record, or the error naming what is wrong with it: the rules
    of one line, for callers that have JSON already (the bulk judgement API)."""
    if not isinstance(obj, dict):
        return LineError(origin, "", "must be a JSON object")
    if json_problem(obj) == TOO_DEEP:  # before anything below walks it recursively
        return LineError(origin, "", TOO_DEEP)
    problem = _unstorable(obj)
    if problem:
        return LineError(origin, "", problem)
    non_finite = _non_finite_field(obj)
    if non_finite is not None:
        message = "holds a number out of range (NaN or infinite), which cannot be stored"
        return LineError(origin, non_finite, message)
    kind = obj.get("type")
    # A list or object as the type is unhashable: it is an unknown type, not a crash.
    record_type = TYPES.get(kind) if type(kind) is str else None
    if record_type is None:
        return LineError(origin, "type", f"must be one of {', '.join(TYPES)}, got {kind!r}")
    try:
        return _convert(obj, record_type, origin)
    except FieldError as exc:
        return LineError(origin, exc.field, exc.message)


def _convert(obj: dict, record_type: type[Line], origin: Origin) -> Line:
    fields = {f.encode_name: f for f in msgspec.structs.fields(record_type) if f.name != "origin"}
    # Unknown fields are ignored; null in an optional field means the field is absent.
    wire = {
        name: value
        for name, value in obj.items()
        if name in fields and (value is not None or fields[name].required)
    }
    wire["type"] = obj["type"]
    id_field = ID_FIELDS.get(obj["type"])
    if type(wire.get(id_field)) is int:
        wire[id_field] = str(wire[id_field])
    try:
        record = msgspec.convert(wire, record_type, strict=True)
    except msgspec.ValidationError as exc:
        raise _field_error(str(exc), wire, record_type) from None
    record.origin = origin
    return record


def _field_error(message: str, wire: dict, record_type: type[Line]) -> FieldError:
    """msgspec's refusal in the words of the format: which field, and what it must be."""
    missing = MISSING.match(message)
    if missing:
        return FieldError(missing[1], "is required")
    where = WHERE.search(message)
    name, index = where[1], where[2]
    if index is not None:  # an element of a list of strings: only steps has a typed element
        return FieldError(name, f"step {index} must be a string")
    if ">= 0" in message:
        return FieldError(name, "must not be negative")
    at_most = AT_MOST.search(message)
    if at_most:
        return FieldError(name, f"must be at most {at_most[1]}")
    what = record_type.DESCRIPTIONS[name]
    return FieldError(name, f"must be {what}, got {json.dumps(wire[name])[:60]}")


def _scalars(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _scalars(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _scalars(inner)
    else:
        yield value


def _non_finite_field(obj: dict) -> str | None:
    """The first field holding NaN or an infinity (json.loads reads NaN, Infinity and 1e999),
    which a JSON column cannot store. Not `value`: the value rule rejects those itself."""
    for name, value in obj.items():
        if name != "value" and any(
            type(x) is float and not math.isfinite(x) for x in _scalars(value)
        ):
            return name
    return None


def _unstorable(obj: dict) -> str | None:
    for text in _scalars(obj):
        if type(text) is not str:
            continue
        if "\x00" in text:
            return "contains a NUL character (\\u0000), which the database cannot store"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (e.g. \\ud800), which is not valid Unicode text"
    return None
