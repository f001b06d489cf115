"""The result schema, defined once: the rows the engine produces.

Each row type is a frozen dataclass. Everything else is derived from it: the model columns
(`analysis.models`), the CSV columns (`analysis.exports`) and the columns the PostgreSQL COPY
writes (`analysis.services`). Adding a field is one edit here, plus the migration it needs.
No Django here: the engine, which must stay pure, builds these rows.

Text fields carry their column size in the field metadata (`text(...)`); a float column is
nullable (NaN is stored as NULL); an `int` column is a non-negative count, `int | None` a
nullable integer.
"""

import math
from dataclasses import dataclass, field, fields
from typing import Any


def text(max_length: int, *, blank: bool = False) -> Any:
    """A text field of a row, stored in a column of at most `max_length` characters."""
    return field(metadata={"max_length": max_length, "blank": blank})


@dataclass(frozen=True)
class ResultRow:
    """One statistic of one slice of one criterion, for two groups (or one, twice)."""

    criterion: str = text(100)
    slice: str = text(100)
    slice_value: str = text(200)
    group_a: str = text(64)
    group_b: str = text(64)
    metric: str = text(64)
    estimate: float = field()
    ci_low: float = field()
    ci_high: float = field()
    n_items: int = field()
    n_pairs: int = field()
    method: str = text(200, blank=True)


@dataclass(frozen=True)
class ShortfallRow:
    """How far one judge group falls short of the reference group in one slice."""

    criterion: str = text(100)
    slice: str = text(100)
    slice_value: str = text(200)
    reference_group: str = text(64)
    judge_group: str = text(64)
    judge_agreement: float = field()
    human_agreement: float = field()
    gap: float = field()
    ci_low: float = field()
    ci_high: float = field()
    p_value: float = field()
    p_adjusted: float = field()
    verdict: str = text(64)
    n_items: int = field()
    small_slice: bool = field()


@dataclass(frozen=True)
class DisagreementRow:
    """A target where a judge group's consensus differs from the reference consensus."""

    criterion: str = text(100)
    item: str = text(200)
    step: int | None = field()
    reference_group: str = text(64)
    judge_group: str = text(64)
    reference_label: str = text(200)
    judge_label: str = text(200)


@dataclass(frozen=True)
class ChartRow:
    """A number behind a chart that the result rows do not hold, between the reference group
    (group_a) and another group (group_b), over the overall slice.

    chart "confusion": `count` targets with reference consensus `x_label` and judge consensus
    `y_label`. chart "first_error_offset": `count` solutions in offset category `x_label`
    (judge too early / exact / judge too late / missed / false alarm / both no error), `x`
    the judge's first error step minus the reference's (NaN when either has none). chart
    "roc" / "pr": one point of a score judge's curve on the held-out half, `x` false positive
    rate / recall, `y` true positive rate / precision, at `threshold`; `x_label` "chosen" marks
    the threshold the report uses.
    """

    criterion: str = text(100)
    slice: str = text(100)
    slice_value: str = text(200)
    group_a: str = text(64)
    group_b: str = text(64)
    chart: str = text(32)
    x_label: str = text(200, blank=True)
    y_label: str = text(200, blank=True)
    x: float = field()
    y: float = field()
    threshold: float = field()
    count: int = field()


Row = ResultRow | ShortfallRow | DisagreementRow | ChartRow


def column_names(row_type: type[Row]) -> list[str]:
    """The columns of a row type, in definition order."""
    return [f.name for f in fields(row_type)]


def text_max_length(row_type: type[Row], name: str) -> int:
    """The column size of the text field `name` of a row type."""
    (found,) = [f for f in fields(row_type) if f.name == name]
    return int(found.metadata["max_length"])


def stored_values(row: Row) -> dict[str, object]:
    """A row's values by column, with NaN and infinities as None (NULL in the database)."""
    return {f.name: _finite(getattr(row, f.name)) for f in fields(row)}


def row_from_stored(row_type: type[Row], values: dict[str, object]) -> Row:
    """A row from its stored values (the inverse of `stored_values`: NULL floats are NaN)."""
    hints = {f.name: f.type for f in fields(row_type)}
    return row_type(
        **{
            name: float("nan") if values[name] is None and hints[name] is float else values[name]
            for name in hints
        }
    )


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
