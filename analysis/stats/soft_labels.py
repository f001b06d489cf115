"""A judge against the *distribution* of the reference raters' labels, not their majority.

Where experts split 2-1, a judge that sides with the minority is not plainly wrong: its
expected agreement on that target is 1/3, not 0. These statistics average per-target
quantities over targets, each target weighing the same.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import numpy.typing as npt

from analysis.stats._validate import (
    as_codes,
    category_counts,
    check_same_length,
    resolve_n_categories,
    subset_clusters,
)
from analysis.stats.bootstrap import Resampler, estimate_from_stats
from analysis.stats.results import Estimate


def _mean(sums: np.ndarray) -> np.ndarray:
    return sums[..., 0] / sums[..., 1]


def _distributions(
    judge_codes: npt.ArrayLike,
    reference_codes: npt.ArrayLike,
    n_categories: int | None,
    min_reference: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Per-category counts of the judge and of the reference on the kept targets."""
    judge = as_codes(judge_codes, "judge_codes", ndim=2)
    ref = as_codes(reference_codes, "reference_codes", ndim=2)
    check_same_length(judge.shape[0], ref, "reference_codes")
    if not isinstance(min_reference, int) or min_reference < 1:
        raise ValueError(f"min_reference must be an integer >= 1, got {min_reference!r}")
    k = resolve_n_categories([judge, ref], n_categories)
    c_judge = category_counts(judge, k).astype(np.float64)
    c_ref = category_counts(ref, k).astype(np.float64)
    keep = (c_judge.sum(axis=1) > 0) & (c_ref.sum(axis=1) >= min_reference)
    return c_judge[keep], c_ref[keep], keep, k


