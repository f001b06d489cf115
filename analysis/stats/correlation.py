"""Correlation of per-target mean scores between two groups of raters."""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.stats

from analysis.stats._validate import check_confidence, subset_clusters
from analysis.stats.bootstrap import (
    Resampler,
    bootstrap_label,
    bootstrap_se,
    check_bootstrap_args,
    cluster_ids,
    percentile_interval,
    resample_counts,
)
from analysis.stats.results import Estimate

CorrelationMethod = Literal["pearson", "spearman", "kendall"]
_METHODS = ("pearson", "spearman", "kendall")
_NAMES = {"pearson": "Pearson r", "spearman": "Spearman rho", "kendall": "Kendall tau-b"}
# Caps the (resamples, n_targets) weight matrices of the rank-based bootstrap at ~32 MB each.
_MAX_WEIGHT_CELLS = 4_000_000


def target_means(scores: npt.ArrayLike, name: str) -> np.ndarray:
    """Mean score per target, ignoring missing judgements.

    Parameters
    ----------
    scores : array_like, shape (n_targets,) or (n_targets, n_raters)
        Numeric scores, NaN for missing.
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray of float64, shape (n_targets,)
        NaN for targets without any score.
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1- or 2-dimensional, got shape {arr.shape}")
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains infinite values")
    present = ~np.isnan(arr)
    n = present.sum(axis=1)
    total = np.where(present, arr, 0.0).sum(axis=1)
    return np.divide(total, n, out=np.full(arr.shape[0], np.nan), where=n > 0)


def _weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    # x, y: (..., n) or (n,); w: (B, n). Centring first keeps the sums well conditioned.
    total = w.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = x - (w * x).sum(axis=-1, keepdims=True) / total
        dy = y - (w * y).sum(axis=-1, keepdims=True) / total
        sxy = (w * dx * dy).sum(axis=-1)
        sxx = (w * dx * dx).sum(axis=-1)
        syy = (w * dy * dy).sum(axis=-1)
        return sxy / np.sqrt(sxx * syy)


def _weighted_midranks(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Midranks each target would get in the sample that repeats it ``w`` times.

    Parameters
    ----------
    values : ndarray, shape (n,)
    w : ndarray, shape (B, n)
        Non-negative integer multiplicities.

    Returns
    -------
    ndarray, shape (B, n)
        Equal to ``scipy.stats.rankdata`` of the expanded sample, mapped back to targets.
    """
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    new_level = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    starts = np.flatnonzero(new_level)
    level = np.empty(values.shape[0], dtype=np.intp)
    level[order] = np.cumsum(new_level) - 1
    level_weight = np.add.reduceat(w[:, order], starts, axis=1)
    through = np.cumsum(level_weight, axis=1)
    # Tied draws occupy positions through-weight+1 .. through; their mean is the midrank.
    return (through - (level_weight - 1.0) / 2.0)[:, level]


