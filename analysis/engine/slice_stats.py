"""The statistics of one slice, computed from its arrays.

Pure functions of a `SliceArrays` and a `Bootstrap`: they decide which statistic applies to
which scale and group, call `analysis.stats`, and yield `Stat`s and `GapStat`s. They know
nothing of criteria, slices or result rows; `engine.report` turns them into rows.
"""

from collections.abc import Iterator
from itertools import combinations
from typing import NamedTuple

import numpy as np

from analysis import stats
from analysis.engine.data import Bootstrap, SliceArrays
from analysis.stats import Estimate

ORDERED_SCALES = ("ordinal", "interval")
EARLIEST_ERROR_METRICS = (
    "first_error_accuracy",
    "error_accuracy",
    "correct_accuracy",
    "processbench_f1",
)
CORRELATIONS = (("spearman", "spearman"), ("kendall_tau", "kendall"), ("pearson", "pearson"))


class Stat(NamedTuple):
    """One statistic between two groups (the same group twice for a within-group one)."""

    group_a: str
    group_b: str
    metric: str
    estimate: Estimate


class GapStat(NamedTuple):
    """How far a judge group falls short of the reference group."""

    judge: str
    gap: Estimate
    p_value: float
    verdict: str
    judge_agreement: float
    human_agreement: float
    with_ceiling: bool  # False: one reference rater, the gap is agreement minus 1


def within_groups(
    arrays: SliceArrays, boot: Bootstrap, *, unpaired: bool = False
) -> Iterator[Stat]:
    """Per group: biases of pairwise judges, then agreement among the group's raters.

    Agreement needs a target judged twice; with `unpaired` it is computed wherever the group
    judged anything (a chunk of a streamed report: its lone judgements count towards the
    category shares of Fleiss' kappa and Gwet's AC1 even if no target of the chunk has two)."""
    for name, group in arrays.groups.items():
        if group.inconsistent is not None and not np.isnan(group.inconsistent).all():
            est = stats.position_consistency(group.inconsistent)
            yield Stat(name, name, "position_consistency", est)
        if arrays.scale == "pairwise" and arrays.lengths is not None:
            yield from _longer_wins(name, group.codes, arrays.lengths)
        judged = (~np.isnan(group.codes)).sum(axis=1) >= (1 if unpaired else 2)
        if arrays.categorical and group.codes.shape[1] >= 2 and judged.any():
            yield from _within_categorical(arrays, name, group.codes, boot)
        elif arrays.scale == "interval" and group.codes.shape[1] >= 2 and judged.any():
            est = stats.krippendorff_alpha_interval_values(group.codes, **boot.kwargs())
            yield Stat(name, name, "krippendorff_alpha", est)


def _within_categorical(
    arrays: SliceArrays, name: str, codes: np.ndarray, boot: Bootstrap
) -> Iterator[Stat]:
    k, kw = arrays.n_categories, boot.kwargs()
    yield Stat(
        name, name, "percent_agreement", stats.percent_agreement(codes, n_categories=k, **kw)
    )
    if arrays.tie_code is not None:
        est = stats.percent_agreement(codes, n_categories=k, tie_code=arrays.tie_code, **kw)
        yield Stat(name, name, "percent_agreement_no_ties", est)
    yield Stat(name, name, "fleiss_kappa", stats.fleiss_kappa(codes, n_categories=k, **kw))
    yield Stat(name, name, "gwet_ac1", stats.gwet_ac1(codes, n_categories=k, **kw))
    level = arrays.scale if arrays.scale in ORDERED_SCALES else "nominal"
    est = stats.krippendorff_alpha(codes, level=level, n_categories=k, **kw)
    yield Stat(name, name, "krippendorff_alpha", est)


def _longer_wins(name: str, codes: np.ndarray, lengths: np.ndarray) -> Iterator[Stat]:
    """Length bias: how often the longer answer wins, where both lengths are known."""
    known = ~np.isnan(lengths).any(axis=1)
    verdicts = codes[known].ravel()
    len_a = np.repeat(lengths[known, 0], codes.shape[1])
    len_b = np.repeat(lengths[known, 1], codes.shape[1])
    judged = ~np.isnan(verdicts)
    if judged.any():
        est = stats.longer_wins(verdicts[judged], len_a[judged], len_b[judged])
        yield Stat(name, name, "longer_answer_wins", est)


