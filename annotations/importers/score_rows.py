"""The scores of one import: checked line by line, then compared with the stored ones and
written in bulk, inside the writer's transaction. `score_problem` is the one rule of what a
score may be, for native lines, CSV rows and the bulk API alike.

Scores are held in memory (one small object each) until the import's items are written, since
a score may name an item further down the file. A score already stored with the same value is
left alone (re-importing a file changes nothing); a different value is a conflict, as for
judgements: an import never overwrites.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from annotations.importers.errors import LineError, Origin
from annotations.importers.records import ScoreRecord
from annotations.importers.rules import CriterionInfo, ItemInfo, Problem, target_problem
from annotations.models import Step
from annotations.scores import Score

BATCH = 5000


def score_problem(
    record: ScoreRecord, criterion: CriterionInfo | None, item: ItemInfo | None
) -> Problem | None:
    """Whether a score line fits the project: a binary error criterion or a pairwise one, a
    known target, and on a pairwise criterion a probability (of "a is better than b")."""
    if criterion is None:
        return Problem("criterion", f"unknown criterion {record.criterion!r}")
    pairwise = criterion.scale == "pairwise"
    if not pairwise and (criterion.scale != "nominal" or not criterion.error_labels):
        message = (
            f"criterion {record.criterion!r} has no error labels: scores need a nominal "
            "criterion with error_labels (a higher score means more likely correct) or a "
            "pairwise one (the probability that a is better than b)"
        )
        return Problem("criterion", message)
    if item is None:
        return Problem("item", f"unknown item {record.item!r}")
    if not _finite(record.score):
        return Problem("score", "must be a finite number")
    if pairwise and not 0 <= record.score <= 1:
        message = (
            f"{record.score:g} is outside 0 to 1: a score on pairwise criterion "
            f"{record.criterion!r} is the probability that a is better than b"
        )
        return Problem("score", message)
    return target_problem(record, criterion, item)


def _finite(score: float) -> bool:
    try:
        return math.isfinite(score)
    except OverflowError:  # an int too large for a float (the column is one)
        return False


@dataclass(slots=True)
class PendingScore:
    origin: Origin
    rater_pk: int
    item: ItemInfo
    step: int | None
    criterion_pk: int
    score: float


class ScoreRows:
    """Checked scores waiting for their items' ids; `check` then `insert`, once each."""

    def __init__(self) -> None:
        self.pending: dict[tuple[int, str, int | None, int], PendingScore] = {}
        self.new: list[PendingScore] = []
        self.unchanged = 0

    def add(
        self, record: ScoreRecord, rater_pk: int, item: ItemInfo, criterion_pk: int
    ) -> Problem | None:
        """Hold a checked score; the problem when the file already gave this one."""
        key = (rater_pk, record.item, record.step, criterion_pk)
        first = self.pending.get(key)
        if first is not None:
            # "line 3" (as for duplicate judgements), or the origin's own words for it.
            where = replace(first.origin, source="")
            return Problem("", f"duplicate score: same rater, item, step and criterion as {where}")
        self.pending[key] = PendingScore(
            record.origin, rater_pk, item, record.step, criterion_pk, float(record.score)
        )
        return None

    def check(self) -> Iterator[LineError]:
        """Conflicts with stored scores; what is new is kept for `insert`."""
        rows = [row for row in self.pending.values() if row.item.pk is not None]
        if not rows:
            return
        stored_rows = Score.objects.filter(
            criterion_id__in={row.criterion_pk for row in rows},
            rater_id__in={row.rater_pk for row in rows},
        ).values_list("rater_id", "item_id", "step__index", "criterion_id", "score")
        stored = {(r, i, s, c): score for r, i, s, c, score in stored_rows}
        for row in rows:
            known = stored.get((row.rater_pk, row.item.pk, row.step, row.criterion_pk))
            if known is None:
                self.new.append(row)
            elif known == row.score:
                self.unchanged += 1
            else:
                message = (
                    f"conflicts with the stored score {known:g}; scores are never overwritten "
                    "by an import"
                )
                yield LineError(row.origin, "score", message)

    def insert(self, created_at: datetime) -> int:
        """Write the new scores; how many."""
        step_items = {row.item.pk for row in self.new if row.step is not None}
        steps = {
            (item_id, index): pk
            for item_id, index, pk in Step.objects.filter(item_id__in=step_items).values_list(
                "item_id", "index", "pk"
            )
        }
        scores = [
            Score(
                rater_id=row.rater_pk,
                item_id=row.item.pk,
                step_id=None if row.step is None else steps[(row.item.pk, row.step)],
                criterion_id=row.criterion_pk,
                score=row.score,
                created_at=created_at,
            )
            for row in self.new
        ]
        Score.objects.bulk_create(scores, batch_size=BATCH)
        return len(scores)
