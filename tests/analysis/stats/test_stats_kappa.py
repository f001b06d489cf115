"""Cohen's kappa, Fleiss' kappa and Gwet's AC1 against published values and references."""

import math

import numpy as np
import pytest
import statsmodels.stats.inter_rater as smir
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis.stats import cohen_kappa, fleiss_kappa, gwet_ac1
from analysis.stats.kappa import cohen_kappa_from_tables
from tests.analysis.stats.published import FOUR_CODERS_TWELVE_UNITS as RAW_4_RATERS

NAN = np.nan


# Fleiss (1971) / Wikipedia "Fleiss' kappa": 10 subjects, 14 raters, counts per category.
WIKIPEDIA_COUNTS = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def codes_from_counts(counts: np.ndarray) -> np.ndarray:
    """One row per subject, one column per rating, from a subjects x categories count table."""
    return np.array([np.repeat(np.arange(counts.shape[1]), row) for row in counts], dtype=float)


def labels_from_table(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = table.shape[0]
    rows, cols = np.divmod(np.arange(k * k), k)
    counts = table.ravel()
    return np.repeat(rows, counts).astype(float), np.repeat(cols, counts).astype(float)


# SAS PROC FREQ agreement example (reproduced in statsmodels' test-suite).
SAS_TABLE = np.array([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
# Gwet (2008), "kappa paradox": 2 raters, 2 categories, high agreement on a rare category.
PARADOX_TABLE = np.array([[118, 5], [2, 0]])


def test_it_reproduces_the_sas_unweighted_kappa_with_its_asymptotic_se() -> None:
    est = cohen_kappa(*labels_from_table(SAS_TABLE))
    assert est.value == pytest.approx(0.4842, abs=5e-5)
    assert est.se == pytest.approx(0.1380, abs=5e-5)
    assert (est.ci_low, est.ci_high) == pytest.approx((0.2137, 0.7547), abs=5e-5)
    assert "Fleiss, Cohen & Everitt 1969" in est.method
    assert est.n_items == SAS_TABLE.sum()


def test_it_reproduces_the_sas_linear_weighted_kappa_with_its_asymptotic_se() -> None:
    est = cohen_kappa(*labels_from_table(SAS_TABLE), weights="linear")
    assert est.value == pytest.approx(0.4701, abs=5e-5)
    assert est.se == pytest.approx(0.1457, abs=5e-5)
    assert (est.ci_low, est.ci_high) == pytest.approx((0.1845, 0.7558), abs=5e-5)


def test_it_reproduces_irr_weighted_kappas_on_the_anxiety_data() -> None:
    # R irr `anxiety`, raters 2 and 3 (values 1..6; 5 unused). irr::kappa2 uses the observed
    # levels 1, 2, 3, 4, 6 as ordered positions, i.e. codes 0..4 here.
    rater2 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4]
    rater3 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]
    position = {1: 0, 2: 1, 3: 2, 4: 3, 6: 4}
    a = np.array([position[v] for v in rater2], dtype=float)
    b = np.array([position[v] for v in rater3], dtype=float)
    assert cohen_kappa(a, b).value == pytest.approx(-0.006289308, abs=1e-9)
    assert cohen_kappa(a, b, weights="linear").value == pytest.approx(0.1459075, abs=1e-7)
    assert cohen_kappa(a, b, weights="quadratic").value == pytest.approx(0.2520325, abs=1e-7)


def test_it_shows_the_kappa_paradox_that_ac1_resolves() -> None:
    a, b = labels_from_table(PARADOX_TABLE)
    # kappa = (0.944 - 0.94528) / (1 - 0.94528); AC1 = (0.944 - 0.054432) / (1 - 0.054432).
    assert cohen_kappa(a, b).value == pytest.approx(-0.0234, abs=5e-5)
    assert gwet_ac1(np.column_stack([a, b]), n_categories=2).value == pytest.approx(
        0.9408, abs=5e-5
    )


def test_it_returns_nan_kappa_when_both_raters_use_one_shared_category() -> None:
    est = cohen_kappa(np.zeros(5), np.zeros(5), n_categories=3)
    assert math.isnan(est.value) and math.isnan(est.ci_low)
    assert est.n_items == 5


@pytest.mark.parametrize("weights", ["none", "linear", "quadratic"])
def test_it_gives_kappa_one_with_zero_se_for_perfect_agreement(weights: str) -> None:
    # statsmodels' variance rounds to about -1e-16 here; the SE must be 0, not NaN.
    labels = np.array([0, 0, 1, 1, 1, 2.0])
    est = cohen_kappa(labels, labels, weights=weights)  # type: ignore[arg-type]
    assert est.value == pytest.approx(1.0)
    assert est.se == pytest.approx(0.0, abs=1e-7)
    assert (est.ci_low, est.ci_high) == pytest.approx((1.0, 1.0), abs=1e-6)


def test_it_drops_targets_missing_either_label() -> None:
    a = np.array([0, 1, NAN, 1, 0])
    b = np.array([0, 1, 1, NAN, 1])
    est = cohen_kappa(a, b)
    assert est.n_items == 3
    assert est.value == pytest.approx(cohen_kappa(a[[0, 1, 4]], b[[0, 1, 4]]).value)


def test_it_rejects_unknown_kappa_weights() -> None:
    with pytest.raises(ValueError, match="weights"):
        cohen_kappa(np.zeros(3), np.zeros(3), weights="cubic")  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(
    table=arrays(np.int64, st.sampled_from([(2, 2), (3, 3), (4, 4)]), elements=st.integers(0, 9)),
    weights=st.sampled_from(["none", "linear", "quadratic"]),
)
def test_it_matches_statsmodels_kappa_on_random_tables(table: np.ndarray, weights: str) -> None:
    table = table + np.eye(table.shape[0], dtype=np.int64)  # avoid degenerate margins
    with np.errstate(invalid="ignore"):  # statsmodels takes sqrt of a ~-1e-16 variance
        expected = smir.cohens_kappa(table, wt=None if weights == "none" else weights)
    assert cohen_kappa_from_tables(table, weights) == pytest.approx(expected.kappa)
    est = cohen_kappa(*labels_from_table(table), n_categories=table.shape[0], weights=weights)
    assert est.value == pytest.approx(expected.kappa)
    assert est.se == pytest.approx(np.sqrt(max(expected.var_kappa, 0.0)), abs=1e-12)


def test_it_evaluates_many_tables_at_once() -> None:
    rng = np.random.default_rng(3)
    tables = rng.integers(1, 20, size=(7, 3, 3))
    batch = cohen_kappa_from_tables(tables, "quadratic")
    single = [cohen_kappa_from_tables(t, "quadratic") for t in tables]
    np.testing.assert_allclose(batch, single)


def test_it_reproduces_the_wikipedia_fleiss_example() -> None:
    est = fleiss_kappa(codes_from_counts(WIKIPEDIA_COUNTS))
    assert est.value == pytest.approx(0.210, abs=5e-4)
    assert est.n_items == 10
    assert est.n_pairs == 10 * 14 * 13 // 2


# Fleiss (1971): 30 patients, 6 psychiatrists, diagnoses 1..5 (R irr `diagnoses`).
DIAGNOSES = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]  # fmt: skip


