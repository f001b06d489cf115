"""Krippendorff's alpha: published example, package agreement and the fast formula."""

import math

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis.stats import krippendorff_alpha
from analysis.stats._validate import category_counts
from analysis.stats.alpha import coincidence_contributions, krippendorff_alpha_from_coincidences
from tests.analysis.stats.published import FOUR_CODERS_TWELVE_UNITS as KRIPPENDORFF_2011

NAN = np.nan


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)],
)
def test_it_reproduces_krippendorff_2011(level: str, published: float) -> None:
    est = krippendorff_alpha(KRIPPENDORFF_2011, level=level)  # type: ignore[arg-type]
    assert est.value == pytest.approx(published, abs=5e-4)
    # Unit 12 has a single value, so 11 pairable units; m_u = 3,4,4,4,4,4,4,4,4,3,2.
    assert est.n_items == 11
    assert est.n_pairs == 3 + 6 * 8 + 3 + 1


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_it_computes_the_2011_example_with_the_fast_formula(level: str) -> None:
    counts = category_counts(KRIPPENDORFF_2011, 5)
    o = coincidence_contributions(counts).sum(axis=0)
    expected = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849}[level]
    assert krippendorff_alpha_from_coincidences(o, level) == pytest.approx(expected, abs=5e-4)  # type: ignore[arg-type]


def test_it_builds_the_published_coincidence_matrix() -> None:
    # Krippendorff (2011) sec. C: value totals n_c = 9, 13, 10, 5, 3 (n = 40 pairable values);
    # o_11 = 3 (unit 1) + 2 (unit 8) + 2 (unit 11); o_12 = 1/3 (unit 6) + 3/3 (unit 8).
    o = coincidence_contributions(category_counts(KRIPPENDORFF_2011, 5)).sum(axis=0)
    np.testing.assert_allclose(o.sum(axis=1), [9, 13, 10, 5, 3])
    np.testing.assert_allclose(o[0, 0], 7)
    np.testing.assert_allclose(o[0, 1], 4 / 3)
    np.testing.assert_allclose(o, o.T)


UNITS = arrays(
    np.float64,
    st.tuples(st.integers(1, 25), st.integers(2, 5)),
    elements=st.sampled_from([NAN, 0.0, 1.0, 2.0, 3.0]),
)


@settings(max_examples=50, deadline=None)
@given(codes=UNITS, level=st.sampled_from(["nominal", "ordinal", "interval"]))
def test_it_matches_the_krippendorff_package_on_random_data(codes: np.ndarray, level: str) -> None:
    counts = category_counts(codes, 4)
    fast = krippendorff_alpha_from_coincidences(
        coincidence_contributions(counts).sum(axis=0),
        level,  # type: ignore[arg-type]
    )
    est = krippendorff_alpha(codes, level=level, n_categories=4)  # type: ignore[arg-type]
    if (counts.sum(axis=1) < 2).all():
        assert math.isnan(est.value) and math.isnan(fast)
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = krippendorff.alpha(
            reliability_data=codes.T, value_domain=np.arange(4), level_of_measurement=level
        )
    if math.isnan(expected):
        assert math.isnan(est.value) and math.isnan(fast)
    else:
        assert est.value == pytest.approx(expected)
        assert fast == pytest.approx(expected)


def test_it_evaluates_many_coincidence_matrices_at_once() -> None:
    rng = np.random.default_rng(5)
    matrices = rng.random((6, 4, 4)) * 10
    matrices = matrices + np.swapaxes(matrices, 1, 2)
    for level in ("nominal", "ordinal", "interval"):
        batch = krippendorff_alpha_from_coincidences(matrices, level)
        single = [krippendorff_alpha_from_coincidences(m, level) for m in matrices]
        np.testing.assert_allclose(batch, single)


def test_it_returns_nan_when_every_pairable_value_is_the_same() -> None:
    est = krippendorff_alpha(np.array([[1, 1], [1, 1], [2, NAN]]))
    assert math.isnan(est.value)
    assert est.n_items == 2


def test_it_returns_nan_when_no_unit_has_two_values() -> None:
    est = krippendorff_alpha(
        np.array([[0, NAN], [NAN, 1]]), n_boot=10, rng=np.random.default_rng(0)
    )
    assert math.isnan(est.value)
    assert est.n_items == 0


def test_it_rejects_an_unknown_level() -> None:
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(np.zeros((2, 2)), level="ratio")  # type: ignore[arg-type]


def test_it_is_zero_and_says_why_when_one_paired_value_deviates() -> None:
    # The report's "alpha 0.000 next to kappa 0.788 and 95% agreement": 20 steps labelled by
    # two raters, 39 of the 40 paired labels "correct"; thousands of steps labelled once.
    # Observed disagreement 2 * 1/1 over 40 values equals the expected 2 * 39 * 1 / 39, so
    # alpha is exactly 0 whatever the raw agreement (checked against the package).
    rng = np.random.default_rng(0)
    codes = np.full((2000, 2), NAN)
    codes[:, 0] = (rng.random(2000) < 0.25).astype(float)
    codes[:20] = 0.0
    codes[0, 1] = 1.0

    est = krippendorff_alpha(codes, n_categories=2, n_boot=200, rng=np.random.default_rng(1))

    counts = category_counts(codes, 2)
    package = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
    assert est.value == pytest.approx(0.0, abs=1e-12) == pytest.approx(package, abs=1e-12)
    assert est.n_items == 20
    assert "only one paired value differs from the most common one" in est.method


def test_it_adds_no_note_when_the_paired_values_vary() -> None:
    est = krippendorff_alpha(np.array([[0, 0], [1, 1], [1, 0], [0, 1], [1, 1.0]]))
    assert est.method == "Krippendorff's alpha (nominal); no interval"


def test_it_says_alpha_is_not_defined_when_every_paired_value_is_the_same() -> None:
    est = krippendorff_alpha(np.array([[1, 1], [1, 1], [2, NAN]]))
    assert "not defined" in est.method
