"""Scores as CSV (`--format scores`): one row per score, the same records as native `score`
lines.

Columns: `item,criterion,step,rater,rater_group,score` (a header row first). `step` is the
0-based step index, empty for a score on a whole item; `rater_group` may be empty (the group
is then `model`). `score` is a finite number, higher = more likely correct (on a pairwise
criterion: the probability, 0 to 1, that the item's a is better than b). The criterion and
the items must already be in the project (import them natively first); the writer checks that,
as for native lines.
"""

import math
from collections.abc import Iterator
from pathlib import Path

from annotations.importers.errors import FieldError, LineError, Origin
from annotations.importers.reading import csv_rows
from annotations.importers.records import Record, ScoreRecord

COLUMNS = ("item", "criterion", "step", "rater", "rater_group", "score")
REQUIRED = ("item", "criterion", "rater", "score")


def parse(paths: list[Path]) -> Iterator[Record]:
    """Yield one ScoreRecord (or one LineError) per row."""
    for origin, built in csv_rows(paths, _score):
        if isinstance(built, FieldError):
            yield LineError(origin, built.field, built.message)
        else:
            yield built


def _score(row: dict, origin: Origin) -> ScoreRecord:
    missing = [name for name in COLUMNS if name not in row]
    if missing:
        raise FieldError(missing[0], f"the header needs the columns {', '.join(COLUMNS)}")
    for name in REQUIRED:
        if not (row[name] or "").strip():
            raise FieldError(name, "is required")
    return ScoreRecord(
        origin=origin,
        item=row["item"].strip(),
        criterion=row["criterion"].strip(),
        step=_step(row["step"]),
        rater=row["rater"].strip(),
        rater_group=(row["rater_group"] or "").strip(),
        score=_number(row["score"]),
    )


def _step(text: str | None) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise FieldError("step", f"must be a 0-based step index, got {text[:40]!r}")
    return int(text)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FieldError("score", f"must be a finite number, got {text.strip()[:40]!r}") from None
    if not math.isfinite(value):
        raise FieldError("score", "must be a finite number")
    return value
