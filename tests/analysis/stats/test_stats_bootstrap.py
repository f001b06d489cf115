"""The vectorised cluster bootstrap: equivalence with explicit resampling, determinism, speed."""

import time
from collections.abc import Callable

import numpy as np
import pytest

from analysis.stats import (
    Estimate,
    cohen_kappa,
    correlation,
    earliest_error_agreement,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
)
from analysis.stats.bootstrap import bootstrap_replicates, percentile_interval, resample_counts

NAN = np.nan


def noisy_codes(rng: np.random.Generator, n_targets: int, n_raters: int, k: int) -> np.ndarray:
    truth = rng.integers(0, k, n_targets)
    noise = rng.integers(0, k, (n_targets, n_raters))
    codes = np.where(rng.random((n_targets, n_raters)) < 0.7, truth[:, None], noise)
    codes = codes.astype(float)
    codes[rng.random(codes.shape) < 0.15] = NAN
    return codes


def explicit_replicates(
    data: np.ndarray,
    clusters: np.ndarray,
    counts: np.ndarray,
    metric: Callable[[np.ndarray], float],
) -> np.ndarray:
    """Materialise every resample (rows of its clusters, repeated) and compute the metric."""
    members = [np.flatnonzero(clusters == c) for c in range(counts.shape[1])]
    values = []
    for row in counts.astype(int):
        rows = np.concatenate([np.tile(members[c], n) for c, n in enumerate(row) if n])
        values.append(metric(data[rows]))
    return np.array(values)


def assert_matches_explicit(
    est: Estimate,
    data: np.ndarray,
    clusters: np.ndarray,
    n_boot: int,
    seed: int,
    metric: Callable[[np.ndarray], float],
) -> None:
    counts = np.vstack(list(resample_counts(int(clusters.max()) + 1, n_boot, rng(seed))))
    expected = explicit_replicates(data, clusters, counts, metric)
    low, high = percentile_interval(expected, 0.95)
    assert (est.ci_low, est.ci_high) == pytest.approx((low, high), abs=1e-9)
    assert est.se == pytest.approx(np.std(expected[np.isfinite(expected)], ddof=1), abs=1e-9)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


N_BOOT = 40
CODES = noisy_codes(rng(0), 60, 4, 3)
CLUSTERS = np.repeat(np.arange(20), 3)  # 20 "solutions" of 3 steps each


@pytest.mark.parametrize(
    ("name", "vectorised", "explicit"),
    [
        (
            "percent agreement within",
            lambda **kw: percent_agreement(CODES, **kw),
            lambda d: percent_agreement(d).value,
        ),
        (
            "percent agreement between, no ties",
            lambda **kw: percent_agreement(CODES[:, :1], CODES[:, 1:], tie_code=2, **kw),
            lambda d: percent_agreement(d[:, :1], d[:, 1:], tie_code=2).value,
        ),
        ("fleiss", lambda **kw: fleiss_kappa(CODES, **kw), lambda d: fleiss_kappa(d).value),
        (
            "gwet",
            lambda **kw: gwet_ac1(CODES, n_categories=3, **kw),
            lambda d: gwet_ac1(d, n_categories=3).value,
        ),
        (
            "alpha ordinal",
            lambda **kw: krippendorff_alpha(CODES, level="ordinal", **kw),
            lambda d: krippendorff_alpha(d, level="ordinal").value,
        ),
        (
            "alpha interval",
            lambda **kw: krippendorff_alpha(CODES, level="interval", **kw),
            lambda d: krippendorff_alpha(d, level="interval").value,
        ),
    ],
)
def test_it_matches_a_loop_over_explicit_cluster_resamples(
    name: str,
    vectorised: Callable[..., Estimate],
    explicit: Callable[[np.ndarray], float],
) -> None:
    est = vectorised(clusters=CLUSTERS, n_boot=N_BOOT, rng=rng(11))
    assert_matches_explicit(est, CODES, CLUSTERS, N_BOOT, 11, explicit)


