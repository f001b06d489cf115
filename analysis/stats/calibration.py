"""Continuous scores (reward models, process reward models) judged against binary labels.

A score judge gives each target a real number; the experts give it a label. Here the label is
reduced to ``positive: (n_targets,)`` with 1 for the positive class, 0 for the negative class
and NaN where it is unknown (no consensus). Higher scores must mean "more likely positive".

* :func:`roc_auc` - the area under the ROC curve, the Mann-Whitney probability that a random
  positive target outscores a random negative one (ties count half).
* :func:`average_precision` - the area under the precision-recall curve as the step-wise
  average precision (scikit-learn's ``average_precision_score``).
* :func:`threshold_choose` - the threshold maximising accuracy on a development split, and
  :func:`threshold_accuracy` - that threshold's accuracy on other targets.

Targets with a NaN score or a NaN label are dropped. Well-formed data on which a statistic is
undefined (only one class present) gives ``value = nan``; the counts in the result show why.
Intervals: ``n_boot = 0`` gives none (steps of one solution are not independent, so the
Hanley-McNeil or binomial intervals would be too narrow); ``n_boot > 0`` gives a percentile
cluster-bootstrap interval, the resampled clusters entering the statistic as integer weights.

References
----------
Hanley, J. A. & McNeil, B. J. (1982). The meaning and use of the area under a receiver
operating characteristic (ROC) curve. Radiology 143(1).
Mann, H. B. & Whitney, D. R. (1947). On a test of whether one of two random variables is
stochastically larger than the other. Ann. Math. Statist. 18(1).
Manning, C. D., Raghavan, P. & Schuetze, H. (2008). Introduction to Information Retrieval,
sec. 8.4 (average precision).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analysis.stats._validate import check_confidence, subset_clusters
from analysis.stats.bootstrap import (
    Resampler,
    bootstrap_label,
    bootstrap_se,
    check_bootstrap_args,
    cluster_ids,
    estimate_from_stats,
    percentile_interval,
    resample_counts,
)
from analysis.stats.results import Estimate

# Caps the (resamples, n_levels) weight matrices of one bootstrap block at ~32 MB each.
_MAX_WEIGHT_CELLS = 4_000_000

WeightedMetric = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Threshold:
    """A decision threshold chosen on development targets.

    Attributes
    ----------
    value : float
        Targets with ``score >= value`` are predicted positive.
    accuracy : float
        Accuracy of that rule on the targets it was chosen on; NaN without targets.
    n_items : int
        Targets (with a score and a label) it was chosen on.
    rule : str
        How it was chosen, for a report's ``method`` text.
    """

    value: float
    accuracy: float
    n_items: int
    rule: str


def _scores_and_labels(
    scores: npt.ArrayLike, positive: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(score, label, kept)`` with the targets missing either dropped."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(positive, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-dimensional, got shape {s.shape}")
    if y.shape != s.shape:
        raise ValueError(f"positive must have shape {s.shape}, got {y.shape}")
    if np.isinf(s).any():
        raise ValueError("scores contains infinite values")
    known = y[~np.isnan(y)]
    if not np.isin(known, (0.0, 1.0)).all():
        raise ValueError("positive must hold 1 (positive), 0 (negative) or NaN (unknown)")
    kept = ~np.isnan(s) & ~np.isnan(y)
    return s[kept], y[kept], kept


def _levels(scores: np.ndarray, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sort order and the start of each run of equal scores in it."""
    order = np.argsort(-scores if descending else scores, kind="stable")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, starts


