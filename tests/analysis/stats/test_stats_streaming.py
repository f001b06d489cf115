"""Poisson resample weights and recorded sums: what lets a report be computed in chunks."""

import numpy as np
import pytest
import scipy.stats

from analysis import stats
from analysis.stats.bootstrap import SumsRecorder, estimate_from_record
from analysis.stats.streaming import _poisson_one, poisson_weights


def test_it_gives_an_item_the_same_weights_whatever_it_is_drawn_with():
    keys = np.array([3, 64, 65, 200, 7_000_001])
    together = poisson_weights(keys, 50, seed=11)
    for j, key in enumerate(keys):
        alone = poisson_weights(np.array([key]), 50, seed=11)
        np.testing.assert_array_equal(alone[:, 0], together[:, j])


def test_it_draws_other_weights_for_another_seed_or_item():
    a = poisson_weights(np.array([5, 6]), 200, seed=1)
    b = poisson_weights(np.array([5, 6]), 200, seed=2)
    assert not np.array_equal(a[:, 0], b[:, 0])
    assert not np.array_equal(a[:, 0], a[:, 1])


def test_it_draws_poisson_one_weights():
    w = poisson_weights(np.arange(20_000), 100, seed=3)
    assert w.dtype == np.float32 and w.shape == (100, 20_000)
    assert w.mean() == pytest.approx(1.0, abs=0.01)
    assert w.var() == pytest.approx(1.0, abs=0.02)
    assert (w == np.round(w)).all() and w.min() == 0
    # The whole distribution, not its first two moments: a chi-square test against Poisson(1)
    # on 2M draws (values >= 6 pooled).
    values = np.minimum(w.ravel().astype(int), 6)
    observed = np.bincount(values, minlength=7)
    expected = scipy.stats.poisson.pmf(np.arange(6), 1.0)
    expected = np.append(expected, 1 - expected.sum()) * values.size
    assert scipy.stats.chisquare(observed, expected).pvalue > 1e-4


def test_it_inverts_the_rare_uniform_past_the_short_table():
    cdf = scipy.stats.poisson.cdf(np.arange(16), 1.0)
    e = np.exp(-1.0)  # P(X = 0): a uniform at or below it is 0, just above it 1
    uniform = np.array([0.0, e, np.nextafter(e, 1), cdf[11] + 1e-13, cdf[12] + 1e-14])
    assert _poisson_one(uniform).tolist() == [0, 0, 1, 12, 13]


@pytest.mark.parametrize(
    ("keys", "n_boot", "seed"), [([-1], 10, 0), ([[1, 2]], 10, 0), ([1], 0, 0), ([1], 10, -1)]
)
def test_it_refuses_bad_arguments(keys, n_boot, seed):
    with pytest.raises(ValueError):
        poisson_weights(np.array(keys), n_boot, seed)


def _recorded(codes, items, keys, n_boot=300):
    recorder = SumsRecorder(np.arange(len(keys)), poisson_weights(keys, n_boot, seed=9))
    stats.fleiss_kappa(codes, n_categories=3, clusters=items, n_boot=n_boot, rng=recorder)
    (record,) = recorder.flush()
    return record


def test_one_flush_gives_each_statistic_the_sums_it_would_get_alone():
    """The recorder multiplies the weights with every statistic of a slice at once; each
    record's resample sums are those of the statistic's own product, whichever slice of the
    chunk's clusters it covers and whatever shape its statistics have."""
    rng = np.random.default_rng(4)
    recorder = SumsRecorder(np.arange(50), poisson_weights(np.arange(50) + 7, 40, seed=2))
    cases = [
        (rng.integers(0, 5, (150, 3)).astype(float), np.repeat(np.arange(50), 3)),
        (rng.random((12, 2)), np.arange(0, 24, 2)),  # few clusters: the gathered product
        (rng.integers(0, 3, 80).astype(float), rng.integers(0, 50, 80)),  # one statistic, 1-D
        (np.zeros((0, 4)), np.zeros(0, dtype=int)),  # nothing in this slice
    ]
    for target_stats, clusters in cases:
        recorder.record(target_stats, np.sum, clusters, 1, 1, "case")
    records = recorder.flush()

    for (target_stats, clusters), record in zip(cases, records, strict=True):
        alone = recorder.sums(np.atleast_2d(target_stats.T).T, clusters)
        np.testing.assert_allclose(record.boot.reshape(alone.shape), alone, rtol=1e-6)
        assert record.boot.shape == (40, *target_stats.shape[1:])
        np.testing.assert_array_equal(record.point, target_stats.sum(axis=0))


def test_it_adds_the_records_of_chunks_into_the_record_of_the_whole():
    rng = np.random.default_rng(0)
    items = np.repeat(np.arange(40), 3)
    codes = rng.integers(0, 3, (120, 4)).astype(float)
    codes[rng.random(codes.shape) < 0.2] = np.nan
    keys = np.arange(40) * 5
    whole = _recorded(codes, items, keys)
    first, second = items < 17, items >= 17
    merged = _recorded(codes[first], items[first], keys[:17]) + _recorded(
        codes[second], items[second] - 17, keys[17:]
    )
    np.testing.assert_array_equal(merged.point, whole.point)
    np.testing.assert_allclose(merged.boot, whole.boot, rtol=1e-6)
    assert (merged.n_items, merged.n_pairs) == (whole.n_items, whole.n_pairs)
    plain = stats.fleiss_kappa(codes, n_categories=3)
    label = "Poisson"
    assert estimate_from_record(merged, confidence=0.95, interval_label=label).value == plain.value
