"""The numbers behind a report's charts that the result rows do not hold, over the overall
slice: confusion matrices (reference consensus × each other group's consensus), earliest-
error offsets per solution, and score judges' ROC and PR curves on the held-out half.
"""

from collections.abc import Iterator

import numpy as np

from analysis import stats
from analysis.engine.calibration import mean_scores, positive_class
from analysis.engine.data import CriterionData
from analysis.schema import ChartRow

MAX_CURVE_POINTS = 200
OFFSET_CATEGORIES = (
    "judge too early",
    "exact",
    "judge too late",
    "missed",
    "false alarm",
    "both: no error",
)


def _row(data: CriterionData, ref: str, other: str, chart: str, **values) -> ChartRow:
    fields = {"x_label": "", "y_label": "", "x": np.nan, "y": np.nan, "threshold": np.nan}
    fields["count"] = 0
    fields.update(values)
    return ChartRow(
        criterion=data.name,
        slice="all",
        slice_value="all",
        group_a=ref,
        group_b=other,
        chart=chart,
        **fields,
    )


def chart_rows(
    data: CriterionData, ref: str, thresholds: dict[str, stats.Threshold], held_out: np.ndarray
) -> list[ChartRow]:
    """Every chart row of one criterion against the reference group `ref`."""
    rows: list[ChartRow] = []
    if data.categorical:
        rows.extend(confusion_rows(data, ref))
        if data.error_codes and (data.target_step >= 0).any():
            rows.extend(first_error_rows(data, ref))
    rows.extend(curve_rows(data, ref, thresholds, held_out))
    return rows


def _others(data: CriterionData, ref: str) -> list[str]:
    """The other groups, people first, then models (the report's order)."""
    names = [n for n in data.groups if n != ref]
    return sorted(names, key=lambda n: (data.groups[n].kind != "human", n))


def confusion_rows(data: CriterionData, ref: str) -> Iterator[ChartRow]:
    """Targets by reference consensus × other group's consensus, every cell (zeros too), on
    the targets where both groups have a consensus."""
    k = data.n_categories
    ref_cons = stats.consensus(data.groups[ref].codes, n_categories=k)
    for other in _others(data, ref):
        cons = stats.consensus(data.groups[other].codes, n_categories=k)
        both = ~np.isnan(ref_cons) & ~np.isnan(cons)
        if not both.any():
            continue
        counts = np.zeros((k, k), dtype=np.int64)
        np.add.at(counts, (ref_cons[both].astype(int), cons[both].astype(int)), 1)
        for i in range(k):
            for j in range(k):
                yield _row(
                    data,
                    ref,
                    other,
                    "confusion",
                    x_label=data.label(i),
                    y_label=data.label(j),
                    count=int(counts[i, j]),
                )


