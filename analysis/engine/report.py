"""The report of one criterion: slice the targets, compute each slice's statistics, and turn
them into result, shortfall and disagreement rows."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from analysis import stats
from analysis.config import RunConfig
from analysis.engine.calibration import held_out_targets, score_stats, score_thresholds
from analysis.engine.chart_data import chart_rows
from analysis.engine.data import Bootstrap, CriterionData, SliceArrays
from analysis.engine.slice_stats import GapStat, Stat, between_groups, gaps, within_groups
from analysis.engine.slicing import n_slices, slices
from analysis.engine.verdicts import verdict_stats
from analysis.schema import ChartRow, DisagreementRow, ResultRow, ShortfallRow

__all__ = [
    "Report",
    "SliceKey",
    "adjusted_shortfall",
    "criterion_report",
    "n_slices",
    "reference_group",
]


@dataclass
class Report:
    rows: list[ResultRow] = field(default_factory=list)
    shortfall: list[ShortfallRow] = field(default_factory=list)
    disagreements: list[DisagreementRow] = field(default_factory=list)
    charts: list[ChartRow] = field(default_factory=list)


@dataclass(frozen=True)
class SliceKey:
    """What every row of one slice starts with (the in-process and the streamed report)."""

    criterion: str
    slice: str
    value: str

    def row(self, stat: Stat) -> ResultRow:
        est = stat.estimate
        return ResultRow(
            criterion=self.criterion,
            slice=self.slice,
            slice_value=self.value,
            group_a=stat.group_a,
            group_b=stat.group_b,
            metric=stat.metric,
            estimate=est.value,
            ci_low=est.ci_low,
            ci_high=est.ci_high,
            n_items=est.n_items,
            n_pairs=est.n_pairs,
            method=est.method,
        )

    def shortfall(self, ref: str, gap: GapStat, n_items: int, small: bool) -> ShortfallRow:
        return ShortfallRow(
            criterion=self.criterion,
            slice=self.slice,
            slice_value=self.value,
            reference_group=ref,
            judge_group=gap.judge,
            judge_agreement=gap.judge_agreement,
            human_agreement=gap.human_agreement,
            gap=gap.gap.value,
            ci_low=gap.gap.ci_low,
            ci_high=gap.gap.ci_high,
            p_value=gap.p_value,
            p_adjusted=float("nan"),
            verdict=gap.verdict,
            n_items=n_items,
            small_slice=small,
        )


def reference_group(data: CriterionData, wanted: str | None) -> str | None:
    """The human group the judges are measured against: the one asked for, else `expert`,
    else the human group with the most raters."""
    if wanted:
        return wanted if wanted in data.groups else None
    if "expert" in data.groups:
        return "expert"
    humans = [g for g in data.groups.values() if g.kind == "human"]
    return max(humans, key=lambda g: g.codes.shape[1]).name if humans else None


def criterion_report(
    data: CriterionData,
    config: RunConfig,
    progress: Callable[[], None] | None = None,
) -> Report:
    """Every statistic of every slice of one criterion; `progress` is called per slice."""
    report = Report()
    ref = reference_group(data, config.reference_group)
    rng = np.random.default_rng(config.seed)
    held_out = held_out_targets(data, config.seed)
    thresholds = score_thresholds(data, ref, held_out)
    for slice_name, slice_value, mask in slices(data, config.slice_keys):
        key = SliceKey(data.name, slice_name, slice_value)
        arrays = SliceArrays.cut(data, mask, held_out)
        boot = Bootstrap.draw(arrays.target_item, config.n_boot, rng)
        _slice_rows(report, key, arrays, boot, ref, config.min_slice_items)
        report.rows.extend(key.row(s) for s in verdict_stats(arrays, boot, ref, config))
        if ref is not None:
            scored = score_stats(arrays, boot, ref, thresholds, config.seed)
            report.rows.extend(key.row(s) for s in scored)
        if progress:
            progress()
    report.shortfall = adjusted_shortfall(report.shortfall)
    if ref is not None:
        report.disagreements = disagreements(data, ref)
        report.charts = chart_rows(data, ref, thresholds, held_out)
    return report


def _slice_rows(
    report: Report,
    key: SliceKey,
    arrays: SliceArrays,
    boot: Bootstrap,
    ref: str | None,
    min_slice_items: int,
) -> None:
    report.rows.extend(key.row(s) for s in within_groups(arrays, boot))
    report.rows.extend(key.row(s) for s in between_groups(arrays, boot, ref))
    if ref is None:
        return
    gap_rows = []
    for gap in gaps(arrays, boot, ref):
        # The count is of the targets the gap was measured on (judged by the judge and, with
        # a ceiling, by two reference raters), as in the gap row, not every item of the
        # slice; a slice is small by its number of items.
        small = arrays.n_items < min_slice_items
        report.shortfall.append(key.shortfall(ref, gap, gap.gap.n_items, small))
        if gap.with_ceiling:
            gap_rows.append(key.row(Stat(ref, gap.judge, "gap", gap.gap)))
    report.rows.extend(gap_rows)


def adjusted_shortfall(rows: list[ShortfallRow]) -> list[ShortfallRow]:
    """Benjamini–Hochberg over the slices of each (criterion, judge), then rank by gap."""
    out: list[ShortfallRow] = []
    families: dict[tuple[str, str], list[ShortfallRow]] = {}
    for row in rows:
        families.setdefault((row.criterion, row.judge_group), []).append(row)
    for family in families.values():
        slices_only = [r for r in family if r.slice != "all"]
        p = np.array([r.p_value for r in slices_only], dtype=float)
        adjusted = stats.benjamini_hochberg(p).p_adjusted if len(p) else p
        lookup = {id(r): a for r, a in zip(slices_only, adjusted, strict=True)}
        for r in family:
            out.append(replace(r, p_adjusted=float(lookup.get(id(r), r.p_value))))
    return sorted(out, key=_shortfall_order)


def _shortfall_order(row: ShortfallRow) -> tuple:
    return (row.criterion, row.judge_group, row.slice != "all", np.nan_to_num(row.gap, nan=np.inf))


def disagreements(data: CriterionData, ref: str) -> list[DisagreementRow]:
    """Targets where a model group's consensus differs from the reference consensus."""
    if not data.categorical:
        return []
    ref_cons = stats.consensus(data.groups[ref].codes, n_categories=data.n_categories)
    rows = []
    for name, group in data.groups.items():
        if group.kind != "model" or name == ref:
            continue
        cons = stats.consensus(group.codes, n_categories=data.n_categories)
        differ = np.flatnonzero(~np.isnan(ref_cons) & ~np.isnan(cons) & (ref_cons != cons))
        rows.extend(_disagreement(data, ref, name, int(t), ref_cons, cons) for t in differ)
    return rows


def _disagreement(
    data: CriterionData, ref: str, judge: str, t: int, ref_cons: np.ndarray, cons: np.ndarray
) -> DisagreementRow:
    step = int(data.target_step[t])
    return DisagreementRow(
        criterion=data.name,
        item=data.item_ref[int(data.target_item[t])],
        step=step if step >= 0 else None,
        reference_group=ref,
        judge_group=judge,
        reference_label=data.label(ref_cons[t]),
        judge_label=data.label(cons[t]),
    )
