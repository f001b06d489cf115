"""Krippendorff's interval alpha on values (linear in the data) against the package."""

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.stats import Resampler, krippendorff_alpha_interval_values


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_units=st.integers(2, 25),
    n_coders=st.integers(2, 5),
    scale=st.sampled_from([1.0, 1e3, 1e6, 1e9]),
)
def test_it_matches_the_krippendorff_package_on_random_values(seed, n_units, n_coders, scale):
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(size=(n_units, 1)) * scale + rng.normal(size=(n_units, n_coders)))
    values[rng.random(values.shape) < 0.3] = np.nan
    pairable = (~np.isnan(values)).sum(axis=1) >= 2
    if not pairable.any() or np.nanstd(values[pairable]) == 0:
        return

    ours = krippendorff_alpha_interval_values(values).value
    theirs = krippendorff.alpha(reliability_data=values.T, level_of_measurement="interval")

    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-9)


def test_it_counts_pairable_units_and_bootstraps_with_a_shared_resampler():
    values = np.array([[1.0, 2.0], [5.0, 5.0], [9.0, np.nan], [3.0, 4.0], [8.0, 7.0]])
    resampler = Resampler.draw(np.arange(5), 200, np.random.default_rng(0))

    est = krippendorff_alpha_interval_values(values, clusters=np.arange(5), n_boot=200,
                                             rng=resampler)  # fmt: skip

    assert (est.n_items, est.n_pairs) == (4, 4)
    assert est.ci_low <= est.value <= est.ci_high


def test_it_is_nan_without_a_pairable_unit_and_refuses_infinity():
    assert np.isnan(krippendorff_alpha_interval_values([[1.0, np.nan]]).value)
    with pytest.raises(ValueError, match="finite"):
        krippendorff_alpha_interval_values([[1.0, np.inf]])