def between_groups(
    arrays: SliceArrays, boot: Bootstrap, ref: str | None, *, earliest_error: bool = True
) -> Iterator[Stat]:
    """Per pair of groups (the reference first, then people, then models): agreement on the
    targets both judged; `earliest_error=False` leaves out the earliest-error agreement (a
    streamed report cannot add it up yet)."""
    kinds = {name: g.kind for name, g in arrays.groups.items()}
    names = sorted(kinds, key=lambda n: (n != ref, kinds[n] != "human", n))
    for a, b in combinations(names, 2):
        codes_a, codes_b = arrays.groups[a].codes, arrays.groups[b].codes
        both = ~np.isnan(codes_a).all(axis=1) & ~np.isnan(codes_b).all(axis=1)
        if not both.any():
            continue
        if arrays.categorical:
            yield from _between_categorical(arrays, a, b, boot, earliest_error)
        if arrays.categorical and arrays.error_codes and a == ref and kinds[b] == "model":
            yield from _missed_errors(arrays, a, b, boot)
        if arrays.scale in ORDERED_SCALES:
            yield from _correlations(arrays, a, b, boot)


def _between_categorical(
    arrays: SliceArrays, a: str, b: str, boot: Bootstrap, earliest_error: bool
) -> Iterator[Stat]:
    k, kw = arrays.n_categories, boot.kwargs()
    codes_a, codes_b = arrays.groups[a].codes, arrays.groups[b].codes
    est = stats.percent_agreement(codes_a, codes_b, n_categories=k, **kw)
    yield Stat(a, b, "percent_agreement", est)
    if arrays.tie_code is not None:
        est = stats.percent_agreement(
            codes_a, codes_b, n_categories=k, tie_code=arrays.tie_code, **kw
        )
        yield Stat(a, b, "percent_agreement_no_ties", est)
    cons_a = stats.consensus(codes_a, n_categories=k)
    cons_b = stats.consensus(codes_b, n_categories=k)
    kappas = [("cohen_kappa", "none")]
    if arrays.scale in ORDERED_SCALES:
        kappas += [("cohen_kappa_linear", "linear"), ("cohen_kappa_quadratic", "quadratic")]
    for metric, weights in kappas:
        est = stats.cohen_kappa(cons_a, cons_b, n_categories=k, weights=weights, **kw)
        yield Stat(a, b, metric, est)
    if earliest_error and arrays.error_codes and (arrays.target_step >= 0).any():
        yield from _earliest_error(arrays, a, b, (cons_a, cons_b), boot)


def _missed_errors(arrays: SliceArrays, a: str, b: str, boot: Bootstrap) -> Iterator[Stat]:
    """How often the judge passes what the reference's consensus calls an error (and calls an
    error what it does not): an answer-only check passing a flawed solution."""
    errors = []
    for name in (a, b):
        cons = stats.consensus(arrays.groups[name].codes, n_categories=arrays.n_categories)
        is_error = np.isin(cons, list(arrays.error_codes)).astype(np.float64)
        errors.append(np.where(np.isnan(cons), np.nan, is_error))
    kw = boot.kwargs()
    yield Stat(a, b, "missed_error_rate", stats.missed_error_rate(*errors, **kw))
    yield Stat(a, b, "false_error_rate", stats.false_error_rate(*errors, **kw))


def _earliest_error(
    arrays: SliceArrays,
    a: str,
    b: str,
    consensus: tuple[np.ndarray, np.ndarray],
    boot: Bootstrap,
) -> Iterator[Stat]:
    """Agreement on each solution's first erroneous step, from the groups' step consensus."""
    steps, items = arrays.target_step, arrays.target_item
    is_step = steps >= 0
    solutions, row = np.unique(items[is_step], return_inverse=True)
    width = int(steps[is_step].max()) + 1
    first_errors = []
    for cons in consensus:
        grid = np.full((len(solutions), width), np.nan)  # (n_solutions, n_steps)
        grid[row, steps[is_step]] = cons[is_step]
        first_errors.append(stats.first_error(grid, list(arrays.error_codes)))
    result = stats.earliest_error_agreement(
        *first_errors, clusters=solutions, n_boot=boot.n_boot, rng=boot.resampler
    )
    for metric in EARLIEST_ERROR_METRICS:
        yield Stat(a, b, metric, getattr(result, metric))