def _class_weights(
    y: np.ndarray, w: np.ndarray, order: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative weight of each score level, each of shape (B, n_levels)."""
    pos = np.add.reduceat((w * y)[:, order], starts, axis=1)
    neg = np.add.reduceat((w * (1.0 - y))[:, order], starts, axis=1)
    return pos, neg


def weighted_roc_auc(scores: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ROC-AUC of the samples that repeat target ``i`` ``w[b, i]`` times.

    Parameters
    ----------
    scores, y : ndarray, shape (n,)
        Scores and 1/0 labels, no NaN.
    w : ndarray, shape (B, n)
        Non-negative multiplicities.

    Returns
    -------
    ndarray, shape (B,)
        NaN where a sample lacks one of the classes.
    """
    if scores.shape[0] == 0:
        return np.full(w.shape[0], np.nan)
    order, starts = _levels(scores, descending=False)
    pos, neg = _class_weights(y, w, order, starts)
    below = np.cumsum(neg, axis=1) - neg  # negatives scoring strictly lower
    u = (pos * (below + 0.5 * neg)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return u / (pos.sum(axis=1) * neg.sum(axis=1))


def weighted_average_precision(scores: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average precision of the samples that repeat target ``i`` ``w[b, i]`` times.

    Parameters
    ----------
    scores, y : ndarray, shape (n,)
        Scores and 1/0 labels, no NaN.
    w : ndarray, shape (B, n)
        Non-negative multiplicities.

    Returns
    -------
    ndarray, shape (B,)
        ``sum_t (R_t - R_{t-1}) P_t`` over the distinct scores ``t`` from the highest down,
        with recall ``R_t`` and precision ``P_t`` of "score >= t"; NaN where a sample has no
        positive target.
    """
    if scores.shape[0] == 0:
        return np.full(w.shape[0], np.nan)
    order, starts = _levels(scores, descending=True)
    pos, neg = _class_weights(y, w, order, starts)
    tp = np.cumsum(pos, axis=1)
    predicted = tp + np.cumsum(neg, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        return (pos * precision).sum(axis=1) / pos.sum(axis=1)


def _weighted_estimate(
    metric: WeightedMetric,
    scores: npt.ArrayLike,
    positive: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike | None,
    n_boot: int,
    rng: np.random.Generator | Resampler | None,
    confidence: float,
    name: str,
    pairs: Callable[[int, int], int],
) -> Estimate:
    check_confidence(confidence)
    check_bootstrap_args(n_boot, rng)
    s, y, kept = _scores_and_labels(scores, positive)
    n = int(s.shape[0])
    n_pos = int(y.sum())
    value = float(metric(s, y, np.ones((1, n)))[0])
    nan = float("nan")
    if n_boot == 0:
        return Estimate(value, nan, nan, nan, n, pairs(n_pos, n - n_pos), f"{name}; no interval")
    replicates = np.full(n_boot, np.nan)
    done = 0
    for weights in _weight_blocks(clusters, kept, n_boot, rng):
        block = metric(s, y, weights)
        replicates[done : done + block.shape[0]] = block
        done += block.shape[0]
    low, high = percentile_interval(replicates, confidence)
    return Estimate(
        value,
        low,
        high,
        bootstrap_se(replicates),
        n,
        pairs(n_pos, n - n_pos),
        f"{name}; {bootstrap_label(n_boot, confidence)}",
    )


def _weight_blocks(
    clusters: npt.ArrayLike | None,
    kept: np.ndarray,
    n_boot: int,
    rng: np.random.Generator | Resampler | None,
) -> Iterable[np.ndarray]:
    """Blocks of per-target multiplicities ``(rows, n_kept)`` covering ``n_boot`` resamples."""
    labels = None if clusters is None else subset_clusters(clusters, kept)
    n = int(kept.sum())
    rows_per_block = max(1, _MAX_WEIGHT_CELLS // max(n, 1))
    if isinstance(rng, Resampler):
        if labels is None:
            raise ValueError("a shared Resampler needs the cluster label of each target")
        cols = rng.columns(labels)
        for start in range(0, n_boot, rows_per_block):
            yield rng.counts[start : start + rows_per_block][:, cols].astype(np.float64)
        return
    assert isinstance(rng, np.random.Generator)  # narrowed by check_bootstrap_args
    ids, n_clusters = cluster_ids(labels, n)
    for counts in resample_counts(n_clusters, n_boot, rng):
        for start in range(0, counts.shape[0], rows_per_block):
            yield counts[start : start + rows_per_block][:, ids]


def roc_auc(
    scores: npt.ArrayLike,
    positive: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Area under the ROC curve: P(a positive target outscores a negative one).

    Parameters
    ----------
    scores : array_like, shape (n_targets,)
        Continuous scores, higher = more likely positive; NaN for missing.
    positive : array_like, shape (n_targets,)
        1 for a positive target, 0 for a negative one, NaN for unknown.
    clusters : array_like, shape (n_targets,), optional
        Cluster of each target for the bootstrap (the solution a step belongs to).
    n_boot : int, default 0
        0 gives no interval; > 0 a percentile cluster-bootstrap interval.
    rng : numpy.random.Generator or Resampler, optional
        Required when ``n_boot > 0``.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        ``value = U / (n_pos n_neg)``, the Mann-Whitney U of the positives with ties
        counting half; NaN when either class is absent. ``n_items``: targets with a score
        and a label; ``n_pairs``: positive-negative pairs, ``n_pos * n_neg``.

    References
    ----------
    Hanley & McNeil (1982); Mann & Whitney (1947).
    """
    return _weighted_estimate(
        weighted_roc_auc,
        scores,
        positive,
        clusters=clusters,
        n_boot=n_boot,
        rng=rng,
        confidence=confidence,
        name="ROC-AUC (Mann-Whitney, ties count half)",
        pairs=lambda n_pos, n_neg: n_pos * n_neg,
    )


def average_precision(
    scores: npt.ArrayLike,
    positive: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Area under the precision-recall curve as step-wise average precision.

    Parameters
    ----------
    scores : array_like, shape (n_targets,)
        Continuous scores, higher = more likely positive; NaN for missing.
    positive : array_like, shape (n_targets,)
        1 for a positive target, 0 for a negative one, NaN for unknown.
    clusters : array_like, shape (n_targets,), optional
    n_boot : int, default 0
    rng : numpy.random.Generator or Resampler, optional
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        ``value = sum_t (R_t - R_{t-1}) P_t`` over the distinct scores from the highest
        down (scikit-learn's ``average_precision_score``: no interpolation, tied scores form
        one step); NaN without positive targets. ``n_items``: targets used; ``n_pairs``:
        positive targets.

    References
    ----------
    Manning, Raghavan & Schuetze (2008), sec. 8.4.
    """
    return _weighted_estimate(
        weighted_average_precision,
        scores,
        positive,
        clusters=clusters,
        n_boot=n_boot,
        rng=rng,
        confidence=confidence,
        name="average precision (PR-AUC, step-wise)",
        pairs=lambda n_pos, n_neg: n_pos,
    )


def threshold_choose(scores: npt.ArrayLike, positive: npt.ArrayLike) -> Threshold:
    """The threshold with the highest accuracy of "positive iff score >= threshold".

    Parameters
    ----------
    scores : array_like, shape (n_targets,)
        NaN for missing.
    positive : array_like, shape (n_targets,)
        1, 0 or NaN for unknown.

    Returns
    -------
    Threshold
        Candidates are the lowest score (everything positive), the midpoints between
        consecutive distinct scores, and just above the highest score (everything negative).
        Ties in accuracy go to the lowest candidate. Without targets the threshold and its
        accuracy are NaN.

    Notes
    -----
    Accuracy rather than Youden's J, because the report compares the thresholded score with
    label judges by agreement with the experts, which is accuracy; under class imbalance the
    two differ, and accuracy is the one that matches the agreement rows.
    """
    s, y, _ = _scores_and_labels(scores, positive)
    rule = "max accuracy of score >= t"
    if s.shape[0] == 0:
        return Threshold(math.nan, math.nan, 0, rule)
    order, starts = _levels(s, descending=False)
    distinct = s[order][starts]
    pos, neg = _class_weights(y, np.ones((1, s.shape[0])), order, starts)
    pos, neg = pos[0], neg[0]
    # Cutting below level l: levels < l predicted negative, levels >= l predicted positive.
    neg_below = np.r_[0.0, np.cumsum(neg)]
    pos_from = np.r_[np.cumsum(pos[::-1])[::-1], 0.0]
    correct = neg_below + pos_from  # (n_levels + 1,)
    best = int(np.argmax(correct))
    if best == 0:
        value = float(distinct[0])
    elif best == distinct.shape[0]:
        value = float(np.nextafter(distinct[-1], np.inf))
    else:
        value = float((distinct[best - 1] + distinct[best]) / 2.0)
    return Threshold(value, float(correct[best] / s.shape[0]), int(s.shape[0]), rule)


def _accuracy(sums: np.ndarray) -> np.ndarray:
    return sums[..., 0] / sums[..., 1]


def threshold_accuracy(
    scores: npt.ArrayLike,
    positive: npt.ArrayLike,
    threshold: float,
    *,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Accuracy of "positive iff score >= threshold" against the labels.

    Parameters
    ----------
    scores : array_like, shape (n_targets,)
    positive : array_like, shape (n_targets,)
        1, 0 or NaN for unknown.
    threshold : float
        A fixed threshold (chosen on other targets; the bootstrap does not choose it again).
    clusters : array_like, shape (n_targets,), optional
    n_boot : int, default 0
    rng : numpy.random.Generator or Resampler, optional
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        NaN without targets or with a NaN threshold. ``n_items`` and ``n_pairs``: targets
        with a score and a label.
    """
    s, y, kept = _scores_and_labels(scores, positive)
    agree = ((s >= threshold) == (y == 1.0)).astype(np.float64)
    if math.isnan(threshold):
        agree[:] = np.nan
    stats = np.zeros((kept.shape[0], 2))
    stats[kept] = np.column_stack([agree, np.ones_like(agree)])
    return estimate_from_stats(
        stats,
        _accuracy,
        clusters=clusters,
        n_boot=n_boot,
        rng=rng,
        confidence=confidence,
        n_items=int(kept.sum()),
        n_pairs=int(kept.sum()),
        name=f"accuracy of score >= {threshold:.6g}",
    )
