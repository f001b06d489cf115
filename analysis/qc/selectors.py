"""The QC table: per human rater, agreement with the rest of the pool (the other raters of the
rater's group), gold accuracy, time,
skip and flag rates, outliers marked, and a link behind every number.

Reads annotations through its selectors; the statistics are `analysis.stats.pool`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from analysis.qc.links import review_items_url
from analysis.stats.bootstrap import Resampler
from analysis.stats.pool import below_pool_median, pool_agreement, proportion_wilson
from analysis.stats.results import Estimate
from annotations import selectors as annotations_selectors
from annotations.annotate import lead as lead_selectors
from annotations.annotate.selectors import project_criteria
from annotations.models import Criterion, Project

N_BOOT = 1000
SEED = 20_240_610  # fixed, so the page shows the same intervals on every load
CONFIDENCE = 0.95
POOL_METHOD = (
    "Cohen's kappa of the rater's label against the majority label of the other raters of "
    "the rater's group on the same target (leave-one-out: a unique plurality, targets where "
    "the others tie are left out); unweighted for nominal and pairwise criteria, "
    "quadratic-weighted for ordinal ones; 95% percentile cluster-bootstrap interval over "
    f"items (B={N_BOOT}, the steps of a solution resampled together, seed {SEED})"
)
GOLD_METHOD = (
    "labels on gold items that match the expected label, with a 95% Wilson score interval "
    "(each label counted as an independent trial)"
)
RATE_METHOD = "share of the items the annotator was given, with a 95% Wilson score interval"
OUTLIER_RULE = (
    "the rater's 95% interval lies entirely below the median of the estimates of the "
    "rater's group (at least 3 raters with an estimate)"
)


@dataclass(frozen=True)
class Cell:
    """One number of the table, its interval, whether it marks an outlier, and its items."""

    estimate: Estimate
    url: str
    outlier: bool = False
    percent: bool = False  # a proportion shown as a percentage

    @property
    def defined(self) -> bool:
        return math.isfinite(self.estimate.value)

    def _text(self, x: float) -> str:
        return f"{100 * x:.0f}%" if self.percent else f"{x:.2f}"

    @property
    def value_text(self) -> str:
        return self._text(self.estimate.value) if self.defined else "not defined"

    @property
    def interval_text(self) -> str:
        if not self.estimate.has_interval:
            return ""
        return f"[{self._text(self.estimate.ci_low)}, {self._text(self.estimate.ci_high)}]"


@dataclass(frozen=True)
class QCRow:
    name: str  # the rater's name, or the username of a member who has no rater yet
    group: str
    membership_id: int | None  # an app member (movable); None for an imported rater
    agreement: tuple[Cell | None, ...]  # one per criterion of QCReport.criteria
    gold: Cell | None
    skip: Cell | None
    flag: Cell | None
    submitted: int | None
    median_seconds: float | None
    time_url: str | None


@dataclass(frozen=True)
class QCReport:
    criteria: tuple[str, ...]
    unmeasured: dict[str, str]  # criterion -> why no agreement is computed for it
    rows: tuple[QCRow, ...]
    groups: tuple[str, ...]  # the human groups, for the move form's suggestions


def _weights(criterion: Criterion) -> str:
    return "quadratic" if criterion.scale == Criterion.Scale.ORDINAL else "none"


def _pool_matrix(
    criterion_id: int, columns: dict[int, int]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The criterion's human codes as (n_targets, n_raters) and each target's item id."""
    cols = annotations_selectors.judgement_codes(criterion_id=criterion_id)
    rater_ids = np.asarray(cols.rater_ids, dtype=np.int64)
    rater_col = np.array([columns.get(int(r), -1) for r in rater_ids], dtype=np.int64)
    human = rater_col >= 0
    if not human.any():
        return None
    items = np.asarray(cols.item_ids, dtype=np.int64)[human]
    steps = np.array([-1 if s is None else s for s in cols.steps], dtype=np.int64)[human]
    span = int(steps.max()) + 2
    targets, target_of = np.unique(items * span + steps + 1, return_inverse=True)
    matrix = np.full((targets.shape[0], len(columns)), np.nan)
    matrix[target_of.reshape(-1), rater_col[human]] = np.asarray(cols.codes)[human]
    return matrix, targets // span