def soft_agreement(
    judge_codes: npt.ArrayLike,
    reference_codes: npt.ArrayLike,
    *,
    n_categories: int | None = None,
    min_reference: int = 2,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Expected agreement of a judge with the reference raters' label distribution.

    Per target, the share of reference raters who gave the judge's label (for a judge group
    of several raters or samples: that share averaged over its labels, i.e.
    ``sum_k p_judge(k) p_ref(k)``), averaged over targets.

    Parameters
    ----------
    judge_codes : array_like, shape (n_targets, n_judge_raters)
        Category codes, NaN for missing.
    reference_codes : array_like, shape (n_targets, n_reference_raters)
        Category codes, NaN for missing.
    n_categories : int, optional
        Inferred from the largest code when omitted.
    min_reference : int, default 2
        Targets with fewer reference labels are left out (one label is no distribution).
    clusters : array_like, shape (n_targets,), optional
    n_boot : int, default 0
    rng : numpy.random.Generator or Resampler, optional
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        NaN without a kept target. ``n_items``: kept targets; ``n_pairs``: (judge label,
        reference label) pairs on them.

    References
    ----------
    Uma, A. et al. (2021). Learning from disagreement: a survey. JAIR 72 (soft evaluation
    against the distribution of annotators' labels).
    """
    c_judge, c_ref, keep, _ = _distributions(
        judge_codes, reference_codes, n_categories, min_reference
    )
    name = (
        f"mean over targets of the share of reference labels equal to the judge's "
        f"(targets with >= {min_reference} reference labels)"
    )
    n_pairs = int((c_judge.sum(axis=1) * c_ref.sum(axis=1)).sum())
    # A target's share is (agreeing label pairs) / (label pairs), two whole numbers. Summed
    # per denominator and divided once at the end (in a fixed order), the mean is the same
    # float however the targets are split and added (a streamed report's chunks); the
    # denominators are at most (judge columns) x (reference columns).
    width = np.asarray(judge_codes).shape[1] * np.asarray(reference_codes).shape[1]
    if width > _MAX_DENOMINATORS:
        p_judge = c_judge / c_judge.sum(axis=1, keepdims=True)
        p_ref = c_ref / c_ref.sum(axis=1, keepdims=True)
        per_target = (p_judge * p_ref).sum(axis=1)
        return _target_mean(per_target, keep, n_pairs, name, clusters, n_boot, rng, confidence)
    agreeing = (c_judge * c_ref).sum(axis=1)
    pairs = (c_judge.sum(axis=1) * c_ref.sum(axis=1)).astype(np.int64)
    stats = np.zeros((agreeing.shape[0], width + 1))
    stats[np.arange(agreeing.shape[0]), pairs - 1] = agreeing
    stats[:, width] = 1.0
    metric = partial(_grouped_mean, width=width)
    return _estimate(stats, metric, keep, n_pairs, name, clusters, n_boot, rng, confidence)


_MAX_DENOMINATORS = 256


def _grouped_mean(sums: np.ndarray, width: int) -> np.ndarray:
    """Mean of per-target fractions from numerators summed per denominator 1..width (column
    d-1) and the count of targets (column ``width``); added in the order of d."""
    total = np.zeros(sums.shape[:-1])
    for d in range(1, width + 1):
        total = total + sums[..., d - 1] / d
    return total / sums[..., width]


def soft_log_loss(
    judge_codes: npt.ArrayLike,
    reference_codes: npt.ArrayLike,
    *,
    n_categories: int | None = None,
    smoothing: float = 0.5,
    min_reference: int = 2,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Log-loss (cross-entropy, nats) of the judge's smoothed label distribution against the
    reference raters' label distribution, averaged over targets.

    The judge's distribution on a target is that of its raters' (or samples') labels,
    additively smoothed: ``q(k) = (c_k + smoothing) / (n + K * smoothing)``; the loss is
    ``-sum_k p_ref(k) log q(k)``. Lower is better; a judge that always gives the uniform
    distribution scores ``log K``.

    Parameters
    ----------
    judge_codes : array_like, shape (n_targets, n_judge_raters)
    reference_codes : array_like, shape (n_targets, n_reference_raters)
    n_categories : int, optional
        ``K``; inferred from the largest code when omitted.
    smoothing : float, default 0.5
        Pseudo-count per category (0.5: the Krichevsky–Trofimov / Jeffreys estimator), > 0
        so that a label no sample gave costs a finite amount.
    min_reference : int, default 2
    clusters, n_boot, rng, confidence
        As in :func:`soft_agreement`.

    Returns
    -------
    Estimate
        NaN without a kept target.

    References
    ----------
    Krichevsky, R. & Trofimov, V. (1981). The performance of universal encoding. IEEE Trans.
    Inf. Theory 27(2).
    """
    if not (isinstance(smoothing, int | float) and smoothing > 0 and np.isfinite(smoothing)):
        raise ValueError(f"smoothing must be a positive number, got {smoothing!r}")
    c_judge, c_ref, keep, k = _distributions(
        judge_codes, reference_codes, n_categories, min_reference
    )
    q = (c_judge + smoothing) / (c_judge.sum(axis=1, keepdims=True) + k * smoothing)
    p_ref = c_ref / c_ref.sum(axis=1, keepdims=True)
    per_target = -(p_ref * np.log(q)).sum(axis=1)
    return _target_mean(
        per_target,
        keep,
        int((c_judge.sum(axis=1) * c_ref.sum(axis=1)).sum()),
        f"mean over targets of the cross-entropy of the judge's label distribution "
        f"(add-{smoothing:g} smoothed) against the reference's",
        clusters,
        n_boot,
        rng,
        confidence,
    )


def _target_mean(
    per_target: np.ndarray,
    keep: np.ndarray,
    n_pairs: int,
    name: str,
    clusters: npt.ArrayLike | None,
    n_boot: int,
    rng: np.random.Generator | Resampler | None,
    confidence: float,
) -> Estimate:
    stats = np.column_stack([per_target, np.ones(per_target.shape[0])])
    return _estimate(stats, _mean, keep, n_pairs, name, clusters, n_boot, rng, confidence)


def _estimate(
    stats: np.ndarray,
    metric: Callable[[np.ndarray], np.ndarray],
    keep: np.ndarray,
    n_pairs: int,
    name: str,
    clusters: npt.ArrayLike | None,
    n_boot: int,
    rng: np.random.Generator | Resampler | None,
    confidence: float,
) -> Estimate:
    """The estimate of a mean over the kept targets, `metric` of their summed `stats`."""
    return estimate_from_stats(
        stats,
        metric,
        clusters=None if clusters is None else subset_clusters(clusters, keep),
        n_boot=n_boot,
        rng=rng,
        confidence=confidence,
        n_items=int(keep.sum()),
        n_pairs=n_pairs,
        name=name,
    )
