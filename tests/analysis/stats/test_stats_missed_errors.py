"""The missed-error and false-error rates: by hand, against a loop, and their intervals."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.stats import false_error_rate, missed_error_rate

nan = np.nan


def test_it_counts_the_errors_the_judge_passes_by_hand():
    reference = [1, 1, 1, 1, 0, 0, nan, 1]
    judge = [1, 0, 0, 1, 1, 0, 0, nan]
    missed = missed_error_rate(reference, judge)
    assert missed.value == pytest.approx(2 / 4)  # of the 4 errors both labelled, 2 passed
    assert (missed.n_items, missed.n_pairs) == (4, 4)
    invented = false_error_rate(reference, judge)
    assert invented.value == pytest.approx(1 / 2)
    assert "no interval" in missed.method


def test_it_is_undefined_without_a_reference_error():
    assert np.isnan(missed_error_rate([0, 0], [1, 0]).value)


def test_it_counts_solutions_not_steps_as_items_and_bootstraps_by_solution():
    reference = [1, 1, 1, 0]
    judge = [0, 1, 0, 0]
    clusters = ["s1", "s1", "s2", "s2"]
    rng = np.random.default_rng(0)
    est = missed_error_rate(reference, judge, clusters=clusters, n_boot=200, rng=rng)
    assert est.value == pytest.approx(2 / 3) and est.n_items == 2 and est.n_pairs == 3
    assert 0.0 <= est.ci_low <= est.value <= est.ci_high <= 1.0
    assert "percentile cluster bootstrap (B=200" in est.method


def test_it_rejects_labels_other_than_0_1_nan():
    with pytest.raises(ValueError, match="reference_error must hold 1, 0 or NaN"):
        missed_error_rate([2, 1], [1, 1])
    with pytest.raises(ValueError, match="one shape"):
        missed_error_rate([1, 1], [1])


label = st.sampled_from([0.0, 1.0, nan])


@given(pairs=st.lists(st.tuples(label, label), min_size=1, max_size=40))
def test_it_matches_a_loop_on_random_labels(pairs):
    reference, judge = (np.array(x) for x in zip(*pairs, strict=True))
    for condition, fn in ((1.0, missed_error_rate), (0.0, false_error_rate)):
        kept = flipped = 0
        for r, j in pairs:
            if r == condition and not np.isnan(j):
                kept += 1
                flipped += j != condition
        value = fn(reference, judge).value
        if kept:
            assert value == pytest.approx(flipped / kept)
        else:
            assert np.isnan(value)
