"""Score judges (reward models, PRMs, pair preference models) calibrated against the reference
group's labels.

A score group gives each target a continuous score (the mean over its raters). What a score
predicts, the positive class, depends on the criterion (`positive_class`):

- nominal with error labels: higher = more likely correct; the positive class is "the
  reference group's consensus is a label that is not an error label";
- pairwise: the score is P(a is better than b) in the item's a/b order; the positive class is
  "the reference consensus is a", the negative "it is b"; targets whose consensus is a tie are
  left out, as a score of one answer against the other has no tie to predict.

Targets without a consensus are left out too. The items are split in two halves by a hash of
the run's seed and the item's id, so a solution's steps stay together and a rerun with the same
seed gives the same split: the threshold of highest accuracy is chosen once per score group on
the development half (all of it, not per slice), and every slice reports the held-out half:
ROC-AUC, PR-AUC (average precision) and the accuracy of the chosen threshold, with the slice's
shared cluster-bootstrap resamples. Each row's method says which positive class it used.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from analysis import stats
from analysis.engine.data import Bootstrap, CriterionData, SliceArrays
from analysis.engine.slice_stats import Stat

SCORE_METRICS = ("roc_auc", "pr_auc", "threshold_accuracy")
PAIR_A, PAIR_B = 0, 1  # the codes of a pairwise criterion's labels a, b (and tie: 2)


def held_out_targets(data: CriterionData, seed: int) -> np.ndarray:
    """``(n_targets,)`` bool: the targets whose item falls in the held-out half.

    An item is held out when the first byte of SHA-256 of ``"<seed>:<item id>"`` is odd.
    """
    halves = np.array(
        [hashlib.sha256(f"{seed}:{ref}".encode()).digest()[0] & 1 for ref in data.item_ref],
        dtype=bool,
    )
    return halves[data.target_item] if len(halves) else np.zeros(0, dtype=bool)


def calibrated(scale: str, error_codes: tuple | list) -> bool:
    """Whether scores on a criterion of this scale can be calibrated: a binary error
    criterion (nominal with error labels) or a pairwise one."""
    return scale == "pairwise" or (scale == "nominal" and bool(error_codes))


def positive_class(
    codes: np.ndarray, *, scale: str, n_categories: int, error_codes: tuple | list
) -> np.ndarray:
    """``(n_targets,)``: 1 where the consensus of ``codes: (n_targets, n_raters)`` is the
    positive class, 0 where it is the negative one, NaN where it is neither.

    Pairwise: 1 for a, 0 for b, NaN for a tie or no consensus. Otherwise: 1 where the
    consensus is not an error label, 0 where it is, NaN without a consensus.
    """
    cons = stats.consensus(codes, n_categories=n_categories)
    if scale == "pairwise":
        return np.where(cons == PAIR_A, 1.0, np.where(cons == PAIR_B, 0.0, np.nan))
    correct = (~np.isin(cons, list(error_codes))).astype(np.float64)
    return np.where(np.isnan(cons), np.nan, correct)


def positive_class_note(scale: str) -> str:
    """What `positive_class` counted as positive, for a row's method (which holds 200
    characters): said for pairs only, as error criteria are the documented default."""
    return "; positive: a, ties left out" if scale == "pairwise" else ""


def mean_scores(scores: np.ndarray) -> np.ndarray:
    """``(n_targets,)`` mean of ``scores: (n_targets, n_raters)`` over raters, NaN if none."""
    judged = (~np.isnan(scores)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(judged > 0, np.nansum(scores, axis=1) / np.maximum(judged, 1), np.nan)


def score_thresholds(
    data: CriterionData, ref: str | None, held_out: np.ndarray
) -> dict[str, stats.Threshold]:
    """The threshold of each score group, chosen on the development half; empty when the
    criterion has no score groups, is not calibrated (see `calibrated`) or has no reference
    group."""
    if ref is None or ref not in data.groups or not data.score_groups:
        return {}
    if not calibrated(data.scale, data.error_codes):
        return {}
    positive = positive_class(
        data.groups[ref].codes,
        scale=data.scale,
        n_categories=data.n_categories,
        error_codes=data.error_codes,
    )
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
    positive = positive_class(
        arrays.groups[ref].codes,
        scale=arrays.scale,
        n_categories=arrays.n_categories,
        error_codes=arrays.error_codes,
    )
    kw = {"clusters": arrays.target_item[held], "n_boot": boot.n_boot, "rng": boot.resampler}
    for name, threshold in thresholds.items():
        score = mean_scores(arrays.score_groups[name].codes)[held]
        y = positive[held]
        if not (~np.isnan(score) & ~np.isnan(y)).any():
            continue
        note = (
            f"held-out half (seed {seed}); threshold {threshold.value:.6g} (max accuracy, "
            f"{threshold.n_items} dev){positive_class_note(arrays.scale)}"
        )
        estimates = (
            ("roc_auc", stats.roc_auc(score, y, **kw)),
            ("pr_auc", stats.average_precision(score, y, **kw)),
            ("threshold_accuracy", stats.threshold_accuracy(score, y, threshold.value, **kw)),
        )
        for metric, est in estimates:
            yield Stat(ref, name, metric, replace(est, method=f"{est.method}; {note}"))