def test_it_reproduces_fleiss_1971_psychiatric_diagnoses() -> None:
    # Fleiss (1971) reports 0.430; R irr::kappam.fleiss(diagnoses) gives 0.4302445.
    codes = np.array(DIAGNOSES, dtype=float) - 1
    assert fleiss_kappa(codes).value == pytest.approx(0.4302445, abs=1e-7)


def test_it_reproduces_gwet_2014_fleiss_and_ac1_with_missing_ratings() -> None:
    # Gwet (2014), Handbook 4th ed. p. 120 (irrCAC cac.raw4raters): pa 0.818;
    # Fleiss pe 0.239, kappa 0.761; AC1 pe 0.190, AC1 0.775.
    fleiss = fleiss_kappa(RAW_4_RATERS, n_categories=5)
    ac1 = gwet_ac1(RAW_4_RATERS, n_categories=5)
    assert fleiss.value == pytest.approx(0.761, abs=5e-4)
    assert ac1.value == pytest.approx(0.775, abs=5e-4)
    # Observed agreement 0.818 = (pa - pe) / (1 - pe) solved for pa from both coefficients.
    pa_from_fleiss = fleiss.value * (1 - 0.2387153) + 0.2387153
    pa_from_ac1 = ac1.value * (1 - 0.1903212) + 0.1903212
    assert pa_from_fleiss == pytest.approx(9 / 11, abs=1e-6)
    assert pa_from_ac1 == pytest.approx(9 / 11, abs=1e-6)
    assert (fleiss.n_items, ac1.n_items) == (11, 11)


