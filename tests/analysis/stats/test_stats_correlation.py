"""Correlations of per-target mean scores and their Fisher-z intervals."""

import math
from collections.abc import Callable

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis.stats import correlation
from analysis.stats.correlation import CorrelationMethod, weighted_correlations

NAN = np.nan
Z95 = 1.959963984540054


def test_it_averages_raters_and_drops_targets_missing_in_either_group() -> None:
    a = np.array([[1, 3], [2, NAN], [NAN, NAN], [4, 4], [5, 6], [7, 8]])
    b = np.array([1.0, 2.0, 3.0, NAN, 5.0, 6.5])
    est = correlation(a, b, method="pearson")
    expected = scipy.stats.pearsonr([2, 2, 5.5, 7.5], [1, 2, 5, 6.5]).statistic
    assert est.value == pytest.approx(expected)
    assert (est.n_items, est.n_pairs) == (4, 4)


@pytest.mark.parametrize(
    ("method", "se_z"),
    [
        ("pearson", lambda r, n: 1 / math.sqrt(n - 3)),
        ("spearman", lambda r, n: math.sqrt((1 + r * r / 2) / (n - 3))),
        ("kendall", lambda r, n: math.sqrt(0.437 / (n - 4))),
    ],
)
def test_it_gives_fisher_z_intervals_with_bonett_wright_errors(
    method: CorrelationMethod, se_z: Callable[[float, int], float]
) -> None:
    generator = np.random.default_rng(1)
    x = generator.normal(size=40)
    y = x + generator.normal(size=40)
    est = correlation(x, y, method=method)
    r = est.value
    half_width = Z95 * se_z(r, 40)
    assert est.ci_low == pytest.approx(math.tanh(math.atanh(r) - half_width))
    assert est.ci_high == pytest.approx(math.tanh(math.atanh(r) + half_width))
    assert est.se == pytest.approx((1 - r * r) * se_z(r, 40))
    assert "Fisher z" in est.method


def test_it_matches_a_hand_computed_fisher_interval() -> None:
    # r = 0.5 on n = 50 pairs: z = 0.5493 +/- 1.96 / sqrt(47) -> (0.2575, 0.6833).
    generator = np.random.default_rng(0)
    x = generator.normal(size=50)
    noise = generator.normal(size=50)
    # Mix x with noise made orthogonal to it, so that r is exactly 0.5.
    xc = x - x.mean()
    noise = noise - noise.mean()
    noise -= xc * (noise @ xc) / (xc @ xc)
    y = 0.5 * xc / np.linalg.norm(xc) + math.sqrt(0.75) * noise / np.linalg.norm(noise)
    est = correlation(x, y, method="pearson")
    assert est.value == pytest.approx(0.5)
    assert (est.ci_low, est.ci_high) == pytest.approx((0.2575, 0.6833), abs=5e-5)


SCORES = arrays(
    np.float64,
    st.tuples(st.integers(3, 30), st.integers(1, 3)),
    elements=st.one_of(st.just(NAN), st.integers(0, 6).map(float)),
)


@settings(max_examples=50, deadline=None)
@given(a=SCORES, data=st.data(), method=st.sampled_from(["pearson", "spearman", "kendall"]))
def test_it_matches_scipy_on_random_scores(
    a: np.ndarray, data: st.DataObject, method: CorrelationMethod
) -> None:
    b = data.draw(arrays(np.float64, (a.shape[0],), elements=st.integers(0, 6).map(float)))
    means = np.array([row[~np.isnan(row)].mean() if (~np.isnan(row)).any() else NAN for row in a])
    keep = ~np.isnan(means)
    x, y = means[keep], b[keep]
    est = correlation(a, b, method=method)
    assert est.n_items == keep.sum()
    if keep.sum() < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        assert math.isnan(est.value)
        return
    reference = {
        "pearson": scipy.stats.pearsonr,
        "spearman": scipy.stats.spearmanr,
        "kendall": scipy.stats.kendalltau,
    }[method]
    assert est.value == pytest.approx(reference(x, y).statistic)


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_it_reweights_samples_like_scipy_on_the_expanded_data(method: CorrelationMethod) -> None:
    generator = np.random.default_rng(2)
    x = generator.integers(0, 4, 15).astype(float)
    y = generator.integers(0, 4, 15).astype(float)
    weights = generator.integers(0, 3, (6, 15))
    got = weighted_correlations(x, y, weights, method=method)
    reference = {
        "pearson": scipy.stats.pearsonr,
        "spearman": scipy.stats.spearmanr,
        "kendall": scipy.stats.kendalltau,
    }[method]
    for row, value in zip(weights, got, strict=True):
        drawn = np.repeat(np.arange(15), row)
        assert value == pytest.approx(reference(x[drawn], y[drawn]).statistic)


def test_it_returns_nan_for_too_few_targets_or_constant_scores() -> None:
    assert math.isnan(correlation([1.0, 2.0], [2.0, 1.0], method="pearson").value)
    assert math.isnan(correlation([1.0, 1.0, 1.0, 1.0], [1, 2, 3, 4.0], method="spearman").value)
    four = correlation([1.0, 2.0, 3.0, 4.0], [1, 3, 2, 4.0], method="kendall")
    assert np.isfinite(four.value) and math.isnan(four.ci_low)  # Kendall's CI needs n > 4


def test_it_rejects_unknown_methods_and_mismatched_targets() -> None:
    with pytest.raises(ValueError, match="method"):
        correlation([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], method="distance")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="targets"):
        correlation([1.0, 2.0, 3.0], [1.0, 2.0], method="pearson")
