"""Benjamini–Hochberg adjustment."""

import numpy as np
import pytest

from analysis.stats import benjamini_hochberg

# Benjamini & Hochberg (1995) worked example: 15 p-values; at q = 0.05 the four smallest are
# rejected (Bonferroni rejects three).
BH_1995 = np.array(
    [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262,
     0.5719, 0.6528, 0.7590, 1.0000]
)  # fmt: skip


def test_it_reproduces_the_benjamini_hochberg_1995_example() -> None:
    result = benjamini_hochberg(BH_1995, alpha=0.05)
    np.testing.assert_array_equal(result.reject, np.arange(15) < 4)


def test_it_adjusts_p_values_by_step_up_minima() -> None:
    m = len(BH_1995)
    scaled = BH_1995 * m / np.arange(1, m + 1)
    expected = np.minimum.accumulate(scaled[::-1])[::-1]
    result = benjamini_hochberg(BH_1995[::-1])
    np.testing.assert_allclose(result.p_adjusted, np.minimum(expected, 1)[::-1])


def test_it_leaves_missing_p_values_out_of_the_count() -> None:
    result = benjamini_hochberg(np.array([0.01, np.nan, 0.04]))
    # Two tests, not three: 0.01 * 2 / 1 = 0.02 and 0.04 * 2 / 2 = 0.04.
    np.testing.assert_allclose(result.p_adjusted, [0.02, np.nan, 0.04])
    np.testing.assert_array_equal(result.reject, [True, False, True])


@pytest.mark.parametrize("p", [np.array([0.1, 1.2]), np.array([[0.1]])])
def test_it_rejects_invalid_p_values(p: np.ndarray) -> None:
    with pytest.raises(ValueError):
        benjamini_hochberg(p)
