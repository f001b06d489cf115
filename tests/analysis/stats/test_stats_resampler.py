"""A Resampler shares one set of cluster resamples between statistics."""

import numpy as np
import pytest

from analysis.stats import Resampler, cohen_kappa, fleiss_kappa, percent_agreement
from analysis.stats.bootstrap import percentile_interval


def ratings(seed: int, n: int = 400, raters: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    codes = np.where(
        rng.random((n, raters)) < 0.75, truth[:, None], rng.integers(0, 3, (n, raters))
    )
    codes = codes.astype(float)
    codes[rng.random((n, raters)) < 0.1] = np.nan
    clusters = np.repeat(np.arange(n // 4), 4)  # four steps per solution
    return codes, clusters


def test_it_draws_whole_resamples_of_the_distinct_clusters():
    _, clusters = ratings(1)
    resampler = Resampler.draw(clusters, 50, np.random.default_rng(0))

    assert resampler.counts.shape == (50, 100)
    assert np.all(resampler.counts.sum(axis=1) == 100)
    np.testing.assert_array_equal(resampler.labels, np.arange(100))


def test_its_interval_is_the_percentile_interval_of_its_own_resamples():
    codes, clusters = ratings(2)
    resampler = Resampler.draw(clusters, 200, np.random.default_rng(3))

    est = percent_agreement(codes, n_categories=3, clusters=clusters, n_boot=200, rng=resampler)

    # The same resamples, applied by hand: per-cluster agreeing pairs and pairs, weighted.
    counts = np.stack([(codes == k).sum(axis=1) for k in range(3)], axis=1)
    agree = (counts * (counts - 1) / 2).sum(axis=1)
    n = counts.sum(axis=1)
    pairs = n * (n - 1) / 2
    per_cluster = np.zeros((100, 2))
    np.add.at(per_cluster, clusters, np.column_stack([agree, pairs]))
    sums = resampler.counts.astype(float) @ per_cluster
    low, high = percentile_interval(sums[:, 0] / sums[:, 1], 0.95)
    assert (est.ci_low, est.ci_high) == pytest.approx((low, high), rel=1e-5)


def test_it_gives_the_same_answer_twice_and_differs_from_fresh_draws():
    codes, clusters = ratings(4)
    resampler = Resampler.draw(clusters, 300, np.random.default_rng(5))

    first = fleiss_kappa(codes, n_categories=3, clusters=clusters, n_boot=300, rng=resampler)
    again = fleiss_kappa(codes, n_categories=3, clusters=clusters, n_boot=300, rng=resampler)
    fresh = fleiss_kappa(codes, n_categories=3, clusters=clusters, n_boot=300,
                         rng=np.random.default_rng(6))  # fmt: skip

    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (fresh.ci_low, fresh.ci_high)
    assert first.value == fresh.value


def test_it_serves_statistics_that_leave_targets_out():
    codes, clusters = ratings(7)
    resampler = Resampler.draw(clusters, 100, np.random.default_rng(8))
    a = codes[:, 0].copy()
    a[:40] = np.nan  # targets without a label drop out of kappa

    est = cohen_kappa(a, codes[:, 1], n_categories=3, clusters=clusters, n_boot=100,
                      rng=resampler)  # fmt: skip

    assert est.ci_low <= est.value <= est.ci_high


def test_it_refuses_a_mismatched_resample_count_or_unknown_clusters():
    codes, clusters = ratings(9)
    resampler = Resampler.draw(clusters[:200], 100, np.random.default_rng(0))

    with pytest.raises(ValueError, match="holds 100 resamples"):
        percent_agreement(codes, clusters=clusters, n_boot=50, rng=resampler)
    with pytest.raises(ValueError, match="did not draw"):
        percent_agreement(codes, clusters=clusters, n_boot=100, rng=resampler)
