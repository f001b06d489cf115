"""A report's slice as a query: `key=value` from a report row or chart, turned into a filter.

The report (analysis/engine/slicing.py) names its slices `all=all`, `<meta key>=<value>` (the
item meta value as `str(value)`), `step_position=<bin>` and `solution_length=<bin>`, bins
written `3`, `3-4` or `12+`. This states the same names as database filters, so a link from
a report row lists the targets the row was computed on. (annotations never imports analysis:
the dependency points the other way, so the names are restated here and tested against it.)
"""

import math
import re
from dataclasses import dataclass

from django.db.models import JSONField, Q, Value
from django.db.models.fields.json import KeyTransform, KeyTransformExact

STEP_POSITION = "step_position"
SOLUTION_LENGTH = "solution_length"
_BIN = re.compile(r"^(\d{1,9})(?:(\+)|-(\d{1,9}))?$")
_INT = re.compile(r"^-?\d{1,18}$")
MAX_KEY = 200


class SliceError(ValueError):
    """A slice that is not `key=value`; the message says why."""


@dataclass(frozen=True)
class Slice:
    key: str
    value: str

    @classmethod
    def parse(cls, text: str) -> "Slice | None":
        """`key=value` (split at the first `=`) -> Slice; "" or `all=all` -> None (every target)."""
        text = text.strip()
        if not text or text in ("all", "all=all"):
            return None
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SliceError("a slice is key=value, e.g. turn=2 or category=math")
        if len(key) > MAX_KEY:
            raise SliceError(f"a meta key has at most {MAX_KEY} characters")
        if key in (STEP_POSITION, SOLUTION_LENGTH) and _BIN.match(value.strip()) is None:
            raise SliceError(f"{key} takes a bin: 3, 3-4 or 12+")
        return cls(key, value.strip())

    def __str__(self) -> str:
        return f"{self.key}={self.value}"

    def q(self, *, item: str = "item__", step: str | None = "step__") -> Q:
        """The filter, with `item` the path to the item ("" on Item itself) and `step` the path
        to the step (None where there is none: a step-position slice then matches nothing)."""
        if self.key == STEP_POSITION:
            if step is None:
                return Q(pk__in=[])
            low, high = _bin(self.value)
            return Q(**{f"{step}index__gte": low, f"{step}index__lte": high})
        if self.key == SOLUTION_LENGTH:
            low, high = _bin(self.value)
            return Q(**{f"{item}n_steps__gte": low, f"{item}n_steps__lte": high})
        return meta_q(self.key, self.value, field=f"{item}meta")


def _bin(text: str) -> tuple[int, int]:
    match = _BIN.match(text.strip())
    assert match is not None  # checked in parse
    low = int(match.group(1))
    if match.group(2):
        return low, 2**31 - 1
    return low, int(match.group(3)) if match.group(3) else low


def meta_q(key: str, text: str, *, field: str = "meta") -> Q:
    """Items whose meta `key` reads as `text` the way a report labels it (`str(value)`): the
    string itself, or the number or boolean whose `str` it is (`1`, `2.5`, `True`)."""
    candidates: list[object] = [text]
    if _INT.match(text):
        candidates.append(int(text))
    else:
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None and math.isfinite(number) and str(number) == text:
            candidates.append(number)
    if text in ("True", "False"):
        candidates.append(text == "True")
    query = Q()
    for candidate in candidates:
        # A lookup object, not `meta__<key>`: a key holding "__" must stay one key.
        query |= Q(KeyTransformExact(KeyTransform(key, field), Value(candidate, JSONField())))
    return query