@pytest.mark.parametrize("weights", ["none", "quadratic"])
def test_it_matches_explicit_resamples_for_cohen_kappa(weights: str) -> None:
    data = np.column_stack([CODES[:, 0], CODES[:, 1]])
    both = ~np.isnan(data).any(axis=1)
    data, clusters = data[both], CLUSTERS[both]
    clusters = np.unique(clusters, return_inverse=True)[1]
    est = cohen_kappa(
        data[:, 0], data[:, 1], weights=weights, clusters=clusters, n_boot=N_BOOT, rng=rng(2)
    )
    assert_matches_explicit(
        est,
        data,
        clusters,
        N_BOOT,
        2,
        lambda d: cohen_kappa(d[:, 0], d[:, 1], n_categories=3, weights=weights).value,
    )


def test_it_matches_explicit_resamples_for_earliest_error_accuracies() -> None:
    generator = rng(4)
    ref = generator.integers(-1, 4, 30).astype(float)
    judge = np.where(generator.random(30) < 0.6, ref, generator.integers(-1, 4, 30))
    data = np.column_stack([ref, judge])
    clusters = np.repeat(np.arange(10), 3)  # e.g. three solutions per problem
    result = earliest_error_agreement(ref, judge, clusters=clusters, n_boot=N_BOOT, rng=rng(5))
    for field in ("first_error_accuracy", "error_accuracy", "correct_accuracy", "processbench_f1"):
        assert_matches_explicit(
            getattr(result, field),
            data,
            clusters,
            N_BOOT,
            5,
            lambda d, f=field: getattr(earliest_error_agreement(d[:, 0], d[:, 1]), f).value,
        )


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_it_matches_explicit_resamples_for_correlations(method: str) -> None:
    generator = rng(6)
    x = generator.integers(0, 5, 24).astype(float)  # ties on purpose
    y = x + generator.integers(-2, 3, 24)
    data = np.column_stack([x, y])
    clusters = np.repeat(np.arange(8), 3)
    est = correlation(x, y, method=method, clusters=clusters, n_boot=N_BOOT, rng=rng(7))
    assert_matches_explicit(
        est,
        data,
        clusters,
        N_BOOT,
        7,
        lambda d: correlation(d[:, 0], d[:, 1], method=method).value,
    )


def test_it_draws_resamples_of_n_clusters_each() -> None:
    chunks = list(resample_counts(7, 25, rng(0)))
    counts = np.vstack(chunks)
    assert counts.shape == (25, 7)
    np.testing.assert_array_equal(counts.sum(axis=1), np.full(25, 7))
    assert (counts >= 0).all() and np.array_equal(counts, np.round(counts))


def test_it_draws_each_cluster_once_per_resample_on_average() -> None:
    counts = np.vstack(list(resample_counts(50, 4000, rng(1))))
    np.testing.assert_allclose(counts.mean(axis=0), 1.0, atol=0.06)
    # Multinomial(n, 1/n): variance (1 - 1/n).
    np.testing.assert_allclose(counts.var(axis=0).mean(), 1 - 1 / 50, atol=0.03)


def test_it_reproduces_results_with_the_same_seed() -> None:
    first = fleiss_kappa(CODES, clusters=CLUSTERS, n_boot=200, rng=rng(3))
    second = fleiss_kappa(CODES, clusters=CLUSTERS, n_boot=200, rng=rng(3))
    other = fleiss_kappa(CODES, clusters=CLUSTERS, n_boot=200, rng=rng(4))
    assert first == second
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)


def test_it_evaluates_the_metric_once_for_all_resamples() -> None:
    calls: list[tuple[int, ...]] = []

    def metric(sums: np.ndarray) -> np.ndarray:
        calls.append(sums.shape)
        return sums[..., 0] / sums[..., 1]

    stats = np.column_stack([np.arange(5.0), np.full(5, 10.0)])
    replicates = bootstrap_replicates(stats, metric, clusters=None, n_boot=300, rng=rng(0))
    assert calls == [(300, 2)]
    assert replicates.shape == (300,)


