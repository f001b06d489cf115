"""ROC-AUC, average precision and the calibrated threshold of a score judge."""

import itertools
import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis.stats import (
    Resampler,
    average_precision,
    roc_auc,
    threshold_accuracy,
    threshold_choose,
)
from analysis.stats.calibration import weighted_average_precision, weighted_roc_auc

NAN = np.nan


def brute_auc(scores: np.ndarray, y: np.ndarray) -> float:
    pos, neg = scores[y == 1], scores[y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def brute_average_precision(scores: np.ndarray, y: np.ndarray) -> float:
    """sklearn's definition: sum over distinct thresholds of (R_t - R_{t-1}) P_t."""
    total, previous_recall = 0.0, 0.0
    for t in sorted(set(scores), reverse=True):
        predicted = scores >= t
        tp = float((predicted & (y == 1)).sum())
        recall = tp / float((y == 1).sum())
        total += (recall - previous_recall) * tp / float(predicted.sum())
        previous_recall = recall
    return total


def test_it_computes_a_worked_roc_auc_with_a_tie() -> None:
    # Positives 0.9, 0.6, 0.4; negatives 0.6, 0.2. Wins: 0.9 beats both (2), 0.6 ties 0.6
    # (0.5) and beats 0.2 (1), 0.4 beats 0.2 (1): 4.5 of 6 pairs.
    est = roc_auc([0.9, 0.6, 0.4, 0.6, 0.2], [1, 1, 1, 0, 0])
    assert est.value == pytest.approx(0.75)
    assert (est.n_items, est.n_pairs) == (5, 6)
    assert "no interval" in est.method


def test_it_computes_a_worked_average_precision() -> None:
    # Ranked: 0.9 (+), 0.8 (-), 0.7 (+), 0.1 (-): precision at the positives 1 and 2/3.
    est = average_precision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0])
    assert est.value == pytest.approx((1.0 + 2.0 / 3.0) / 2.0)
    assert (est.n_items, est.n_pairs) == (4, 2)


def test_tied_scores_form_one_step_of_average_precision() -> None:
    # All four tied: one threshold, recall 1 at precision 1/2.
    assert average_precision([1.0, 1.0, 1.0, 1.0], [1, 0, 1, 0]).value == pytest.approx(0.5)


def test_a_perfect_separation_gives_one_and_a_reversed_one_zero() -> None:
    y = [0, 0, 1, 1]
    assert roc_auc([1, 2, 3, 4], y).value == 1.0
    assert roc_auc([4, 3, 2, 1], y).value == 0.0
    assert average_precision([1, 2, 3, 4], y).value == 1.0


def test_it_drops_targets_without_a_score_or_a_label() -> None:
    est = roc_auc([0.1, NAN, 0.8, 0.5, 0.3], [0, 1, 1, NAN, 0])
    assert est.value == 1.0
    assert est.n_items == 3


def test_one_class_only_gives_nan_with_the_counts() -> None:
    auc = roc_auc([0.1, 0.5, 0.9], [1, 1, 1])
    assert math.isnan(auc.value)
    assert (auc.n_items, auc.n_pairs) == (3, 0)
    ap = average_precision([0.1, 0.5], [0, 0])
    assert math.isnan(ap.value)
    assert ap.n_pairs == 0


def test_a_single_target_gives_nan() -> None:
    assert math.isnan(roc_auc([0.3], [1]).value)
    assert average_precision([0.3], [1]).value == 1.0


def test_no_targets_gives_nan() -> None:
    assert math.isnan(roc_auc([], []).value)
    assert math.isnan(average_precision([NAN], [1]).value)


@pytest.mark.parametrize(
    ("scores", "positive", "message"),
    [
        ([[0.1, 0.2]], [1, 0], "1-dimensional"),
        ([0.1, 0.2], [1, 0, 1], "shape"),
        ([0.1, np.inf], [1, 0], "infinite"),
        ([0.1, 0.2], [1, 2], "1 \\(positive\\)"),
    ],
)
def test_it_rejects_malformed_input(scores: list, positive: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        roc_auc(scores, positive)


PAIRS = st.integers(2, 40).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, (n,), elements=st.integers(0, 5).map(float)),
        arrays(np.float64, (n,), elements=st.sampled_from([0.0, 1.0])),
    )
)


@settings(max_examples=60, deadline=None)
@given(pair=PAIRS)
def test_roc_auc_matches_scipy_mann_whitney(pair: tuple[np.ndarray, np.ndarray]) -> None:
    scores, y = pair
    est = roc_auc(scores, y)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        assert math.isnan(est.value)
        return
    u = scipy.stats.mannwhitneyu(scores[y == 1], scores[y == 0]).statistic
    assert est.value == pytest.approx(u / (n_pos * n_neg))
    assert est.value == pytest.approx(brute_auc(scores, y))


