"""The targets behind a report row: (item or step) x criterion, with each group's consensus.

One aggregate query reads, per target and rater group, how many raters gave each code; the
consensus and the agree/disagree filter are decided here in Python from those counts, so a
list over 100,000 judgements costs one query whatever the page size.

Consensus rule (the report's, restated because annotations never imports analysis): the
**unique plurality** -- the label more raters of the group chose than any other label; a tie
for the top, or no judgement, is no consensus. For one rater it is that rater's label; for two
or three raters on two labels it is the simple majority. It is `analysis.stats.consensus`,
which the report's disagreement rows and kappas use (tests/annotations/review check the two
against each other on random inputs). Interval criteria have no consensus: the report
compares their means by correlation, never label by label.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Count, QuerySet

from annotations.models import Criterion, Judgement, Project, Rater


def plain_consensus(counts: Mapping[float, int]) -> float | None:
    """The code chosen by more raters than any other code; None on a tied top or no counts.

    `counts` maps a code to how many raters of the group gave it.
    """
    top = max(counts.values(), default=0)
    if top <= 0:
        return None
    winners = [code for code, n in counts.items() if n == top]
    return winners[0] if len(winners) == 1 else None


@dataclass(frozen=True)
class TargetQuery:
    """The list's filters, validated by the filter form (`filters.TargetFilter`)."""

    group_a: str | None = None
    group_b: str | None = None
    agree: bool | None = None  # needs group_a and group_b

    def compares(self) -> bool:
        return bool(self.group_a and self.group_b)


@dataclass(frozen=True)
class GroupVerdict:
    """One group's judgements on one target: how many raters gave each label, the consensus."""

    counts: tuple[tuple[str, int], ...]  # (label, raters), most frequent first
    consensus: str | None
    n: int

    def summary(self) -> str:
        return ", ".join(f"{label} ×{n}" if n > 1 else label for label, n in self.counts)


@dataclass(frozen=True)
class TargetRow:
    item_id: int
    external_id: str
    step: int | None  # the step's index; None for a judgement of the whole item
    criterion_object: Criterion
    codes: Mapping[str, Mapping[float, int]]  # group -> code -> how many raters gave it
    agree: bool | None = None  # group_a's consensus == group_b's; None when either has none

    @property
    def criterion(self) -> str:
        return self.criterion_object.name

    @cached_property
    def verdicts(self) -> dict[str, GroupVerdict]:
        """Each group's labels and consensus, named (built for the rows shown, not all)."""
        return {g: _verdict(self.criterion_object, c) for g, c in self.codes.items()}

    def cells(self, groups: Iterable[str]) -> list[GroupVerdict | None]:
        return [self.verdicts.get(g) for g in groups]


@dataclass(frozen=True)
class TargetList:
    rows: list[TargetRow]
    groups: list[str]  # the columns: group_a and group_b, or every group with judgements
    criteria: list[Criterion]


def group_names(*, project: Project) -> list[str]:
    """The project's rater groups: human groups first (experts before others), then models."""
    pairs = set(Rater.objects.filter(project=project).values_list("group", "kind"))
    kind_of: dict[str, str] = {}
    for group, kind in pairs:
        kind_of[group] = "human" if kind == "human" or kind_of.get(group) == "human" else kind
    return sorted(kind_of, key=lambda g: (kind_of[g] != "human", g != "expert", g))


def judgements_of(*, project: Project) -> QuerySet[Judgement]:
    """The judgements a target list is built from, before its filters."""
    return Judgement.objects.filter(item__project=project)


def targets_list(
    *, project: Project, judgements: QuerySet[Judgement], query: TargetQuery
) -> TargetList:
    """Every target of `judgements` (already filtered by criterion, slice and groups: see
    `filters.TargetFilter`) with each group's verdict, kept when it matches `query.agree`;
    ordered by item, step and criterion. One query for the judgements, one for the criteria,
    one for the group names when no pair of groups is compared."""
    criteria = list(Criterion.objects.filter(project=project))
    by_id = {c.pk: c for c in criteria}
    compared = [query.group_a, query.group_b] if query.compares() else None
    groups = compared or group_names(project=project)
    rows = (
        judgements.values(
            "item_id", "item__external_id", "step__index", "criterion_id", "rater__group", "code"
        )
        .annotate(n=Count("pk"))
        .order_by()
        .values_list(
            "item_id",
            "item__external_id",
            "step__index",
            "criterion_id",
            "rater__group",
            "code",
            "n",
        )
    )
    counts: dict[tuple, dict[str, dict[float, int]]] = defaultdict(lambda: defaultdict(dict))
    for item_id, external_id, step, criterion_id, group, code, n in rows.iterator(chunk_size=5000):
        counts[(item_id, -1 if step is None else step, criterion_id, external_id)][group][code] = n
    order = {c.pk: i for i, c in enumerate(criteria)}
    out = []
    # Steps in order, then the whole item (as the item page shows them).
    for key in sorted(counts, key=lambda k: (k[0], k[1] < 0, k[1], order.get(k[2], 0))):
        item_id, step, criterion_id, external_id = key
        row = _row(by_id[criterion_id], item_id, external_id, step, counts[key], query)
        if query.agree is None or row.agree is query.agree:
            out.append(row)
    return TargetList(rows=out, groups=groups, criteria=criteria)


def _row(
    criterion: Criterion,
    item_id: int,
    external_id: str,
    step: int,
    per_group: Mapping[str, Mapping[float, int]],
    query: TargetQuery,
) -> TargetRow:
    agree = None
    if query.compares() and criterion.scale != Criterion.Scale.INTERVAL:
        a, b = per_group.get(query.group_a), per_group.get(query.group_b)
        a = None if a is None else plain_consensus(a)
        b = None if b is None else plain_consensus(b)
        if a is not None and b is not None:
            agree = a == b
    return TargetRow(
        item_id=item_id,
        external_id=external_id,
        step=None if step < 0 else step,
        criterion_object=criterion,
        codes=per_group,
        agree=agree,
    )


def _verdict(criterion: Criterion, codes: Mapping[float, int]) -> GroupVerdict:
    ranked = sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))
    categorical = criterion.scale != Criterion.Scale.INTERVAL
    labels = criterion.value_labels

    def name(code: float) -> str:
        if categorical and 0 <= code < len(labels) and code == int(code):
            return str(labels[int(code)])
        return f"{code:g}"

    consensus = plain_consensus(codes) if categorical else None
    return GroupVerdict(
        counts=tuple((name(code), n) for code, n in ranked),
        consensus=None if consensus is None else name(consensus),
        n=sum(codes.values()),
    )


def target_items(*, rows: list[TargetRow]) -> list[int]:
    """The items of a list in its order, once each (the item page's keyboard walks these)."""
    return list(dict.fromkeys(r.item_id for r in rows))