def _agreement_cells(
    project: Project, criterion: Criterion, raters: list, columns: dict[int, int]
) -> dict[int, Cell]:
    """Rater id -> their agreement with the pool on the criterion, outliers marked."""
    pool = _pool_matrix(criterion.pk, columns)
    if pool is None:
        return {}
    matrix, item_of_target = pool
    resampler = Resampler.draw(item_of_target, N_BOOT, np.random.default_rng(SEED))
    judged = ~np.isnan(matrix).all(axis=0)
    names = {rater.pk: rater.name for rater in raters}
    cells = {}
    # The pool is the rater's own group: experts against the other experts, annotators
    # against the other annotators. Against every human rater at once a large crowd outvotes
    # a few experts, and the experts, not the crowd, would look like outliers.
    for group in sorted({rater.group for rater in raters}):
        members = [r.pk for r in raters if r.group == group and judged[columns[r.pk]]]
        if len(members) < 2:
            continue  # no one to agree with
        estimates = pool_agreement(
            matrix[:, [columns[pk] for pk in members]],
            n_categories=len(criterion.value_labels),
            weights=_weights(criterion),
            clusters=item_of_target,
            n_boot=N_BOOT,
            rng=resampler,
            confidence=CONFIDENCE,
        )
        outliers = below_pool_median([e.value for e in estimates], [e.ci_high for e in estimates])
        for pk, estimate, out in zip(members, estimates, outliers, strict=True):
            url = review_items_url(slug=project.slug, rater=names[pk], criterion=criterion.name)
            cells[pk] = Cell(estimate, url, bool(out))
    return cells


def _rate(project: Project, name: str, count: int, given: int, status: str) -> Cell:
    return Cell(
        proportion_wilson(count, given, confidence=CONFIDENCE),
        review_items_url(slug=project.slug, rater=name, status=status),
        percent=True,
    )


def annotator_qc(*, project: Project) -> QCReport:
    """The QC table of a project: every human rater (imported or an app annotator) and every
    annotator member who has no rater yet. For leads only (call after the access check)."""
    raters = annotations_selectors.human_raters(project=project)
    columns = {rater.pk: i for i, rater in enumerate(raters)}
    criteria, unmeasured, cells = [], {}, []
    for criterion in project_criteria(project_id=project.pk):
        if criterion.scale == Criterion.Scale.INTERVAL:
            unmeasured[criterion.name] = "an interval scale: kappa needs categories"
            continue
        criteria.append(criterion.name)
        cells.append(_agreement_cells(project, criterion, raters, columns))

    members = lead_selectors.member_activity_for_lead(project=project)
    by_user = {m.user_id: m for m in members}
    rows: list[QCRow] = []
    seen_users = set()
    for rater in raters:
        member = by_user.get(rater.user_id) if rater.user_id is not None else None
        if member is not None:
            seen_users.add(member.user_id)
        rows.append(
            _row(project, rater.name, rater.group, member, [c.get(rater.pk) for c in cells])
        )
    for member in members:
        if member.user_id in seen_users:
            continue
        if member.role == "lead" and not member.submitted + member.skipped + member.flagged:
            continue  # a lead who never annotated here
        rows.append(_row(project, member.username, member.rater_group, member, [None] * len(cells)))
    gold_rows = [(i, row.gold.estimate) for i, row in enumerate(rows) if row.gold is not None]
    marked = below_pool_median([e.value for _, e in gold_rows], [e.ci_high for _, e in gold_rows])
    for (i, _), out in zip(gold_rows, marked, strict=True):
        if out:
            row = rows[i]
            rows[i] = replace(row, gold=replace(row.gold, outlier=True))
    groups = sorted({rater.group for rater in raters} | {m.rater_group for m in members})
    return QCReport(tuple(criteria), unmeasured, tuple(rows), tuple(groups))


def _row(
    project: Project,
    name: str,
    group: str,
    member: lead_selectors.MemberActivity | None,
    agreement: list[Cell | None],
) -> QCRow:
    if member is None:
        return QCRow(name, group, None, tuple(agreement), None, None, None, None, None, None)
    given = member.submitted + member.skipped + member.flagged
    gold = None
    if member.gold_total:
        gold = Cell(
            proportion_wilson(member.gold_correct, member.gold_total, confidence=CONFIDENCE),
            review_items_url(slug=project.slug, rater=name, status="gold"),
            percent=True,
        )
    return QCRow(
        name=name,
        group=group,
        membership_id=member.membership_id,
        agreement=tuple(agreement),
        gold=gold,
        skip=_rate(project, name, member.skipped, given, "skipped") if given else None,
        flag=_rate(project, name, member.flagged, given, "flagged") if given else None,
        submitted=member.submitted,
        median_seconds=None if member.median_ms is None else member.median_ms / 1000,
        time_url=review_items_url(slug=project.slug, rater=name, status="submitted"),
    )
