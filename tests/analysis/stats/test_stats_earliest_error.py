"""First-error extraction and ProcessBench-style earliest-error agreement."""

import math

import numpy as np
import pytest

from analysis.stats import earliest_error_agreement, first_error

NAN = np.nan
REF = np.array([2, -1, 0, 3, -1, 1, NAN])
JUDGE = np.array([2, -1, 1, 1, 0, -1, 0])


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_it_finds_the_first_step_with_an_error_code() -> None:
    steps = np.array(
        [
            [0, 0, 1, 0],
            [0, 0, NAN, NAN],  # judged, clean
            [NAN, NAN, NAN, NAN],  # not judged
            [1, 1, 0, NAN],
            [0, NAN, 2, 0],  # unjudged step before the error is skipped
        ]
    )
    np.testing.assert_array_equal(first_error(steps, [1, 2]), [2, -1, NAN, 0, 2])


def test_it_rejects_an_empty_error_code_set() -> None:
    with pytest.raises(ValueError, match="error_codes"):
        first_error(np.zeros((2, 3)), [])


def test_it_scores_exact_matches_overall_on_errors_and_on_clean_solutions() -> None:
    result = earliest_error_agreement(REF, JUDGE)
    assert result.first_error_accuracy.value == pytest.approx(2 / 6)
    assert result.error_accuracy.value == pytest.approx(1 / 4)
    assert result.correct_accuracy.value == pytest.approx(1 / 2)
    assert result.processbench_f1.value == pytest.approx(2 * 0.25 * 0.5 / 0.75)
    assert [e.n_items for e in (result.error_accuracy, result.correct_accuracy)] == [4, 2]
    assert result.first_error_accuracy.n_items == 6
    assert (result.error_accuracy.ci_low, result.error_accuracy.ci_high) == pytest.approx(
        wilson(1, 4)
    )
    assert math.isnan(result.processbench_f1.ci_low)


def test_it_gives_f1_zero_when_both_accuracies_are_zero_and_nan_without_clean_solutions() -> None:
    zero = earliest_error_agreement(np.array([1, -1.0]), np.array([0, 2.0]))
    assert zero.processbench_f1.value == 0.0
    no_clean = earliest_error_agreement(np.array([1, 2.0]), np.array([1, 2.0]))
    assert no_clean.error_accuracy.value == 1.0
    assert math.isnan(no_clean.correct_accuracy.value)
    assert math.isnan(no_clean.processbench_f1.value)


def test_it_bootstraps_all_four_metrics_with_intervals() -> None:
    generator = np.random.default_rng(0)
    ref = generator.integers(-1, 5, 400).astype(float)
    judge = np.where(generator.random(400) < 0.7, ref, generator.integers(-1, 5, 400))
    result = earliest_error_agreement(ref, judge, n_boot=300, rng=np.random.default_rng(1))
    for est in (
        result.first_error_accuracy,
        result.error_accuracy,
        result.correct_accuracy,
        result.processbench_f1,
    ):
        assert est.ci_low < est.value < est.ci_high
        assert "bootstrap" in est.method


@pytest.mark.parametrize(
    ("ref", "message"),
    [(np.array([0.5, 1.0]), "step indices"), (np.array([-2.0, 1.0]), "step indices")],
)
def test_it_rejects_malformed_first_error_indices(ref: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        earliest_error_agreement(ref, np.array([0.0, 1.0]))


def test_it_rejects_vectors_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="shape"):
        earliest_error_agreement(np.array([0.0, 1.0]), np.array([0.0]))
