"""Correlations of per-target mean scores from their joint table, for scores on a finite grid.

On an ordinal scale a group's per-target mean of integer codes 0..K-1 can only be ``s / c``
(c the number of its raters who scored the target, s the sum of their codes): a finite grid.
The joint table of counts over (grid of A) x (grid of B) is then a sufficient statistic of
Pearson's r, Spearman's rho (Pearson on midranks, which the marginal counts fix) and Kendall's
tau-b (concordant, discordant and tied pairs): per-target one-hot cells, summed. Sums add over
disjoint targets, so a streamed report's chunks add their tables and the merge computes the
same correlations; and the table is integer counts, so the point estimates are exact in any
order of addition (every sum below over the table is `math.fsum` or integer arithmetic).

The in-process report uses this too wherever a grid exists (one rule for both paths; tests
hold it to scipy's pearsonr, spearmanr and kendalltau(variant="b") on random data). Scores
off any grid (interval scales) or grids of more than MAX_CELLS cells keep
`stats.correlation`, which a streamed report cannot add up.

References
----------
Agresti, A. (2010). Analysis of Ordinal Categorical Data, 2nd ed., sec. 7.1 (tau-b from a
contingency table). Kendall, M. G. (1945). The treatment of ties in ranking problems.
Biometrika 33(3).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Literal

import numpy as np
import numpy.typing as npt

from analysis.stats._validate import subset_clusters
from analysis.stats.bootstrap import Resampler, estimate_from_stats
from analysis.stats.correlation import target_means
from analysis.stats.results import Estimate

TableMethod = Literal["pearson", "spearman", "kendall"]
NAMES = {"pearson": "Pearson r", "spearman": "Spearman rho", "kendall": "Kendall tau-b"}
MAX_CELLS = 1024


def mean_grid(n_categories: int, n_raters: int) -> np.ndarray | None:
    """Every value a mean of 1..n_raters integer codes in 0..n_categories-1 can take, sorted
    (computed as the means are: ``float(s) / c``); None past MAX_CELLS values."""
    if n_categories < 1 or n_raters < 1:
        return None
    values = {
        float(np.float64(s) / c)
        for c in range(1, n_raters + 1)
        for s in range(c * (n_categories - 1) + 1)
    }
    if len(values) > MAX_CELLS:
        return None
    return np.array(sorted(values))


def table_correlations(
    scores_a: npt.ArrayLike,
    scores_b: npt.ArrayLike,
    *,
    grid_a: np.ndarray,
    grid_b: np.ndarray,
    clusters: npt.ArrayLike | None,
    n_boot: int,
    rng: np.random.Generator | Resampler | None,
    confidence: float = 0.95,
) -> dict[TableMethod, Estimate]:
    """Pearson, Spearman and Kendall tau-b of the two groups' per-target mean scores.

    Parameters
    ----------
    scores_a, scores_b : array_like, shape (n_targets, n_raters)
        Integer codes, NaN for missing; averaged per target (targets missing in either group
        are dropped), as in :func:`analysis.stats.correlation`.
    grid_a, grid_b : ndarray
        The values each group's means can take (:func:`mean_grid`).
    clusters, n_boot, rng, confidence
        As in :func:`analysis.stats.estimate_from_stats`; the three share the resamples.

    Returns
    -------
    dict
        method -> Estimate; NaN with fewer than 3 targets or a constant side.
    """
    a = target_means(scores_a, "scores_a")
    b = target_means(scores_b, "scores_b")
    both = ~np.isnan(a) & ~np.isnan(b)
    cells = _cells(a[both], grid_a) * len(grid_b) + _cells(b[both], grid_b)
    n = int(both.sum())
    one_hot = np.zeros((n, len(grid_a) * len(grid_b)))
    one_hot[np.arange(n), cells] = 1.0
    kept = None if clusters is None else subset_clusters(clusters, both)
    if n_boot > 0 and rng is not None and not isinstance(rng, Resampler):
        labels = np.arange(n) if kept is None else kept
        rng = Resampler.draw(labels, n_boot, rng)
        kept = labels
    grids = {"grid_a": tuple(grid_a.tolist()), "grid_b": tuple(grid_b.tolist())}
    return {
        method: estimate_from_stats(
            one_hot,
            partial(table_metric, method=method, **grids),
            clusters=kept,
            n_boot=n_boot,
            rng=rng,
            confidence=confidence,
            n_items=n,
            n_pairs=n,
            name=NAMES[method],
        )  # fmt: skip
        for method in ("spearman", "kendall", "pearson")
    }


def _cells(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    index = np.minimum(np.searchsorted(grid, values), len(grid) - 1)
    if not np.array_equal(grid[index], values):
        raise ValueError("a mean score is off the grid of its scale (not integer codes?)")
    return index


def table_metric(
    counts: np.ndarray,
    *,
    method: TableMethod,
    grid_a: tuple[float, ...],
    grid_b: tuple[float, ...],
) -> np.ndarray:
    """The correlation of each joint table in ``counts`` (..., len(grid_a) * len(grid_b)).

    One table (a point estimate) is computed exactly (`_one`); many (bootstrap resamples)
    are computed together in floating point, which their percentiles do not notice.
    """
    counts = np.asarray(counts, dtype=np.float64)
    x, y = np.array(grid_a), np.array(grid_b)
    if counts.ndim == 1:
        return np.float64(_one(counts.reshape(len(x), len(y)), method, x, y))
    tables = counts.reshape(-1, len(x), len(y))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _many(tables, method, x, y)
    return out.reshape(counts.shape[:-1])


def _many(tables: np.ndarray, method: TableMethod, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`_one` for a stack of tables (B, nx, ny), vectorised, in float64."""
    total = tables.sum(axis=(1, 2))
    rows, cols = tables.sum(axis=2), tables.sum(axis=1)
    if method == "kendall":
        after = np.zeros_like(tables)
        flipped = tables[:, ::-1, ::-1].cumsum(axis=1).cumsum(axis=2)[:, ::-1, ::-1]
        after[:, :-1, :-1] = flipped[:, 1:, 1:]
        left = tables[:, ::-1, :].cumsum(axis=1)[:, ::-1, :].cumsum(axis=2)
        below_left = np.zeros_like(tables)
        below_left[:, :-1, 1:] = left[:, 1:, :-1]
        concordant = (tables * after).sum(axis=(1, 2))
        discordant = (tables * below_left).sum(axis=(1, 2))
        pairs = total * (total - 1) / 2
        tied_a = (rows * (rows - 1) / 2).sum(axis=1)
        tied_b = (cols * (cols - 1) / 2).sum(axis=1)
        denominator = (pairs - tied_a) * (pairs - tied_b)
        tau = (concordant - discordant) / np.sqrt(np.where(denominator > 0, denominator, np.nan))
        return np.where(total >= 3, tau, np.nan)
    if method == "spearman":
        xs = np.cumsum(rows, axis=1) - (rows - 1) / 2.0  # (B, nx) midranks
        ys = np.cumsum(cols, axis=1) - (cols - 1) / 2.0
    else:
        xs = np.broadcast_to(x, rows.shape)
        ys = np.broadcast_to(y, cols.shape)
    mx = (rows * xs).sum(axis=1) / total
    my = (cols * ys).sum(axis=1) / total
    dx, dy = xs - mx[:, None], ys - my[:, None]
    sxy = np.einsum("bij,bi,bj->b", tables, dx, dy)
    sxx, syy = (rows * dx * dx).sum(axis=1), (cols * dy * dy).sum(axis=1)
    ok = (total >= 3) & (sxx > 0) & (syy > 0)
    r = sxy / np.sqrt(np.where(ok, sxx * syy, np.nan))
    return np.clip(r, -1.0, 1.0)