def weighted_correlations(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, *, method: CorrelationMethod
) -> np.ndarray:
    """Correlation of ``x`` and ``y`` in many reweighted (bootstrap) samples.

    Parameters
    ----------
    x, y : ndarray, shape (n,)
    weights : ndarray, shape (B, n)
        Integer multiplicity of each observation in each sample.
    method : {"pearson", "spearman", "kendall"}

    Returns
    -------
    ndarray, shape (B,)
        The correlation scipy would give on each expanded sample; NaN where undefined.

    Notes
    -----
    Pearson and Spearman are vectorised across samples (Spearman = Pearson on weighted
    midranks). Kendall's tau-b has no low-dimensional sufficient statistic, so it loops over
    samples, calling scipy on each expanded sample (O(B n log n)).
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    w = np.asarray(weights, dtype=np.float64)
    if method == "pearson":
        return _weighted_pearson(x, y, w)
    if method == "spearman":
        return _weighted_pearson(_weighted_midranks(x, w), _weighted_midranks(y, w), w)
    out = np.full(w.shape[0], np.nan)
    index = np.arange(x.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant resamples: NaN is the intended result
        for row in range(w.shape[0]):
            drawn = np.repeat(index, w[row].astype(np.int64))
            if drawn.size >= 2:
                out[row] = scipy.stats.kendalltau(x[drawn], y[drawn]).statistic
    return out


def _point(x: np.ndarray, y: np.ndarray, method: CorrelationMethod) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: scipy returns NaN, which we keep
        if method == "pearson":
            return float(scipy.stats.pearsonr(x, y).statistic)
        if method == "spearman":
            return float(scipy.stats.spearmanr(x, y).statistic)
        return float(scipy.stats.kendalltau(x, y, variant="b").statistic)


def _fisher_se(r: float, n: int, method: CorrelationMethod) -> float:
    """SE of atanh(r): 1/sqrt(n-3) for Pearson, Bonett & Wright (2000) for the rank methods."""
    if method == "pearson":
        return 1.0 / math.sqrt(n - 3) if n > 3 else math.nan
    if method == "spearman":
        return math.sqrt((1.0 + r * r / 2.0) / (n - 3)) if n > 3 else math.nan
    return math.sqrt(0.437 / (n - 4)) if n > 4 else math.nan


def correlation(
    scores_a: npt.ArrayLike,
    scores_b: npt.ArrayLike,
    *,
    method: CorrelationMethod,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Correlation between two groups' per-target mean scores.

    Parameters
    ----------
    scores_a : array_like, shape (n_targets,) or (n_targets, n_raters_a)
        Scores from group A, NaN for missing; averaged per target.
    scores_b : array_like, shape (n_targets,) or (n_targets, n_raters_b)
        Scores from group B on the same targets.
    method : {"pearson", "spearman", "kendall"}
        Kendall is tau-b (ties corrected).
    clusters : array_like, shape (n_targets,), optional
        Cluster of each target for the bootstrap.
    n_boot : int, default 0
        0 gives a Fisher-z interval: SE ``1/sqrt(n-3)`` (Pearson), ``sqrt((1 + r^2/2)/(n-3))``
        (Spearman) or ``sqrt(0.437/(n-4))`` (Kendall), after Bonett & Wright (2000).
        > 0 gives a percentile cluster-bootstrap interval.
    rng : numpy.random.Generator, optional
        Required when ``n_boot > 0``.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        Targets missing in either group are dropped. ``value`` is NaN with fewer than 3
        targets or a constant score vector; the Fisher interval needs n > 3 (n > 4 for
        Kendall). ``se`` of the Fisher interval is the delta-method SE ``(1 - r^2) SE_z``.
        ``n_items`` and ``n_pairs``: targets used.

    References
    ----------
    Fisher, R. A. (1921). On the probable error of a coefficient of correlation. Metron 1.
    Bonett, D. G. & Wright, T. A. (2000). Sample size requirements for estimating Pearson,
    Kendall and Spearman correlations. Psychometrika 65(1).
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    check_confidence(confidence)
    check_bootstrap_args(n_boot, rng)
    a = target_means(scores_a, "scores_a")
    b = target_means(scores_b, "scores_b")
    if a.shape != b.shape:
        raise ValueError(f"scores_b has {b.shape[0]} targets, expected {a.shape[0]}")
    both = ~np.isnan(a) & ~np.isnan(b)
    x, y = a[both], b[both]
    n = int(both.sum())
    value = _point(x, y, method) if n >= 3 else math.nan
    name = _NAMES[method]
    if n_boot == 0:
        z = float(scipy.stats.norm.ppf(0.5 + confidence / 2.0))
        se_z = _fisher_se(value, n, method)
        with np.errstate(divide="ignore"):
            centre = float(np.arctanh(value))
        low, high = math.tanh(centre - z * se_z), math.tanh(centre + z * se_z)
        interval = "Fisher z" if method == "pearson" else "Fisher z with Bonett-Wright (2000) SE"
        return Estimate(
            value,
            low,
            high,
            (1.0 - value * value) * se_z,
            n,
            n,
            f"{name}; {interval} {100 * confidence:g}% CI",
        )
    assert rng is not None  # narrowed by check_bootstrap_args
    kept = None if clusters is None else subset_clusters(clusters, both)
    ids, n_clusters = cluster_ids(kept, n)
    replicates = np.full(n_boot, np.nan)
    if n >= 3:
        rows_per_block = max(1, _MAX_WEIGHT_CELLS // max(n, 1))
        done = 0
        if isinstance(rng, Resampler):
            shared = np.unique(np.asarray(kept)) if kept is not None else None
            if shared is None:
                raise ValueError("a shared Resampler needs the cluster label of each target")
            blocks = [rng.counts[:, rng.columns(shared)].astype(np.float64)]
        else:
            blocks = resample_counts(n_clusters, n_boot, rng)
        for counts in blocks:
            for start in range(0, counts.shape[0], rows_per_block):
                weights = counts[start : start + rows_per_block][:, ids]
                block = weighted_correlations(x, y, weights, method=method)
                replicates[done : done + block.shape[0]] = block
                done += block.shape[0]
    low, high = percentile_interval(replicates, confidence)
    return Estimate(
        value,
        low,
        high,
        bootstrap_se(replicates),
        n,
        n,
        f"{name}; {bootstrap_label(n_boot, confidence)}",
    )
