"""Score judges (reward models, PRMs) calibrated against the reference group's labels.

A score group gives each target a continuous score (the mean over its raters), higher = more
likely correct. The positive class is "the reference group's consensus is a label that is not
an error label"; targets without a consensus are left out. The items are split in two halves
by a hash of the run's seed and the item's id, so a solution's steps stay together and a rerun
with the same seed gives the same split: the threshold of highest accuracy is chosen once per
score group on the development half (all of it, not per slice), and every slice reports the
held-out half: ROC-AUC, PR-AUC (average precision) and the accuracy of the chosen threshold,
with the slice's shared cluster-bootstrap resamples.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from analysis import stats
from analysis.engine.data import Bootstrap, CriterionData, SliceArrays
from analysis.engine.slice_stats import Stat

SCORE_METRICS = ("roc_auc", "pr_auc", "threshold_accuracy")


def held_out_targets(data: CriterionData, seed: int) -> np.ndarray:
    """``(n_targets,)`` bool: the targets whose item falls in the held-out half.

    An item is held out when the first byte of SHA-256 of ``"<seed>:<item id>"`` is odd.
    """
    halves = np.array(
        [hashlib.sha256(f"{seed}:{ref}".encode()).digest()[0] & 1 for ref in data.item_ref],
        dtype=bool,
    )
    return halves[data.target_item] if len(halves) else np.zeros(0, dtype=bool)


def correct_labels(codes: np.ndarray, n_categories: int, error_codes: tuple | list) -> np.ndarray:
    """``(n_targets,)``: 1 where the consensus of ``codes: (n_targets, n_raters)`` is not an
    error label, 0 where it is, NaN without a consensus."""
    cons = stats.consensus(codes, n_categories=n_categories)
    correct = (~np.isin(cons, list(error_codes))).astype(np.float64)
    return np.where(np.isnan(cons), np.nan, correct)


def mean_scores(scores: np.ndarray) -> np.ndarray:
    """``(n_targets,)`` mean of ``scores: (n_targets, n_raters)`` over raters, NaN if none."""
    judged = (~np.isnan(scores)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(judged > 0, np.nansum(scores, axis=1) / np.maximum(judged, 1), np.nan)


def score_thresholds(
    data: CriterionData, ref: str | None, held_out: np.ndarray
) -> dict[str, stats.Threshold]:
    """The threshold of each score group, chosen on the development half; empty when the
    criterion has no score groups, no error labels or no reference group."""
    if ref is None or ref not in data.groups or not data.error_codes or not data.score_groups:
        return {}
    positive = correct_labels(data.groups[ref].codes, data.n_categories, data.error_codes)
    dev = ~held_out
    return {
        name: stats.threshold_choose(mean_scores(group.codes)[dev], positive[dev])
        for name, group in data.score_groups.items()
    }


def score_stats(
    arrays: SliceArrays,
    boot: Bootstrap,
    ref: str,
    thresholds: dict[str, stats.Threshold],
    seed: int,
) -> Iterator[Stat]:
    """Each score group against the reference group on the slice's held-out targets."""
    if not thresholds or arrays.held_out is None:
        return
    held = arrays.held_out
    positive = correct_labels(arrays.groups[ref].codes, arrays.n_categories, arrays.error_codes)
    kw = {"clusters": arrays.target_item[held], "n_boot": boot.n_boot, "rng": boot.resampler}
    for name, threshold in thresholds.items():
        score = mean_scores(arrays.score_groups[name].codes)[held]
        y = positive[held]
        if not (~np.isnan(score) & ~np.isnan(y)).any():
            continue
        note = (
            f"held-out half (seed {seed}); threshold {threshold.value:.6g}, max accuracy on "
            f"{threshold.n_items} dev targets"
        )
        estimates = (
            ("roc_auc", stats.roc_auc(score, y, **kw)),
            ("pr_auc", stats.average_precision(score, y, **kw)),
            ("threshold_accuracy", stats.threshold_accuracy(score, y, threshold.value, **kw)),
        )
        for metric, est in estimates:
            yield Stat(ref, name, metric, replace(est, method=f"{est.method}; {note}"))