@settings(max_examples=60, deadline=None)
@given(pair=PAIRS)
def test_average_precision_matches_its_definition(pair: tuple[np.ndarray, np.ndarray]) -> None:
    scores, y = pair
    est = average_precision(scores, y)
    if y.sum() == 0:
        assert math.isnan(est.value)
        return
    assert est.value == pytest.approx(brute_average_precision(scores, y))


def test_weighted_metrics_equal_the_metrics_of_the_expanded_sample() -> None:
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 6, 30).astype(float)
    y = (rng.random(30) < 0.5).astype(float)
    weights = rng.integers(0, 3, (20, 30)).astype(float)
    auc = weighted_roc_auc(scores, y, weights)
    ap = weighted_average_precision(scores, y, weights)
    for row in range(20):
        drawn = np.repeat(np.arange(30), weights[row].astype(int))
        assert auc[row] == pytest.approx(roc_auc(scores[drawn], y[drawn]).value, nan_ok=True)
        assert ap[row] == pytest.approx(
            average_precision(scores[drawn], y[drawn]).value, nan_ok=True
        )


def test_it_gives_a_cluster_bootstrap_interval_around_the_estimate() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.6).astype(float)
    scores = y + rng.normal(scale=1.0, size=300)
    clusters = np.repeat(np.arange(100), 3)
    est = roc_auc(scores, y, clusters=clusters, n_boot=400, rng=np.random.default_rng(1))
    assert est.ci_low < est.value < est.ci_high
    assert 0.6 < est.value < 0.9
    assert "percentile cluster bootstrap (B=400" in est.method
    ap = average_precision(scores, y, clusters=clusters, n_boot=400, rng=np.random.default_rng(1))
    assert ap.ci_low < ap.value < ap.ci_high


def test_a_shared_resampler_gives_the_same_interval_as_its_generator() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(120) < 0.5).astype(float)
    scores = y + rng.normal(size=120)
    clusters = np.repeat(np.arange(40), 3)
    resampler = Resampler.draw(clusters, 300, np.random.default_rng(7))
    shared = roc_auc(scores, y, clusters=clusters, n_boot=300, rng=resampler)
    own = roc_auc(scores, y, clusters=clusters, n_boot=300, rng=np.random.default_rng(7))
    assert (shared.ci_low, shared.ci_high) == pytest.approx((own.ci_low, own.ci_high))


def test_it_chooses_the_threshold_of_highest_accuracy() -> None:
    # Negatives at 1, 2 and 4; positives at 3, 5, 6: cutting at 2.5 misclassifies only 4,
    # as does 4.5 (misclassifies 3); ties go to the lower threshold.
    chosen = threshold_choose([1, 2, 4, 3, 5, 6], [0, 0, 0, 1, 1, 1])
    assert chosen.value == pytest.approx(2.5)
    assert chosen.accuracy == pytest.approx(5 / 6)
    assert chosen.n_items == 6


def test_the_threshold_can_call_everything_positive_or_negative() -> None:
    assert threshold_choose([0.2, 0.9], [1, 1]).value == pytest.approx(0.2)
    everything_negative = threshold_choose([0.2, 0.9], [0, 0])
    assert everything_negative.value > 0.9
    assert everything_negative.accuracy == 1.0
    assert math.isnan(threshold_choose([NAN], [1]).value)


def test_threshold_accuracy_scores_a_fixed_threshold() -> None:
    est = threshold_accuracy([0.1, 0.6, 0.7, 0.4, NAN], [0, 1, 0, 1, 1], 0.5)
    assert est.value == pytest.approx(0.5)
    assert est.n_items == 4
    assert "score >= 0.5" in est.method


def test_threshold_accuracy_bootstraps_by_cluster_with_a_resampler() -> None:
    scores = np.array([0.1, 0.6, 0.7, 0.4, NAN, 0.9])
    y = np.array([0, 1, 0, 1, 1, 1.0])
    clusters = np.array([0, 0, 1, 1, 2, 2])
    resampler = Resampler.draw(clusters, 200, np.random.default_rng(0))
    est = threshold_accuracy(scores, y, 0.5, clusters=clusters, n_boot=200, rng=resampler)
    assert est.value == pytest.approx(0.6)
    assert 0.0 <= est.ci_low <= est.value <= est.ci_high <= 1.0