def first_errors(data: CriterionData, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(solutions, first)``: the items with step targets and each one's first error step
    in the consensus of ``codes: (n_targets, n_raters)`` (-1 none, NaN nothing judged)."""
    steps, items = data.target_step, data.target_item
    is_step = steps >= 0
    solutions, row = np.unique(items[is_step], return_inverse=True)
    width = int(steps[is_step].max()) + 1
    cons = stats.consensus(codes, n_categories=data.n_categories)
    grid = np.full((len(solutions), width), np.nan)  # (n_solutions, n_steps)
    grid[row, steps[is_step]] = cons[is_step]
    return solutions, stats.first_error(grid, data.error_codes)


def offset_category(ref_first: float, judge_first: float) -> str:
    """Where a judge puts a solution's first error relative to the reference (-1: none)."""
    if ref_first < 0 and judge_first < 0:
        return "both: no error"
    if ref_first < 0:
        return "false alarm"
    if judge_first < 0:
        return "missed"
    if judge_first < ref_first:
        return "judge too early"
    return "exact" if judge_first == ref_first else "judge too late"


def first_error_rows(data: CriterionData, ref: str) -> Iterator[ChartRow]:
    """Solutions per (offset category, offset) for each other group, on the solutions both
    groups judged."""
    _, ref_first = first_errors(data, data.groups[ref].codes)
    for other in _others(data, ref):
        _, judge_first = first_errors(data, data.groups[other].codes)
        both = ~np.isnan(ref_first) & ~np.isnan(judge_first)
        counts: dict[tuple[str, float], int] = {}
        for r, j in zip(ref_first[both], judge_first[both], strict=True):
            offset = float(j - r) if r >= 0 and j >= 0 else np.nan
            key = (offset_category(r, j), offset)
            counts[key] = counts.get(key, 0) + 1
        order = {name: i for i, name in enumerate(OFFSET_CATEGORIES)}
        for (category, offset), n in sorted(
            counts.items(), key=lambda kv: (order[kv[0][0]], np.nan_to_num(kv[0][1]))
        ):
            yield _row(data, ref, other, "first_error_offset", x_label=category, x=offset, count=n)


def curve_points(scores: np.ndarray, positive: np.ndarray) -> dict[str, np.ndarray]:
    """ROC and PR curve points of ``scores: (n,)`` against ``positive: (n,)`` (1/0/NaN).

    One point per distinct score used as a threshold (``score >= t`` is positive), from the
    highest to the lowest, with ROC's (0, 0) first. Returns arrays ``threshold, fpr, tpr,
    precision`` (recall = tpr); empty when a class is missing.
    """
    keep = ~np.isnan(scores) & ~np.isnan(positive)
    s, y = scores[keep], positive[keep]
    n_pos, n_neg = y.sum(), (1 - y).sum()
    if n_pos == 0 or n_neg == 0:
        empty = np.zeros(0)
        return {"threshold": empty, "fpr": empty, "tpr": empty, "precision": empty}
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last index of each score
    tp = np.cumsum(y)[last]
    fp = np.cumsum(1 - y)[last]
    return {
        "threshold": np.r_[np.inf, s[last]],
        "fpr": np.r_[0.0, fp / n_neg],
        "tpr": np.r_[0.0, tp / n_pos],
        "precision": np.r_[1.0, tp / (tp + fp)],
    }


def _thin(n: int) -> np.ndarray:
    """At most MAX_CURVE_POINTS indices of ``0..n-1``, the first and last kept."""
    if n <= MAX_CURVE_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_CURVE_POINTS).round().astype(int))


def curve_rows(
    data: CriterionData, ref: str, thresholds: dict[str, stats.Threshold], held_out: np.ndarray
) -> Iterator[ChartRow]:
    """Each score group's ROC and PR curves on the held-out half, and the chosen threshold's
    point on each (marked ``x_label="chosen"``)."""
    if not thresholds:
        return
    positive = positive_class(
        data.groups[ref].codes,
        scale=data.scale,
        n_categories=data.n_categories,
        error_codes=data.error_codes,
    )
    for name, threshold in thresholds.items():
        scores = mean_scores(data.score_groups[name].codes)
        curve = curve_points(scores[held_out], positive[held_out])
        if not len(curve["fpr"]):
            continue
        for i in _thin(len(curve["fpr"])):
            t = float(curve["threshold"][i])
            yield _row(data, ref, name, "roc", x=curve["fpr"][i], y=curve["tpr"][i], threshold=t)
            if i > 0:  # PR has no point before the first threshold
                p = curve["precision"][i]
                yield _row(data, ref, name, "pr", x=curve["tpr"][i], y=p, threshold=t)
        # The chosen threshold's point: the last curve threshold at or above it (the same
        # targets are predicted positive).
        at = max(int(np.searchsorted(-curve["threshold"], -threshold.value, "right")) - 1, 0)
        t = float(threshold.value)
        fpr, tpr, prec = curve["fpr"][at], curve["tpr"][at], curve["precision"][at]
        yield _row(data, ref, name, "roc", x_label="chosen", x=fpr, y=tpr, threshold=t)
        yield _row(data, ref, name, "pr", x_label="chosen", x=tpr, y=prec, threshold=t)
