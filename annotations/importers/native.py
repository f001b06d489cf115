"""The native JSON Lines format: one object per line, `type` first (see README, "Import format").

Only shape is checked here (types of fields, required fields); whether a value fits its
criterion, an item exists or a step is in range is the writer's job, since it needs the database.
"""

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from annotations.importers.records import (
    CriterionRecord,
    ItemRecord,
    JudgementRecord,
    LineError,
    Origin,
    Record,
)

ITEM_TEXT_FIELDS = ("response", "response_a", "response_b", "reference_answer")


class FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _require(obj: dict, name: str, kind: type | tuple[type, ...], what: str) -> Any:
    if name not in obj:
        raise FieldError(name, "is required")
    return _check(obj, name, kind, what)


def _optional(obj: dict, name: str, kind: type | tuple[type, ...], what: str, default: Any) -> Any:
    if obj.get(name) is None:
        return default
    return _check(obj, name, kind, what)


def _check(obj: dict, name: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = obj[name]
    # bool is an int subclass in Python; a JSON true is never a number or an index here.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise FieldError(name, f"must be {what}, got {json.dumps(value)[:60]}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _criterion(obj: dict, origin: Origin) -> CriterionRecord:
    return CriterionRecord(
        origin=origin,
        name=_require(obj, "name", str, "a string"),
        target=_require(obj, "target", str, "a string"),
        scale=_require(obj, "scale", str, "a string"),
        labels=_optional(obj, "labels", list, "a list", []),
        min_value=_optional(obj, "min", (int, float), "a number", None),
        max_value=_optional(obj, "max", (int, float), "a number", None),
        error_labels=_optional(obj, "error_labels", list, "a list", []),
    )


def _item(obj: dict, origin: Origin) -> ItemRecord:
    steps = _optional(obj, "steps", list, "a list of strings", [])
    for i, step in enumerate(steps):
        if not isinstance(step, str):
            raise FieldError("steps", f"step {i} must be a string")
    external_id = _require(obj, "id", (str, int), "a string")
    record = ItemRecord(
        origin=origin,
        external_id=str(external_id),
        kind=_require(obj, "kind", str, "a string"),
        prompt=_optional(obj, "prompt", str, "a string", ""),
        steps=steps,
        meta=_optional(obj, "meta", dict, "an object", {}),
    )
    for name in ITEM_TEXT_FIELDS:
        setattr(record, name, _optional(obj, name, str, "a string", None))
    return record


def _judgement(obj: dict, origin: Origin) -> JudgementRecord:
    """A judgement line: the most common line by far, so well-formed ones take a short cut."""
    get = obj.get
    item, criterion, rater = get("item"), get("criterion"), get("rater")
    kind, group, step = get("rater_kind"), get("rater_group"), get("step")
    rationale, time_spent, meta = get("rationale"), get("time_spent_ms"), get("meta")
    model, version, parameters = (
        get("rater_model"),
        get("rater_prompt_version"),
        get("rater_parameters"),
    )
    # Exact types: json.loads makes no subclasses, and `type(x) is int` leaves out booleans.
    if (
        type(item) is str
        and type(criterion) is str
        and type(rater) is str
        and "value" in obj
        and (kind is None or type(kind) is str)
        and (group is None or type(group) is str)
        and (step is None or type(step) is int)
        and (rationale is None or type(rationale) is str)
        and (time_spent is None or (type(time_spent) is int and time_spent >= 0))
        and (meta is None or type(meta) is dict)
        and (model is None or type(model) is str)
        and (version is None or type(version) is str)
        and (parameters is None or type(parameters) is dict)
    ):
        return JudgementRecord(
            origin=origin,
            item=item,
            criterion=criterion,
            rater=rater,
            rater_kind="human" if kind is None else kind,
            rater_group="" if group is None else group,
            value=obj["value"],
            step=step,
            rationale="" if rationale is None else rationale,
            time_spent_ms=time_spent,
            meta={} if meta is None else meta,
            rater_model="" if model is None else model,
            rater_prompt_version="" if version is None else version,
            rater_parameters={} if parameters is None else parameters,
        )
    return _checked_judgement(obj, origin)


def _checked_judgement(obj: dict, origin: Origin) -> JudgementRecord:
    """Field by field, to name the first bad field; the same record as the short cut."""
    if "value" not in obj:
        raise FieldError("value", "is required")
    step = _optional(obj, "step", int, "a 0-based step index", None)
    time_spent = _optional(obj, "time_spent_ms", int, "a whole number of milliseconds", None)
    if time_spent is not None and time_spent < 0:
        raise FieldError("time_spent_ms", "must not be negative")
    item = _require(obj, "item", (str, int), "an item id")
    return JudgementRecord(
        origin=origin,
        item=str(item),
        criterion=_require(obj, "criterion", str, "a criterion name"),
        rater=_require(obj, "rater", str, "a rater name"),
        rater_kind=_optional(obj, "rater_kind", str, "human or model", "human"),
        rater_group=_optional(obj, "rater_group", str, "a group name", ""),
        value=obj["value"],
        step=step,
        rationale=_optional(obj, "rationale", str, "a string", ""),
        time_spent_ms=time_spent,
        meta=_optional(obj, "meta", dict, "an object", {}),
        rater_model=_optional(obj, "rater_model", str, "a string", ""),
        rater_prompt_version=_optional(obj, "rater_prompt_version", str, "a string", ""),
        rater_parameters=_optional(obj, "rater_parameters", dict, "an object", {}),
    )


BUILDERS = {"criterion": _criterion, "item": _item, "judgement": _judgement}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def _unstorable(obj: dict) -> str | None:
    for text in _strings(obj):
        if "\x00" in text:
            return "contains a NUL character (\\u0000), which the database cannot store"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (e.g. \\ud800), which is not valid Unicode text"
    return None


def parse_lines(lines: Iterable[bytes | str], source: str = "") -> Iterator[Record]:
    """Yield one record (or one LineError) per non-blank line."""
    for number, line in enumerate(lines, start=1):
        # A line that starts with `{"` is one json.loads would decode as UTF-8 (its encoding
        # detection only tells UTF-16 and 32 by BOMs and NUL bytes); decoding it here, with
        # the same error handler, skips that detection on every line and the blank check.
        utf8 = type(line) is bytes and line.startswith(b'{"')
        if not utf8 and not line.strip():
            continue
        origin = Origin(source, number)
        try:
            obj = json.loads(line.decode("utf-8", "surrogatepass") if utf8 else line)
        except json.JSONDecodeError as exc:
            yield LineError(origin, "", f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except UnicodeDecodeError:
            yield LineError(origin, "", "is not UTF-8 text")
            continue
        if not isinstance(obj, dict):
            yield LineError(origin, "", "must be a JSON object")
            continue
        # Only an escape (or a surrogate encoded as bytes) can smuggle in text that
        # PostgreSQL cannot store; look closer only then.
        if (b"\\u" in line or b"\xed" in line) if type(line) is bytes else True:
            problem = _unstorable(obj)
            if problem:
                yield LineError(origin, "", problem)
                continue
        kind = obj.get("type")
        # A list or object as the type is unhashable: it is an unknown type, not a crash.
        builder = BUILDERS.get(kind) if type(kind) is str else None
        if builder is None:
            yield LineError(origin, "type", f"must be one of {', '.join(BUILDERS)}, got {kind!r}")
            continue
        try:
            yield builder(obj, origin)
        except FieldError as exc:
            yield LineError(origin, exc.field, exc.message)


def parse(paths: list[Path]) -> Iterator[Record]:
    """Stream the records of native JSONL files, one line at a time (never the whole file)."""
    for path in paths:
        # Bytes, not text: json.loads decodes each line, so one bad byte is one bad line.
        with open(path, "rb") as handle:
            yield from parse_lines(handle, source=Path(path).name)
