"""Correlations from the joint table of per-target means on an ordinal grid: scipy's values
on random data (the reference library), the same values however the targets are split and
added, and resample replicates that equal the expanded-sample correlations."""

import warnings

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stats import SumsRecorder, mean_grid, table_correlations
from analysis.stats.correlation_table import table_metric
from analysis.stats.streaming import poisson_weights

SCIPY = {
    "pearson": lambda x, y: scipy.stats.pearsonr(x, y).statistic,
    "spearman": lambda x, y: scipy.stats.spearmanr(x, y).statistic,
    "kendall": lambda x, y: scipy.stats.kendalltau(x, y, variant="b").statistic,
}


def _scores(rng, n, k, raters, missing):
    codes = rng.integers(0, k, (n, raters)).astype(float)
    codes[rng.random(codes.shape) < missing] = np.nan
    return codes


def _means(codes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.nanmean(codes, axis=1)


def test_its_grid_holds_every_mean_of_up_to_r_codes():
    assert mean_grid(3, 2).tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert len(mean_grid(5, 3)) == 17  # 0..4 in steps of 1/2 and 1/3
    assert mean_grid(200, 40) is None  # too many values for a table


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 80), k=st.integers(2, 7),
       raters_a=st.integers(1, 4), raters_b=st.integers(1, 3))  # fmt: skip
def test_it_matches_scipy_on_random_ordinal_scores(seed, n, k, raters_a, raters_b):
    rng = np.random.default_rng(seed)
    a, b = _scores(rng, n, k, raters_a, 0.2), _scores(rng, n, k, raters_b, 0.1)
    found = table_correlations(a, b, grid_a=mean_grid(k, raters_a), grid_b=mean_grid(k, raters_b),
                               clusters=None, n_boot=0, rng=None)  # fmt: skip
    x, y = _means(a), _means(b)
    both = ~np.isnan(x) & ~np.isnan(y)
    for method, reference in SCIPY.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = reference(x[both], y[both]) if both.sum() >= 3 else np.nan
        assert found[method].value == pytest.approx(expected, abs=1e-13, nan_ok=True), method
        assert found[method].n_items == both.sum()


def test_its_point_estimates_do_not_depend_on_how_the_targets_are_split():
    """The table is integer counts: added chunk by chunk in any order, the same floats."""
    rng = np.random.default_rng(5)
    a, b = _scores(rng, 300, 5, 3, 0.1), _scores(rng, 300, 5, 1, 0.0)
    grids = {"grid_a": mean_grid(5, 3), "grid_b": mean_grid(5, 1)}
    keys = np.arange(300) + 11
    whole = _recorded(a, b, grids, keys)
    for cut in (7, 150, 299):
        parts = [slice(0, cut), slice(cut, 300)][::-1]
        chunks = [_recorded(a[p], b[p], grids, keys[p]) for p in parts]
        for method in whole:
            point = sum(c[method].point for c in chunks)
            assert table_metric(point, method=method, **_grid_keys(grids)) == table_metric(
                whole[method].point, method=method, **_grid_keys(grids)
            )
            boot = sum(c[method].boot for c in chunks)
            np.testing.assert_allclose(boot, whole[method].boot)


def _recorded(a, b, grids, keys):
    recorder = SumsRecorder(np.arange(len(keys)), poisson_weights(keys, 50, seed=1))
    table_correlations(a, b, **grids, clusters=np.arange(len(keys)), n_boot=50, rng=recorder)
    records = recorder.flush()
    return dict(zip(("spearman", "kendall", "pearson"), records, strict=True))


def _grid_keys(grids):
    return {name: tuple(grid.tolist()) for name, grid in grids.items()}


@pytest.mark.parametrize("method", sorted(SCIPY))
def test_its_resample_replicates_are_the_expanded_sample_correlations(method):
    rng = np.random.default_rng(9)
    a, b = _scores(rng, 40, 4, 2, 0.0), _scores(rng, 40, 4, 1, 0.0)
    grids = {"grid_a": mean_grid(4, 2), "grid_b": mean_grid(4, 1)}
    record = _recorded(a, b, grids, np.arange(40))[method]
    replicates = table_metric(record.boot, method=method, **_grid_keys(grids))
    weights = poisson_weights(np.arange(40), 50, seed=1).astype(int)
    x, y = _means(a), _means(b)
    for row in range(50):
        drawn = np.repeat(np.arange(40), weights[row])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = SCIPY[method](x[drawn], y[drawn])
        assert replicates[row] == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_it_refuses_means_off_the_grid():
    with pytest.raises(ValueError, match="off the grid"):
        table_correlations(np.array([[0.5], [1.0], [2.0]]), np.array([[0.0], [1.0], [2.0]]),
                           grid_a=mean_grid(3, 1), grid_b=mean_grid(3, 1), clusters=None,
                           n_boot=0, rng=None)  # fmt: skip
