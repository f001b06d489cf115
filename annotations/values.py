"""Which value fits which criterion, and the number it is stored as.

One rule for every way a judgement arrives: an import line, a gold item's expected labels and
an annotator's submission all ask `ValueRule.check`. A value fits a nominal, ordinal or
pairwise criterion when it equals one of its labels compared as JSON (`4` is not `"4"`, `1` is
not `true`), and its code is the label's position; it fits an interval criterion when it is a
finite number (not a boolean) within `min..max`, and its code is the number itself.
"""

import json
import math
from dataclasses import dataclass, field
from typing import Any

from annotations.models import PAIRWISE_LABELS, Criterion

INTERVAL = Criterion.Scale.INTERVAL
# The most grades a whole-number scale may have to be read as categories (1..10, 0..10); a
# wider one (0..100) is an interval scale: category tables there cost k x k per target and say
# little. The judgebench importer and the reports (analysis/loading.py) both follow it.
MAX_SCALE_CATEGORIES = 11


class ValueRejected(ValueError):
    """The value does not fit the criterion; `message` says why, naming the value only."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def describe(value: Any) -> str:
    """A value as JSON, cut to 40 characters, for messages."""
    return json.dumps(value, allow_nan=True)[:40]


@dataclass(frozen=True, slots=True)
class ValueRule:
    """How values fit one criterion. Build once per criterion, then check many values."""

    scale: str
    labels: tuple = ()  # the allowed values in order (a, b, tie for pairwise); () for interval
    min_value: float | None = None
    max_value: float | None = None
    # JSON text of each label -> its position.
    codes: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    # The labels that are strings or integers (not bool, not float), keyed by the value itself
    # with their code and JSON text: most values are found here without serialising them.
    exact: dict[str | int, tuple[float, str]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, criterion: Criterion) -> "ValueRule":
        """The rule of a criterion."""
        return cls.build(
            scale=criterion.scale,
            labels=criterion.value_labels,
            min_value=criterion.min_value,
            max_value=criterion.max_value,
        )

    @classmethod
    def build(
        cls,
        *,
        scale: str,
        labels: list | tuple = (),
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> "ValueRule":
        """The rule of a criterion not stored yet (a parser's): pairwise takes a, b, tie."""
        if scale == INTERVAL:
            return cls(INTERVAL, (), min_value, max_value)
        labels = tuple(PAIRWISE_LABELS if scale == Criterion.Scale.PAIRWISE else labels)
        return cls(
            scale=scale,
            labels=labels,
            codes={json.dumps(label): i for i, label in enumerate(labels)},
            exact={
                label: (float(i), json.dumps(label))
                for i, label in enumerate(labels)
                if type(label) is str or type(label) is int
            },
        )

    def check(self, value: Any) -> tuple[float, str]:
        """The value's code and its JSON text; raises ValueRejected when it does not fit."""
        if self.scale == INTERVAL:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueRejected(f"{describe(value)} is not a number")
            # An int is compared as it is: math.isfinite(10**400) would raise OverflowError.
            finite = type(value) is not float or math.isfinite(value)
            if not finite or not self.min_value <= value <= self.max_value:
                raise ValueRejected(
                    f"{describe(value)} is outside {self.min_value:g} to {self.max_value:g}"
                )
            # For a finite int or float, repr is exactly what json.dumps writes.
            return float(value), repr(value) if type(value) in (int, float) else json.dumps(value)
        known = self.exact.get(value) if type(value) in (str, int) else None
        if known is not None:
            return known
        text = json.dumps(value, allow_nan=True)
        code = self.codes.get(text)
        if code is None:
            allowed = ", ".join(describe(label) for label in self.labels)
            raise ValueRejected(f"{describe(value)} is not one of {allowed}")
        return float(code), text

    def code(self, value: Any) -> float:
        """The value's code; raises ValueRejected when it does not fit."""
        return self.check(value)[0]

    def same(self, expected: Any, given: Any) -> bool:
        """Whether two values that fit the criterion are the same answer (gold scoring)."""
        try:
            return self.code(expected) == self.code(given)
        except ValueRejected:
            return False


def is_one_of(value: Any, labels: list) -> bool:
    """Whether the value is one of the labels, compared as JSON (as `ValueRule.check` does)."""
    text = json.dumps(value, allow_nan=True)
    return any(json.dumps(label) == text for label in labels)