def slow_multirater(codes: np.ndarray, q: int) -> tuple[float, float]:
    """Fleiss' kappa and AC1 by enumerating ordered rater pairs item by item."""
    agreements, shares = [], []
    for row in codes:
        ratings = [int(v) for v in row if not math.isnan(v)]
        if ratings:
            shares.append([ratings.count(k) / len(ratings) for k in range(q)])
        if len(ratings) >= 2:
            ordered_pairs = [
                (x, y) for i, x in enumerate(ratings) for j, y in enumerate(ratings) if i != j
            ]
            agreements.append(sum(x == y for x, y in ordered_pairs) / len(ordered_pairs))
    pa = sum(agreements) / len(agreements)
    pi = [sum(s[k] for s in shares) / len(shares) for k in range(q)]
    pe_fleiss = sum(p * p for p in pi)
    pe_ac1 = sum(p * (1 - p) for p in pi) / (q - 1)
    fleiss = (pa - pe_fleiss) / (1 - pe_fleiss) if pe_fleiss < 1 else math.nan
    return fleiss, (pa - pe_ac1) / (1 - pe_ac1)


CODES_WITH_GAPS = arrays(
    np.float64,
    st.tuples(st.integers(1, 20), st.integers(2, 6)),
    elements=st.sampled_from([NAN, 0.0, 1.0, 2.0]),
)


@settings(max_examples=50, deadline=None)
@given(codes=CODES_WITH_GAPS)
def test_it_matches_a_pair_enumerating_fleiss_and_ac1_with_unequal_raters(
    codes: np.ndarray,
) -> None:
    counts = (~np.isnan(codes)).sum(axis=1)
    fleiss = fleiss_kappa(codes, n_categories=3)
    ac1 = gwet_ac1(codes, n_categories=3)
    if not (counts >= 2).any():
        assert math.isnan(fleiss.value) and math.isnan(ac1.value)
        return
    expected_fleiss, expected_ac1 = slow_multirater(codes, 3)
    assert ac1.value == pytest.approx(expected_ac1)
    if math.isnan(expected_fleiss):
        assert math.isnan(fleiss.value)
    else:
        assert fleiss.value == pytest.approx(expected_fleiss)


@settings(max_examples=50, deadline=None)
@given(
    codes=arrays(
        np.float64,
        st.tuples(st.integers(2, 20), st.integers(2, 6)),
        elements=st.sampled_from([0.0, 1.0, 2.0, 3.0]),
    )
)
def test_it_matches_statsmodels_fleiss_with_equal_raters(codes: np.ndarray) -> None:
    table, _ = smir.aggregate_raters(codes.astype(int), n_cat=4)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = smir.fleiss_kappa(table)
    got = fleiss_kappa(codes, n_categories=4).value
    if np.isfinite(expected):
        assert got == pytest.approx(expected)
    else:
        assert math.isnan(got)


def test_it_returns_nan_fleiss_but_ac1_one_when_everyone_picks_one_category() -> None:
    codes = np.ones((4, 3))
    assert math.isnan(fleiss_kappa(codes).value)
    assert gwet_ac1(codes, n_categories=2).value == pytest.approx(1.0)


def test_it_uses_unused_categories_in_ac1_chance_agreement() -> None:
    codes = np.array([[0, 0], [1, 1], [0, 1.0]])
    # pa = 2/3; pi = (1/2, 1/2, 0); pe = (1/4 + 1/4) / (q - 1).
    assert gwet_ac1(codes, n_categories=2).value == pytest.approx((2 / 3 - 0.5) / 0.5)
    assert gwet_ac1(codes, n_categories=3).value == pytest.approx((2 / 3 - 0.25) / 0.75)


def test_it_needs_at_least_two_categories_for_ac1() -> None:
    with pytest.raises(ValueError, match="n_categories >= 2"):
        gwet_ac1(np.zeros((3, 2)), n_categories=1)


def test_it_returns_nan_when_no_item_has_two_ratings() -> None:
    codes = np.array([[0, NAN], [NAN, 1.0]])
    assert math.isnan(fleiss_kappa(codes).value)
    assert math.isnan(gwet_ac1(codes, n_categories=2).value)
    assert fleiss_kappa(codes).n_items == 0
