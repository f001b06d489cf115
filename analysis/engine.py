"""The agreement report as a pure computation: judgements in, result rows out.

No Django here: `analysis.services` loads a criterion's judgements into a `CriterionData` (one
code per judgement, targets and raters as integer indices) and this module decides which
statistics apply, slices the targets and calls `analysis.stats`. Keeping it pure lets the
benchmark time it against a bare numpy floor and lets tests feed it arrays directly.

Conventions: a *target* is what one judgement is about: a whole item, or one step of a
solution. Each group's judgements form a matrix ``(n_targets, n_raters_in_group)`` of codes,
NaN where a rater did not judge a target. Targets are resampled by item (cluster bootstrap),
so the steps of a solution move together.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from analysis import stats
from analysis.stats.results import Estimate

STEP_POSITION_BINS = [(0, 0), (1, 1), (2, 2), (3, 4), (5, 7), (8, 11), (12, 10**9)]
SOLUTION_LENGTH_BINS = [(1, 3), (4, 6), (7, 10), (11, 15), (16, 10**9)]


@dataclass
class Group:
    name: str
    kind: str  # "human" or "model"
    codes: np.ndarray  # (n_targets, n_raters) float, NaN = not judged
    inconsistent: np.ndarray | None = None  # (n_targets,) 1/0/NaN: verdict flipped on swap


@dataclass
class CriterionData:
    name: str
    scale: str  # nominal | ordinal | interval | pairwise
    labels: list  # label of each code (for categorical scales)
    n_categories: int
    error_codes: list[int]
    target_item: np.ndarray  # (n_targets,) item index 0..n_items-1
    target_step: np.ndarray  # (n_targets,) step index, -1 for item-level targets
    item_meta: list[dict]  # (n_items,) meta of each item
    item_ref: list[str]  # (n_items,) external id of each item
    item_n_steps: np.ndarray  # (n_items,)
    groups: dict[str, Group] = field(default_factory=dict)
    # (n_items, 2) lengths of answers A and B in characters, NaN where unknown
    item_lengths: np.ndarray | None = None

    @property
    def tie_code(self) -> int | None:
        return 2 if self.scale == "pairwise" else None

    @property
    def categorical(self) -> bool:
        return self.n_categories > 0

    def label(self, code: float) -> str:
        if self.categorical:
            return str(self.labels[int(code)])
        return f"{code:g}"


@dataclass(frozen=True)
class ReportConfig:
    reference_group: str | None = None
    slice_keys: tuple[str, ...] = ()
    n_boot: int = 1000
    seed: int = 0
    min_slice_items: int = 30


@dataclass(frozen=True)
class ResultRow:
    criterion: str
    slice: str
    slice_value: str
    group_a: str
    group_b: str
    metric: str
    estimate: float
    ci_low: float
    ci_high: float
    n_items: int
    n_pairs: int
    method: str = ""


@dataclass(frozen=True)
class ShortfallRow:
    criterion: str
    slice: str
    slice_value: str
    reference_group: str
    judge_group: str
    judge_agreement: float
    human_agreement: float
    gap: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    verdict: str
    n_items: int
    small_slice: bool


@dataclass(frozen=True)
class DisagreementRow:
    criterion: str
    item: str
    step: int | None
    reference_group: str
    judge_group: str
    reference_label: str
    judge_label: str


@dataclass
class Report:
    rows: list[ResultRow] = field(default_factory=list)
    shortfall: list[ShortfallRow] = field(default_factory=list)
    disagreements: list[DisagreementRow] = field(default_factory=list)


# ---- slices ----------------------------------------------------------------------------------


def _bin_label(low: int, high: int) -> str:
    if low == high:
        return str(low)
    return f"{low}+" if high >= 10**9 else f"{low}-{high}"


def slices(data: CriterionData, keys: tuple[str, ...]) -> Iterator[tuple[str, str, np.ndarray]]:
    """(slice, value, target mask) for overall, each meta key's values and the step bins."""
    n = len(data.target_item)
    yield "all", "all", np.ones(n, dtype=bool)
    for key in keys:
        values = np.array([_meta_text(meta.get(key)) for meta in data.item_meta], dtype=object)[
            data.target_item
        ]
        for value in sorted({v for v in values if v is not None}, key=_natural):
            yield key, value, values == value
    if (data.target_step >= 0).any():
        for low, high in STEP_POSITION_BINS:
            mask = (data.target_step >= low) & (data.target_step <= high)
            if mask.any():
                yield "step_position", _bin_label(low, high), mask
    lengths = data.item_n_steps[data.target_item]
    if (lengths > 0).any():
        for low, high in SOLUTION_LENGTH_BINS:
            mask = (lengths >= low) & (lengths <= high)
            if mask.any():
                yield "solution_length", _bin_label(low, high), mask


