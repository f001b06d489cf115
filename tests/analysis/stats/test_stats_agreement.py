"""Percent agreement and consensus labels."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis.stats import consensus, percent_agreement

NAN = np.nan
CODE_ELEMENTS = st.sampled_from([NAN, 0.0, 1.0, 2.0, 3.0])


def code_matrix(max_rows: int = 25, max_cols: int = 5) -> st.SearchStrategy[np.ndarray]:
    shape = st.tuples(st.integers(1, max_rows), st.integers(1, max_cols))
    return arrays(np.float64, shape, elements=CODE_ELEMENTS)


def slow_between(a: np.ndarray, b: np.ndarray, tie: float | None) -> tuple[int, int]:
    agree = pairs = 0
    for row_a, row_b in zip(a, b, strict=True):
        for x, y in itertools.product(row_a, row_b):
            if math.isnan(x) or math.isnan(y) or tie in (x, y):
                continue
            pairs += 1
            agree += x == y
    return agree, pairs


def slow_within(a: np.ndarray, tie: float | None) -> tuple[int, int]:
    agree = pairs = 0
    for row in a:
        for x, y in itertools.combinations(row, 2):
            if math.isnan(x) or math.isnan(y) or tie in (x, y):
                continue
            pairs += 1
            agree += x == y
    return agree, pairs


def test_it_pools_pairs_between_two_groups() -> None:
    # Target 1: A={0,0}, B={0,1} -> 4 pairs, 2 agree. Target 2: A={1}, B={1} -> 1 pair, agrees.
    # Target 3: B missing -> no pairs.
    a = np.array([[0, 0], [1, NAN], [2, 2]])
    b = np.array([[0, 1], [1, NAN], [NAN, NAN]])
    est = percent_agreement(a, b)
    assert est.value == pytest.approx(3 / 5)
    assert (est.n_pairs, est.n_items) == (5, 2)
    assert math.isnan(est.ci_low) and math.isnan(est.se)


def test_it_counts_unordered_pairs_of_distinct_raters_within_a_group() -> None:
    # Target 1: {0,0,1} -> 3 pairs, 1 agrees; target 2: {2,2} -> 1 pair agrees; target 3: 1 rater.
    a = np.array([[0, 0, 1], [2, 2, NAN], [1, NAN, NAN]])
    est = percent_agreement(a)
    assert est.value == pytest.approx(2 / 4)
    assert (est.n_pairs, est.n_items) == (4, 2)


def test_it_drops_pairs_involving_the_tie_code() -> None:
    a = np.array([[0, 2], [1, 1]])
    b = np.array([[0, 0], [2, 1]])
    # Without ties: target 1 pairs (0,0),(0,0) agree; target 2 pairs (1,1),(1,1) agree.
    est = percent_agreement(a, b, tie_code=2)
    assert est.value == 1.0
    assert est.n_pairs == 4
    assert percent_agreement(a, b).value == pytest.approx(4 / 8)


def test_it_returns_nan_when_there_are_no_pairs() -> None:
    est = percent_agreement(np.array([[0, NAN], [NAN, 1]]))
    assert math.isnan(est.value)
    assert (est.n_items, est.n_pairs) == (0, 0)


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (np.array([0.0, 1.0]), "2-dimensional"),
        (np.array([[0.5, 1.0]]), "integer"),
        (np.array([[-1.0, 1.0]]), ">= 0"),
        (np.array([[np.inf, 1.0]]), "infinite"),
    ],
)
def test_it_rejects_malformed_codes(codes: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        percent_agreement(codes)


def test_it_rejects_groups_with_different_targets() -> None:
    with pytest.raises(ValueError, match="rows"):
        percent_agreement(np.zeros((3, 2)), np.zeros((4, 2)))


def test_it_rejects_codes_outside_n_categories() -> None:
    with pytest.raises(ValueError, match="out of range"):
        percent_agreement(np.array([[0, 3]]), n_categories=3)


@settings(max_examples=50, deadline=None)
@given(a=code_matrix(), data=st.data(), use_tie=st.booleans())
def test_it_matches_an_explicit_pair_loop_between_groups(
    a: np.ndarray, data: st.DataObject, use_tie: bool
) -> None:
    b = data.draw(
        arrays(np.float64, (a.shape[0], data.draw(st.integers(1, 4))), elements=CODE_ELEMENTS)
    )
    tie = 3 if use_tie else None
    agree, pairs = slow_between(a, b, None if tie is None else float(tie))
    est = percent_agreement(a, b, tie_code=tie, n_categories=4)
    assert est.n_pairs == pairs
    if pairs:
        assert est.value == pytest.approx(agree / pairs)
    else:
        assert math.isnan(est.value)


@settings(max_examples=50, deadline=None)
@given(a=code_matrix(), use_tie=st.booleans())
def test_it_matches_an_explicit_pair_loop_within_a_group(a: np.ndarray, use_tie: bool) -> None:
    tie = 0 if use_tie else None
    agree, pairs = slow_within(a, None if tie is None else float(tie))
    est = percent_agreement(a, tie_code=tie, n_categories=4)
    assert est.n_pairs == pairs
    if pairs:
        assert est.value == pytest.approx(agree / pairs)
    else:
        assert math.isnan(est.value)


def test_it_picks_the_unique_most_frequent_code_as_consensus() -> None:
    codes = np.array(
        [
            [0, 0, 1],  # majority 0
            [0, 1, NAN],  # tie -> NaN
            [NAN, NAN, NAN],  # no labels -> NaN
            [2, NAN, NAN],  # single label
            [0, 1, 1],  # majority 1
            [0, 1, 2],  # three-way tie -> NaN
        ]
    )
    np.testing.assert_array_equal(consensus(codes), [0, NAN, NAN, 2, 1, NAN])


@settings(max_examples=50, deadline=None)
@given(a=code_matrix())
def test_it_agrees_with_a_counter_based_consensus(a: np.ndarray) -> None:
    expected = []
    for row in a:
        values, counts = np.unique(row[~np.isnan(row)], return_counts=True)
        top = counts.max() if counts.size else 0
        winners = values[counts == top] if counts.size else []
        expected.append(winners[0] if len(winners) == 1 else NAN)
    np.testing.assert_array_equal(consensus(a, n_categories=4), expected)


@pytest.mark.parametrize(
    ("tie_code", "n_categories", "message"),
    [(-1, None, "non-negative"), (3, 3, "out of range"), (True, None, "non-negative")],
)
def test_it_rejects_an_invalid_tie_code(
    tie_code: int, n_categories: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        percent_agreement(np.array([[0, 1]]), tie_code=tie_code, n_categories=n_categories)


def test_it_accepts_a_tie_code_nobody_used() -> None:
    est = percent_agreement(np.array([[0, 0], [0, 1.0]]), tie_code=5)
    assert est.value == pytest.approx(0.5)