@pytest.mark.parametrize(
    "estimate",
    [
        lambda g: percent_agreement(CODES, clusters=CLUSTERS, n_boot=300, rng=g),
        lambda g: fleiss_kappa(CODES, clusters=CLUSTERS, n_boot=300, rng=g),
        lambda g: gwet_ac1(CODES, n_categories=3, clusters=CLUSTERS, n_boot=300, rng=g),
        lambda g: krippendorff_alpha(CODES, clusters=CLUSTERS, n_boot=300, rng=g),
    ],
)
def test_it_brackets_the_point_estimate(
    estimate: Callable[[np.random.Generator], Estimate],
) -> None:
    est = estimate(rng(8))
    assert est.ci_low < est.value < est.ci_high
    assert est.se > 0
    assert "bootstrap (B=300" in est.method


def test_it_resamples_whole_clusters_not_single_targets() -> None:
    # Every step of a solution carries the same judgements, so the effective sample is the
    # number of solutions; ignoring the clustering would understate the SE by ~sqrt(10).
    generator = rng(9)
    solution_codes = noisy_codes(generator, 40, 3, 2)
    codes = np.repeat(solution_codes, 10, axis=0)
    clusters = np.repeat(np.arange(40), 10)
    clustered = percent_agreement(codes, clusters=clusters, n_boot=500, rng=rng(1))
    independent = percent_agreement(codes, n_boot=500, rng=rng(1))
    assert clustered.se > 2.0 * independent.se


def test_it_matches_the_asymptotic_kappa_se_on_a_large_sample() -> None:
    generator = rng(10)
    truth = generator.integers(0, 3, 3000)
    a = np.where(generator.random(3000) < 0.7, truth, generator.integers(0, 3, 3000))
    b = np.where(generator.random(3000) < 0.7, truth, generator.integers(0, 3, 3000))
    for weights in ("none", "linear", "quadratic"):
        analytic = cohen_kappa(a, b, weights=weights)
        boot = cohen_kappa(a, b, weights=weights, n_boot=1000, rng=rng(12))
        assert boot.value == analytic.value
        assert boot.se == pytest.approx(analytic.se, rel=0.15)


def test_it_requires_a_generator_when_resampling() -> None:
    with pytest.raises(ValueError, match="Generator"):
        percent_agreement(CODES, n_boot=10)
    with pytest.raises(ValueError, match="Generator"):
        percent_agreement(CODES, n_boot=10, rng=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_boot"):
        percent_agreement(CODES, n_boot=-1, rng=rng(0))


def test_it_rejects_clusters_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="clusters"):
        percent_agreement(CODES, clusters=np.arange(3), n_boot=10, rng=rng(0))


def test_it_computes_equal_tailed_percentiles_ignoring_undefined_replicates() -> None:
    replicates = np.concatenate([np.arange(101.0), [NAN, NAN]])
    assert percentile_interval(replicates, 0.9) == pytest.approx((5.0, 95.0))
    assert all(np.isnan(percentile_interval(np.array([NAN]), 0.95)))


def test_it_bootstraps_a_million_step_judgements_in_seconds() -> None:
    # Target scale: 200,000 steps x 5 raters in 40,000 solutions, 1,000 resamples.
    generator = rng(13)
    codes = noisy_codes(generator, 200_000, 5, 3)
    clusters = np.repeat(np.arange(40_000), 5)
    start = time.perf_counter()
    within = percent_agreement(codes, clusters=clusters, n_boot=1000, rng=rng(1))
    between = percent_agreement(
        codes[:, :1], codes[:, 1:], clusters=clusters, n_boot=1000, rng=rng(2)
    )
    kappa = fleiss_kappa(codes, clusters=clusters, n_boot=1000, rng=rng(3))
    elapsed = time.perf_counter() - start
    assert within.n_pairs > 1_000_000
    assert within.ci_low < within.value < within.ci_high
    assert between.ci_low < between.value < between.ci_high
    assert kappa.ci_low < kappa.value < kappa.ci_high
    assert elapsed < 15.0, f"bootstrap took {elapsed:.1f}s"