def _one(table: np.ndarray, method: TableMethod, x: np.ndarray, y: np.ndarray) -> float:
    """One table's correlation. Counts are whole numbers (targets, or targets times integer
    resample weights), so integer arithmetic and fsum make the result order-independent."""
    counts = np.rint(table).astype(np.int64)
    total = int(counts.sum())
    if total < 3:
        return math.nan
    rows, cols = counts.sum(axis=1), counts.sum(axis=0)
    if method == "kendall":
        return _tau_b(counts, rows, cols, total)
    if method == "spearman":
        x, y = _midranks(rows), _midranks(cols)
    return _pearson(counts, x, y, total)


def _midranks(margin: np.ndarray) -> np.ndarray:
    # Level i of the sorted grid holds ranks through-margin+1 .. through: its midrank.
    through = np.cumsum(margin)
    return through - (margin - 1) / 2.0


def _pearson(counts: np.ndarray, x: np.ndarray, y: np.ndarray, total: int) -> float:
    i, j = np.nonzero(counts)
    n = counts[i, j].astype(np.float64)
    mx = math.fsum(n * x[i]) / total
    my = math.fsum(n * y[j]) / total
    dx, dy = x[i] - mx, y[j] - my
    sxy = math.fsum(n * dx * dy)
    sxx, syy = math.fsum(n * dx * dx), math.fsum(n * dy * dy)
    if sxx <= 0.0 or syy <= 0.0:
        return math.nan
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def _tau_b(counts: np.ndarray, rows: np.ndarray, cols: np.ndarray, total: int) -> float:
    # below_right[i, j]: targets with a larger A level and a larger B level than cell (i, j).
    flipped = counts[::-1, ::-1]
    after = np.zeros_like(counts)
    after[:-1, :-1] = flipped.cumsum(axis=0).cumsum(axis=1)[::-1, ::-1][1:, 1:]
    below_left = np.zeros_like(counts)
    left = counts[::-1, :].cumsum(axis=0)[::-1, :].cumsum(axis=1)  # rows >= i, cols <= j
    below_left[:-1, 1:] = left[1:, :-1]
    concordant = int((counts * after).sum())
    discordant = int((counts * below_left).sum())
    pairs = total * (total - 1) // 2
    tied_a = int((rows * (rows - 1) // 2).sum())
    tied_b = int((cols * (cols - 1) // 2).sum())
    denominator = (pairs - tied_a) * (pairs - tied_b)
    if denominator <= 0:
        return math.nan
    return (concordant - discordant) / math.sqrt(denominator)
