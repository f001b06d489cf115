"""Annotator QC statistics: leave-one-out majority, kappa against it, Wilson, outliers."""

import math

import numpy as np
import pytest

from analysis.stats.bootstrap import Resampler
from analysis.stats.pool import (
    below_pool_median,
    leave_one_out_consensus,
    pool_agreement,
    proportion_wilson,
)

nan = np.nan
# 5 targets x 3 raters, two labels; worked through by hand in the tests below.
CODES = np.array(
    [
        [0, 0, 1],
        [1, 1, 1],
        [0, 1, nan],
        [1, 0, 0],
        [0, 0, 0],
    ]
)


def test_it_takes_the_majority_of_the_other_raters_only():
    majority = leave_one_out_consensus(CODES, n_categories=2)
    # Rater 2's others (raters 0, 1): t0 0/0, t1 1/1, t2 0/1 tie, t3 1/0 tie, t4 0/0.
    np.testing.assert_array_equal(majority[:, 2], [0, 1, nan, nan, 0])
    # Rater 0's others (1, 2): t0 0/1 tie, t1 1/1, t2 only 1, t3 0/0, t4 0/0.
    np.testing.assert_array_equal(majority[:, 0], [nan, 1, 1, 0, 0])


def test_it_computes_kappa_against_the_leave_one_out_majority_by_hand():
    # Rater 2 vs majority on t0, t1, t4: pairs (1,0), (1,1), (0,0). p_o = 2/3; margins
    # rater (1/3, 2/3), majority (2/3, 1/3), p_e = 4/9; kappa = (2/3 - 4/9) / (5/9) = 0.4.
    est = pool_agreement(CODES, n_categories=2)[2]
    assert est.value == pytest.approx(0.4)
    assert est.n_items == 3
    assert "leave-one-out majority" in est.method and "Wald" in est.method
    # Rater 0 on t1..t4: (1,1), (0,1), (1,0), (0,0): p_o = p_e = 1/2, kappa 0.
    assert pool_agreement(CODES, n_categories=2)[0].value == pytest.approx(0.0)


def test_it_is_undefined_without_other_raters_or_without_chance_disagreement():
    alone = np.array([[0.0, nan], [1.0, nan]])
    assert math.isnan(pool_agreement(alone, n_categories=2)[0].value)
    unanimous = np.zeros((4, 3))
    est = pool_agreement(unanimous, n_categories=2)[1]
    assert math.isnan(est.value) and est.n_items == 4


def test_it_rejects_codes_that_are_not_a_pool():
    for bad in ([0, 1, 1], [[0, -1]], [[0.5, 1]]):
        with pytest.raises(ValueError):
            pool_agreement(bad, n_categories=2)
    with pytest.raises(ValueError, match="out of range"):
        pool_agreement([[0, 2]], n_categories=2)


def _loop_majority(codes: np.ndarray, target: int, rater: int, k: int) -> float:
    counts = [0] * k
    for other in range(codes.shape[1]):
        value = codes[target, other]
        if other != rater and not math.isnan(value):
            counts[int(value)] += 1
    top = max(counts)
    return float(counts.index(top)) if top > 0 and counts.count(top) == 1 else nan


def _loop_kappa(a: list[int], b: list[int], k: int, quadratic: bool) -> float:
    n = len(a)
    w = [
        [((i - j) / (k - 1)) ** 2 if quadratic else float(i != j) for j in range(k)]
        for i in range(k)
    ]
    observed = sum(w[x][y] for x, y in zip(a, b, strict=True)) / n
    pa = [a.count(c) / n for c in range(k)]
    pb = [b.count(c) / n for c in range(k)]
    expected = sum(w[i][j] * pa[i] * pb[j] for i in range(k) for j in range(k))
    return 1 - observed / expected if expected > 0 else nan


