"""Position consistency and length preference of pairwise judges."""

import math

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis.stats import longer_wins, position_consistency

NAN = np.nan


def test_it_counts_comparisons_whose_verdict_survives_swapping() -> None:
    est = position_consistency(np.array([0, 1, 0, 0, NAN]))
    assert est.value == pytest.approx(0.75)
    assert (est.n_items, est.n_pairs) == (4, 0)


def test_it_reproduces_newcombe_1998_wilson_intervals() -> None:
    # Newcombe (1998), Stat. Med. 17: 81/263 -> (0.2553, 0.3662); 15/148 -> (0.0624, 0.1605).
    for successes, n, expected in ((81, 263, (0.2553, 0.3662)), (15, 148, (0.0624, 0.1605))):
        flags = np.where(np.arange(n) < successes, 0.0, 1.0)
        est = position_consistency(flags)
        assert est.value == pytest.approx(successes / n)
        assert (est.ci_low, est.ci_high) == pytest.approx(expected, abs=5e-5)
        assert "Wilson" in est.method


def test_its_wilson_interval_matches_statsmodels_on_random_counts() -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        n = int(rng.integers(1, 500))
        flags = (rng.random(n) < rng.random()).astype(float)
        expected = proportion_confint(int((flags == 0).sum()), n, alpha=0.1, method="wilson")
        est = position_consistency(flags, confidence=0.9)
        assert (est.ci_low, est.ci_high) == pytest.approx(expected, abs=1e-12)


def test_it_gives_nan_without_known_flags_and_rejects_other_values() -> None:
    est = position_consistency(np.array([NAN, NAN]))
    assert math.isnan(est.value) and est.n_items == 0
    with pytest.raises(ValueError, match="only 0, 1"):
        position_consistency(np.array([0.0, 2.0]))


def test_it_counts_decisive_verdicts_won_by_the_longer_answer() -> None:
    verdicts = np.array([0, 1, 2, 0, 1, 0])
    len_a = np.array([10, 5, 7, 3, 3, 8])
    len_b = np.array([5, 10, 1, 9, 3, 8])
    # Kept: 0 (A longer, A wins), 1 (B longer, B wins), 3 (A shorter, A wins).
    est = longer_wins(verdicts, len_a, len_b)
    assert est.value == pytest.approx(2 / 3)
    assert est.n_items == 3


def test_it_honours_custom_verdict_codes() -> None:
    est = longer_wins(
        np.array([2, 2, 0]), np.array([9, 1, 5]), np.array([1, 9, 1]), a_wins_code=2, b_wins_code=0
    )
    # A wins when A is longer (kept, longer wins), A wins when shorter, B wins when shorter.
    assert est.value == pytest.approx(1 / 3)


def test_it_returns_nan_without_usable_comparisons() -> None:
    est = longer_wins(np.array([2.0, 0.0]), np.array([1, 3]), np.array([2, 3]))
    assert math.isnan(est.value) and est.n_items == 0


def test_it_rejects_equal_win_codes_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="differ"):
        longer_wins(np.zeros(2), np.ones(2), np.ones(2), a_wins_code=1, b_wins_code=1)
    with pytest.raises(ValueError, match="len_b"):
        longer_wins(np.zeros(2), np.ones(2), np.ones(3))