def _correlations(arrays: SliceArrays, a: str, b: str, boot: Bootstrap) -> Iterator[Stat]:
    """Correlations of the two groups' mean score per target: from their joint table where
    the means lie on a grid (ordinal codes, `stats.table_correlations`: sums a streamed report
    adds up), else from the scores themselves (`stats.correlation`)."""
    codes_a, codes_b = arrays.groups[a].codes, arrays.groups[b].codes
    grids = _grids(arrays, codes_a, codes_b, boot)
    if grids is not None:
        found = stats.table_correlations(
            codes_a, codes_b, grid_a=grids[0], grid_b=grids[1], **boot.kwargs()
        )
        for metric, method in CORRELATIONS:
            yield Stat(a, b, metric, found[method])
        return
    if isinstance(boot.resampler, stats.SumsRecorder):
        return  # a streamed chunk: these are not sums; the merge has no row for them
    mean_a, mean_b = _target_means(codes_a), _target_means(codes_b)
    for metric, method in CORRELATIONS:
        est = stats.correlation(mean_a, mean_b, method=method, **boot.kwargs())
        yield Stat(a, b, metric, est)


def _grids(
    arrays: SliceArrays, codes_a: np.ndarray, codes_b: np.ndarray, boot: Bootstrap
) -> tuple[np.ndarray, np.ndarray] | None:
    """The values each side's means can take, where both are small grids (ordinal codes);
    None for interval scores, big tables, or analytic intervals (n_boot = 0: Fisher z)."""
    if not arrays.categorical or boot.n_boot == 0:
        return None
    grid_a = stats.mean_grid(arrays.n_categories, codes_a.shape[1])
    grid_b = stats.mean_grid(arrays.n_categories, codes_b.shape[1])
    if grid_a is None or grid_b is None or len(grid_a) * len(grid_b) > stats.MAX_TABLE_CELLS:
        return None
    return grid_a, grid_b


def _target_means(codes: np.ndarray) -> np.ndarray:
    judged = (~np.isnan(codes)).sum(axis=1)
    sums = np.nansum(codes, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(judged > 0, sums / np.maximum(judged, 1), np.nan)


def gaps(arrays: SliceArrays, boot: Bootstrap, ref: str) -> Iterator[GapStat]:
    """Each model group against the reference group: the gap to the human ceiling when the
    reference has two raters or more (and intervals are bootstrapped), else agreement - 1."""
    if not arrays.categorical:
        return
    human = arrays.groups[ref].codes
    for name, group in arrays.groups.items():
        if group.kind != "model" or name == ref:
            continue
        if human.shape[1] >= 2 and boot.n_boot > 0:
            yield _gap_to_ceiling(arrays, name, human, boot)
        else:
            yield _gap_without_ceiling(arrays, name, human, boot)


def _gap_to_ceiling(arrays: SliceArrays, name: str, human: np.ndarray, boot: Bootstrap) -> GapStat:
    result = stats.human_ceiling_gap(
        arrays.groups[name].codes,
        human,
        rng=boot.resampler,
        n_boot=boot.n_boot,
        n_categories=arrays.n_categories,
        tie_code=None,
        clusters=boot.clusters,
    )
    return GapStat(
        judge=name,
        gap=result.gap,
        p_value=result.p_value,
        verdict=result.verdict,
        judge_agreement=result.model_agreement.value,
        human_agreement=result.human_agreement.value,
        with_ceiling=True,
    )


def _gap_without_ceiling(
    arrays: SliceArrays, name: str, human: np.ndarray, boot: Bootstrap
) -> GapStat:
    # One reference rater: no ceiling to compare with; rank by plain agreement.
    codes = arrays.groups[name].codes
    agree = stats.percent_agreement(human, codes, n_categories=arrays.n_categories, **boot.kwargs())
    return GapStat(
        judge=name,
        gap=stats.gap_without_ceiling(agree),
        p_value=float("nan"),
        verdict="no human ceiling (one reference rater)",
        judge_agreement=agree.value,
        human_agreement=float("nan"),
        with_ceiling=False,
    )