@pytest.mark.parametrize("seed", range(25))
def test_it_matches_an_explicit_loop_on_random_pools(seed):
    rng = np.random.default_rng(seed)
    n_targets, n_raters, k = rng.integers(3, 40), rng.integers(2, 7), rng.integers(2, 6)
    codes = rng.integers(0, k, size=(n_targets, n_raters)).astype(float)
    codes[rng.random(codes.shape) < 0.3] = nan
    majority = leave_one_out_consensus(codes, n_categories=int(k))
    by_weights = {
        w: pool_agreement(codes, n_categories=int(k), weights=w) for w in ("none", "quadratic")
    }
    for rater in range(n_raters):
        pairs = []
        for t in range(n_targets):
            expected = _loop_majority(codes, t, rater, int(k))
            assert majority[t, rater] == expected or (
                math.isnan(expected) and math.isnan(majority[t, rater])
            )
            if not math.isnan(codes[t, rater]) and not math.isnan(expected):
                pairs.append((int(codes[t, rater]), int(expected)))
        for weights in ("none", "quadratic"):
            est = by_weights[weights][rater]
            assert est.n_items == len(pairs)
            if not pairs:
                assert math.isnan(est.value)
                continue
            a, b = map(list, zip(*pairs, strict=True))
            reference = _loop_kappa(a, b, int(k), weights == "quadratic")
            if math.isnan(reference):
                assert math.isnan(est.value)
            else:
                assert est.value == pytest.approx(reference, abs=1e-12)


def test_it_gives_a_cluster_bootstrap_interval_around_the_estimate_from_shared_resamples():
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 3, size=300)
    codes = np.column_stack(
        [np.where(rng.random(300) < 0.8, truth, rng.integers(0, 3, 300)) for _ in range(4)]
    ).astype(float)
    clusters = np.repeat(np.arange(100), 3)  # three steps per solution
    resampler = Resampler.draw(clusters, 400, np.random.default_rng(1))
    est = pool_agreement(codes, n_categories=3, clusters=clusters, n_boot=400, rng=resampler)[0]
    assert est.ci_low < est.value < est.ci_high and est.ci_high - est.ci_low < 0.3
    assert "percentile cluster bootstrap (B=400" in est.method
    again = pool_agreement(codes, n_categories=3, clusters=clusters, n_boot=400, rng=resampler)
    assert (again[0].ci_low, again[0].ci_high) == (est.ci_low, est.ci_high)
    assert all(e.has_interval for e in again)


def test_it_matches_newcombes_wilson_intervals():
    # Newcombe (1998), Statist. Med. 17, Table I: 81/263 -> 0.2553-0.3662; 15/148 -> 0.0624-0.1605.
    est = proportion_wilson(81, 263)
    assert (round(est.ci_low, 4), round(est.ci_high, 4)) == (0.2553, 0.3662)
    est = proportion_wilson(15, 148)
    assert (round(est.ci_low, 4), round(est.ci_high, 4)) == (0.0624, 0.1605)
    assert "Wilson score 95% CI" in est.method


@pytest.mark.parametrize("seed", range(10))
def test_it_matches_the_wilson_formula_on_random_counts(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 500))
    s = int(rng.integers(0, n + 1))
    z = 1.959963984540054
    p = s / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    est = proportion_wilson(s, n)
    assert est.value == pytest.approx(p)
    assert est.ci_low == pytest.approx(centre - half, abs=1e-12)
    assert est.ci_high == pytest.approx(centre + half, abs=1e-12)


def test_it_refuses_impossible_counts_and_has_no_proportion_of_nothing():
    assert math.isnan(proportion_wilson(0, 0).value)
    for s, n in ((3, 2), (-1, 4), (1, True), (0.5, 2)):
        with pytest.raises(ValueError):
            proportion_wilson(s, n)


def test_it_marks_raters_whose_interval_lies_below_the_pool_median():
    values = [0.8, 0.75, 0.7, 0.3, nan]
    high = [0.9, 0.85, 0.8, 0.69, nan]  # median of the values: 0.725
    np.testing.assert_array_equal(
        below_pool_median(values, high), [False, False, False, True, False]
    )
    # An interval reaching the median is not an outlier.
    assert not below_pool_median(values, [0.9, 0.85, 0.8, 0.725, nan])[3]
    # Too few raters to speak of a pool.
    assert not below_pool_median([0.9, 0.1], [0.95, 0.2]).any()
    with pytest.raises(ValueError):
        below_pool_median([0.1, 0.2], [0.3])
