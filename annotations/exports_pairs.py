"""Preference pairs for reward-model training: `{prompt, chosen, rejected}` where a rater
group's verdict on a pair is clear, with the votes kept per row (PAIR_COLUMNS).

For each pairwise criterion and pair item, the group's human votes are counted: `a`, `b` and
`tie`. Under `majority` one answer must have more than half of all the votes (ties count in the
total, so 1 a, 1 tie is no majority); under `unanimous` every vote must be for it. Pairs with
fewer than `min_votes` votes, no clear winner, or without both answers' texts are left out
(`PairCounts` says how many of each).
"""

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count

from annotations.models import Criterion, Item, Judgement, Project, Rater

CONSENSUS = ("majority", "unanimous")
CHUNK = 2_000


@dataclass
class PairCounts:
    written: int = 0
    unclear: int = 0  # no majority (or not unanimous)
    too_few_votes: int = 0
    without_texts: int = 0  # a pair item without response_a or response_b


@dataclass(frozen=True)
class Votes:
    a: int
    b: int
    tie: int

    @property
    def total(self) -> int:
        return self.a + self.b + self.tie

    def winner(self, consensus: str) -> str | None:
        """`a`, `b` or None (no clear verdict) under the rule."""
        for side, votes in (("a", self.a), ("b", self.b)):
            if consensus == "unanimous" and votes == self.total:
                return side
            if consensus == "majority" and votes * 2 > self.total:
                return side
        return None


def preference_pairs(
    *,
    project: Project,
    group: str,
    consensus: str = "majority",
    min_votes: int = 1,
    counts: PairCounts | None = None,
) -> Iterator[tuple]:
    """Rows of PAIR_COLUMNS for the pairs where `group`'s human votes are clear."""
    if consensus not in CONSENSUS:
        raise ValueError(f"consensus must be one of {', '.join(CONSENSUS)}, got {consensus!r}")
    counts = counts if counts is not None else PairCounts()
    votes = _votes(project, group)
    decided: list[tuple[int, int, str, Votes]] = []  # (criterion, item, winner, votes)
    for (criterion_id, item_id), tally in votes.items():
        if tally.total < min_votes:
            counts.too_few_votes += 1
            continue
        winner = tally.winner(consensus)
        if winner is None:
            counts.unclear += 1
            continue
        decided.append((criterion_id, item_id, winner, tally))
    names = dict(Criterion.objects.filter(project=project).values_list("pk", "name"))
    for start in range(0, len(decided), CHUNK):
        chunk = decided[start : start + CHUNK]
        items = {
            row[0]: row
            for row in Item.objects.filter(pk__in={c[1] for c in chunk}).values_list(
                "pk", "external_id", "prompt", "response_a", "response_b", "meta"
            )
        }
        for criterion_id, item_id, winner, tally in chunk:
            _, external_id, prompt, answer_a, answer_b, meta = items[item_id]
            if answer_a is None or answer_b is None:
                counts.without_texts += 1
                continue
            chosen, rejected = (answer_a, answer_b) if winner == "a" else (answer_b, answer_a)
            votes_for = tally.a if winner == "a" else tally.b
            counts.written += 1
            yield (
                external_id,
                names[criterion_id],
                prompt,
                chosen,
                rejected,
                winner,
                votes_for,
                tally.total - votes_for - tally.tie,
                tally.tie,
                tally.total,
                votes_for / tally.total,
                group,
                json.dumps(meta or {}, ensure_ascii=False),
            )


def _votes(project: Project, group: str) -> dict[tuple[int, int], Votes]:
    """The group's human votes per (criterion, item), from one grouped query."""
    tallies: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    rows = (
        Judgement.objects.filter(
            criterion__project=project,
            criterion__scale=Criterion.Scale.PAIRWISE,
            rater__kind=Rater.Kind.HUMAN,
            rater__group=group,
        )
        .values("criterion_id", "item_id", "value")
        .order_by()
        .annotate(n=Count("pk"))
    )
    for row in rows:
        tallies[(row["criterion_id"], row["item_id"])][row["value"]] = row["n"]
    return {
        key: Votes(t.get("a", 0), t.get("b", 0), t.get("tie", 0))
        for key, t in sorted(tallies.items())
    }