def _meta_text(value) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _natural(value: str) -> tuple:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


# ---- the report ------------------------------------------------------------------------------


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
    config: ReportConfig,
    progress: Callable[[], None] | None = None,
) -> Report:
    report = Report()
    ref = reference_group(data, config.reference_group)
    rng = np.random.default_rng(config.seed)
    clusters = data.target_item
    for slice_name, slice_value, mask in slices(data, config.slice_keys):
        sliced = _SliceRunner(data, config, rng, mask, clusters[mask], slice_name, slice_value)
        report.rows.extend(sliced.within_groups())
        report.rows.extend(sliced.between_groups(ref))
        if ref is not None:
            shortfall_rows, gap_rows = sliced.gaps(ref)
            report.shortfall.extend(shortfall_rows)
            report.rows.extend(gap_rows)
        if progress:
            progress()
    report.shortfall = _adjust(report.shortfall)
    if ref is not None:
        report.disagreements = disagreements(data, ref)
    return report


def n_slices(data: CriterionData, keys: tuple[str, ...]) -> int:
    return sum(1 for _ in slices(data, keys))


class _SliceRunner:
    """The statistics of one slice of one criterion."""

    def __init__(self, data, config, rng, mask, clusters, slice_name, slice_value) -> None:
        self.data = data
        self.config = config
        self.rng = rng
        self.mask = mask
        self.clusters = clusters
        self.slice = slice_name
        self.value = slice_value
        self.codes = {name: g.codes[mask] for name, g in data.groups.items()}
        self.n_items = len(np.unique(clusters))
        # One set of resamples for every statistic of the slice (see stats.Resampler).
        self.resampler = (
            stats.Resampler.draw(clusters, config.n_boot, rng) if config.n_boot > 0 else None
        )
        self.boot = {"clusters": clusters, "n_boot": config.n_boot, "rng": self.resampler}

    def row(self, a: str, b: str, metric: str, est: Estimate) -> ResultRow:
        return ResultRow(
            criterion=self.data.name,
            slice=self.slice,
            slice_value=self.value,
            group_a=a,
            group_b=b,
            metric=metric,
            estimate=est.value,
            ci_low=est.ci_low,
            ci_high=est.ci_high,
            n_items=est.n_items,
            n_pairs=est.n_pairs,
            method=est.method,
        )

    def within_groups(self) -> Iterator[ResultRow]:
        data = self.data
        k = data.n_categories
        for name, codes in self.codes.items():
            group = data.groups[name]
            if group.inconsistent is not None:
                yield from self._position_consistency(name, group.inconsistent[self.mask])
            if data.scale == "pairwise" and data.item_lengths is not None:
                yield from self._longer_wins(name, codes)
            judged = (~np.isnan(codes)).sum(axis=1) >= 2
            if codes.shape[1] < 2 or not judged.any():
                continue
            if data.categorical:
                yield self.row(
                    name,
                    name,
                    "percent_agreement",
                    stats.percent_agreement(codes, n_categories=k, **self.boot),
                )
                if data.tie_code is not None:
                    yield self.row(
                        name,
                        name,
                        "percent_agreement_no_ties",
                        stats.percent_agreement(
                            codes, n_categories=k, tie_code=data.tie_code, **self.boot
                        ),
                    )
                yield self.row(
                    name,
                    name,
                    "fleiss_kappa",
                    stats.fleiss_kappa(codes, n_categories=k, **self.boot),
                )
                yield self.row(
                    name, name, "gwet_ac1", stats.gwet_ac1(codes, n_categories=k, **self.boot)
                )
                level = {"ordinal": "ordinal", "interval": "interval"}.get(data.scale, "nominal")
                yield self.row(
                    name,
                    name,
                    "krippendorff_alpha",
                    stats.krippendorff_alpha(codes, level=level, n_categories=k, **self.boot),
                )

    def between_groups(self, ref: str | None) -> Iterator[ResultRow]:
        data = self.data
        k = data.n_categories
        names = sorted(self.codes, key=lambda n: (n != ref, data.groups[n].kind != "human", n))
        for a, b in combinations(names, 2):
            codes_a, codes_b = self.codes[a], self.codes[b]
            both = ~np.isnan(codes_a).all(axis=1) & ~np.isnan(codes_b).all(axis=1)
            if not both.any():
                continue
            if data.categorical:
                yield self.row(
                    a,
                    b,
                    "percent_agreement",
                    stats.percent_agreement(codes_a, codes_b, n_categories=k, **self.boot),
                )
                if data.tie_code is not None:
                    yield self.row(
                        a,
                        b,
                        "percent_agreement_no_ties",
                        stats.percent_agreement(
                            codes_a, codes_b, n_categories=k, tie_code=data.tie_code, **self.boot
                        ),
                    )
                cons_a = stats.consensus(codes_a, n_categories=k)
                cons_b = stats.consensus(codes_b, n_categories=k)
                kappas = [("cohen_kappa", "none")]
                if data.scale in ("ordinal", "interval"):
                    kappas += [
                        ("cohen_kappa_linear", "linear"),
                        ("cohen_kappa_quadratic", "quadratic"),
                    ]
                for metric, weights in kappas:
                    yield self.row(
                        a,
                        b,
                        metric,
                        stats.cohen_kappa(
                            cons_a, cons_b, n_categories=k, weights=weights, **self.boot
                        ),
                    )
                if data.error_codes and (data.target_step >= 0).any():
                    yield from self._earliest_error(a, b, cons_a, cons_b)
            if data.scale in ("ordinal", "interval"):
                mean_a = _nanmean(codes_a)
                mean_b = _nanmean(codes_b)
                for method in ("spearman", "kendall", "pearson"):
                    metric = "kendall_tau" if method == "kendall" else method
                    yield self.row(
                        a, b, metric, stats.correlation(mean_a, mean_b, method=method, **self.boot)
                    )

    def _earliest_error(self, a, b, cons_a, cons_b) -> Iterator[ResultRow]:
        steps = self.data.target_step[self.mask]
        items = self.data.target_item[self.mask]
        is_step = steps >= 0
        if not is_step.any():
            return
        uniq, solution = np.unique(items[is_step], return_inverse=True)
        width = int(steps[is_step].max()) + 1
        grids = []
        for cons in (cons_a, cons_b):
            grid = np.full((len(uniq), width), np.nan)
            grid[solution, steps[is_step]] = cons[is_step]
            grids.append(stats.first_error(grid, self.data.error_codes))
        result = stats.earliest_error_agreement(
            grids[0], grids[1], clusters=uniq, n_boot=self.config.n_boot, rng=self.resampler
        )
        for metric in (
            "first_error_accuracy",
            "error_accuracy",
            "correct_accuracy",
            "processbench_f1",
        ):
            yield self.row(a, b, metric, getattr(result, metric))

    def _position_consistency(self, name: str, flags: np.ndarray) -> Iterator[ResultRow]:
        known = flags[~np.isnan(flags)]
        if not len(known):
            return
        consistent = int((known == 0).sum())
        low, high = proportion_confint(consistent, len(known), method="wilson")
        est = Estimate(
            consistent / len(known),
            low,
            high,
            float("nan"),
            len(known),
            0,
            "proportion, Wilson score interval",
        )
        yield self.row(name, name, "position_consistency", est)

    def _longer_wins(self, name: str, codes: np.ndarray) -> Iterator[ResultRow]:
        """Length bias: how often the longer answer wins, where both lengths are known."""
        lengths = self.data.item_lengths[self.data.target_item[self.mask]]
        known = ~np.isnan(lengths).any(axis=1)
        if not known.any():
            return
        verdicts = codes[known].ravel()
        len_a = np.repeat(lengths[known, 0], codes.shape[1])
        len_b = np.repeat(lengths[known, 1], codes.shape[1])
        judged = ~np.isnan(verdicts)
        if not judged.any():
            return
        est = stats.longer_wins(verdicts[judged], len_a[judged], len_b[judged])
        yield self.row(name, name, "longer_answer_wins", est)

    def gaps(self, ref: str) -> tuple[list[ShortfallRow], list[ResultRow]]:
        data = self.data
        human = self.codes[ref]
        shortfall, rows = [], []
        if not data.categorical:
            return shortfall, rows
        for name, codes in self.codes.items():
            if data.groups[name].kind != "model" or name == ref:
                continue
            if human.shape[1] >= 2 and self.config.n_boot > 0:
                result = stats.human_ceiling_gap(
                    codes,
                    human,
                    rng=self.resampler,
                    n_boot=self.config.n_boot,
                    n_categories=data.n_categories,
                    tie_code=None,
                    clusters=self.clusters,
                )
                gap, p, verdict = result.gap, result.p_value, result.verdict
                judge, ceiling = result.model_agreement.value, result.human_agreement.value
                rows.append(self.row(ref, name, "gap", gap))
            else:
                # One reference rater: no ceiling to compare with; rank by plain agreement.
                agree = stats.percent_agreement(
                    human, codes, n_categories=data.n_categories, **self.boot
                )
                gap = Estimate(
                    agree.value - 1,
                    agree.ci_low - 1,
                    agree.ci_high - 1,
                    agree.se,
                    agree.n_items,
                    agree.n_pairs,
                    "agreement minus 1 (no ceiling)",
                )
                p, verdict = float("nan"), "no human ceiling (one reference rater)"
                judge, ceiling = agree.value, float("nan")
            shortfall.append(
                ShortfallRow(
                    criterion=data.name,
                    slice=self.slice,
                    slice_value=self.value,
                    reference_group=ref,
                    judge_group=name,
                    judge_agreement=judge,
                    human_agreement=ceiling,
                    gap=gap.value,
                    ci_low=gap.ci_low,
                    ci_high=gap.ci_high,
                    p_value=p,
                    p_adjusted=float("nan"),
                    verdict=verdict,
                    n_items=self.n_items,
                    small_slice=self.n_items < self.config.min_slice_items,
                )
            )
        return shortfall, rows


