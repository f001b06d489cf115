"""Continuous scores of reward models and process reward models (PRMs).

A `Score` is one model rater's real number for one item (or one step of a solution) on one
criterion, of one of two kinds:

- on a binary "is this target wrong?" criterion, nominal with error labels: any finite number,
  higher = more likely correct;
- on a pairwise criterion (pair items only): the probability, in [0, 1], that answer a is
  better than answer b, in the item's a/b order (not the order anyone was shown them in).

Unlike a `Judgement` it carries no label: the agreement report calibrates a threshold against
the experts (`analysis.engine.calibration`, `analysis.stats.calibration`) before comparing it
with them. Which score fits which criterion is `annotations.importers.score_rows.score_problem`.
"""

import sys

from django.db import models
from django.db.models import Q

# Related models by name, not imported: annotations/models.py imports this module at its end.


class Score(models.Model):
    rater = models.ForeignKey("annotations.Rater", on_delete=models.CASCADE, related_name="scores")
    item = models.ForeignKey("annotations.Item", on_delete=models.CASCADE, related_name="scores")
    step = models.ForeignKey(
        "annotations.Step", null=True, blank=True, on_delete=models.CASCADE, related_name="scores"
    )
    criterion = models.ForeignKey(
        "annotations.Criterion", on_delete=models.CASCADE, related_name="scores"
    )
    score = models.FloatField()
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # As for judgements: two partial constraints because NULL steps are distinct in a
            # plain unique index. One score per rater, target and criterion.
            models.UniqueConstraint(
                fields=["rater", "step", "criterion"],
                condition=Q(step__isnull=False),
                name="score_unique_step",
            ),
            models.UniqueConstraint(
                fields=["rater", "item", "criterion"],
                condition=Q(step__isnull=True),
                name="score_unique_item",
            ),
            # Finite only. The largest double as a bound (an infinity has no literal on
            # SQLite); PostgreSQL sorts NaN above every number, and SQLite stores NaN as NULL.
            models.CheckConstraint(
                condition=Q(score__gte=-sys.float_info.max, score__lte=sys.float_info.max),
                name="score_finite",
            ),
        ]
        indexes = [models.Index(fields=["criterion", "item"], name="score_criterion_item")]

    def __str__(self) -> str:
        return f"{self.rater_id} on {self.item_id}: {self.score:g}"