def _nanmean(codes: np.ndarray) -> np.ndarray:
    judged = (~np.isnan(codes)).sum(axis=1)
    sums = np.nansum(codes, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(judged > 0, sums / np.maximum(judged, 1), np.nan)


def _adjust(rows: list[ShortfallRow]) -> list[ShortfallRow]:
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
    return sorted(
        out,
        key=lambda r: (
            r.criterion,
            r.judge_group,
            r.slice != "all",
            np.nan_to_num(r.gap, nan=np.inf),
        ),
    )


def disagreements(data: CriterionData, ref: str) -> list[DisagreementRow]:
    """Targets where a model group's consensus differs from the reference consensus."""
    if not data.categorical:
        return []
    k = data.n_categories
    ref_cons = stats.consensus(data.groups[ref].codes, n_categories=k)
    rows = []
    for name, group in data.groups.items():
        if group.kind != "model" or name == ref:
            continue
        cons = stats.consensus(group.codes, n_categories=k)
        differ = np.flatnonzero(~np.isnan(ref_cons) & ~np.isnan(cons) & (ref_cons != cons))
        for t in differ:
            item = int(data.target_item[t])
            step = int(data.target_step[t])
            rows.append(
                DisagreementRow(
                    criterion=data.name,
                    item=data.item_ref[item],
                    step=step if step >= 0 else None,
                    reference_group=ref,
                    judge_group=name,
                    reference_label=data.label(ref_cons[t]),
                    judge_label=data.label(cons[t]),
                )
            )
    return rows
