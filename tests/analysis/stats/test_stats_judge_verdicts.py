"""Judge vs judge (accuracy difference, McNemar's exact test) and soft-label agreement."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from analysis.stats import Resampler, judge_accuracy_difference, soft_agreement, soft_log_loss

NAN = np.nan


def test_it_compares_two_judges_on_the_targets_both_and_the_reference_labelled() -> None:
    ref = np.array([0, 1, 1, 0, 2, 1, NAN, 0])
    a = np.array([0, 1, 0, 0, 2, 1, 1, NAN])
    b = np.array([0, 0, 0, 1, 2, 1, 1, 0])

    result = judge_accuracy_difference(a, b, ref)

    # Shared targets 0..5: A right on 0, 1, 3, 4, 5 (5/6), B right on 0, 4, 5 (3/6);
    # discordant: A only on 1 and 3, B only on none.
    assert (result.accuracy_a, result.accuracy_b) == (pytest.approx(5 / 6), 0.5)
    assert result.difference.value == pytest.approx(1 / 3)
    assert (result.only_a, result.only_b, result.n_items) == (2, 0, 6)
    # Exact McNemar: two-sided binomial p of 0 successes in 2 at 1/2 = 2 * 1/4.
    assert result.mcnemar_p == pytest.approx(0.5)
    assert math.isnan(result.difference.ci_low)


@pytest.mark.parametrize(("only_a", "only_b"), [(3, 9), (1, 10), (7, 2), (5, 5), (0, 12)])
def test_mcnemar_exact_equals_the_two_sided_binomial_test(only_a: int, only_b: int) -> None:
    ref = np.zeros(only_a + only_b + 6)
    a = np.concatenate([np.zeros(only_a), np.ones(only_b), [0, 0, 0, 1, 1, 1]])
    b = np.concatenate([np.ones(only_a), np.zeros(only_b), [0, 0, 0, 1, 1, 1]])

    result = judge_accuracy_difference(a, b, ref)

    assert (result.only_a, result.only_b) == (only_a, only_b)
    expected = binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue
    assert result.mcnemar_p == pytest.approx(expected)


def test_it_has_no_p_value_without_shared_targets_and_one_without_discordant_ones() -> None:
    empty = judge_accuracy_difference([NAN, 0], [0, NAN], [0, 0])
    assert math.isnan(empty.mcnemar_p) and math.isnan(empty.difference.value)
    same = judge_accuracy_difference([0, 1], [0, 1], [0, 0])
    assert same.mcnemar_p == 1.0 and same.difference.value == 0.0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 30))
def test_its_paired_interval_matches_a_loop_over_cluster_resamples(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 3, n).astype(float)
    a = np.where(rng.random(n) < 0.7, ref, rng.integers(0, 3, n)).astype(float)
    b = np.where(rng.random(n) < 0.5, ref, rng.integers(0, 3, n)).astype(float)
    a[rng.random(n) < 0.2] = NAN
    clusters = rng.integers(0, max(1, n // 2), n)
    resampler = Resampler.draw(clusters, 200, rng)

    result = judge_accuracy_difference(a, b, ref, clusters=clusters, n_boot=200, rng=resampler)

    replicates = []
    for counts in resampler.counts:
        num = den = 0.0
        for t in range(n):
            if math.isnan(a[t]):
                continue
            w = counts[np.searchsorted(resampler.labels, clusters[t])]
            num += w * (float(a[t] == ref[t]) - float(b[t] == ref[t]))
            den += w
        replicates.append(num / den if den else NAN)
    finite = np.array([r for r in replicates if math.isfinite(r)])
    if finite.size == 0:
        assert math.isnan(result.difference.ci_low)
        return
    low, high = np.quantile(finite, [0.025, 0.975])
    assert (result.difference.ci_low, result.difference.ci_high) == (
        pytest.approx(low, abs=1e-6),
        pytest.approx(high, abs=1e-6),
    )
    assert "paired" in result.difference.method and "bootstrap" in result.difference.method


def test_a_judge_siding_with_a_minority_expert_is_not_a_plain_miss() -> None:
    experts = np.array([[0, 0, 1], [1, 1, 1], [0, 1, NAN], [0, NAN, NAN]])
    judge = np.array([[1], [1], [0], [1]])

    result = soft_agreement(judge, experts, n_categories=2)

    # Target 0: 1 of 3 experts gave the judge's label; 1: 3 of 3; 2: 1 of 2; target 3 has
    # one expert label and is left out.
    assert result.value == pytest.approx((1 / 3 + 1 + 1 / 2) / 3)
    assert (result.n_items, result.n_pairs) == (3, 8)


def test_several_judge_samples_count_by_their_share() -> None:
    experts = np.array([[0, 0, 1]])
    samples = np.array([[0, 1, 1, 1]])

    agreement = soft_agreement(samples, experts, n_categories=2)
    loss = soft_log_loss(samples, experts, n_categories=2)

    # p_judge = (1/4, 3/4), p_ref = (2/3, 1/3): expected agreement 1/6 + 1/4.
    assert agreement.value == pytest.approx(2 / 3 * 1 / 4 + 1 / 3 * 3 / 4)
    # Add-1/2 smoothing: q = (1.5 / 5, 3.5 / 5).
    assert loss.value == pytest.approx(-(2 / 3 * math.log(0.3) + 1 / 3 * math.log(0.7)))


def test_log_loss_of_a_uniform_judge_is_log_k() -> None:
    experts = np.array([[0, 1, 2], [2, 2, 2]])
    judge = np.array([[0, 1, 2], [0, 1, 2]])

    assert soft_log_loss(judge, experts, n_categories=3).value == pytest.approx(math.log(3))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: soft_agreement(np.zeros((2, 1)), np.zeros((3, 2))), "has 3 rows"),
        (lambda: soft_agreement(np.zeros((2, 1)), np.zeros((2, 2)), min_reference=0), "min_ref"),
        (lambda: soft_log_loss(np.zeros((2, 1)), np.zeros((2, 2)), smoothing=0), "smoothing"),
        (lambda: soft_agreement([[0.5]], [[0.0, 1.0]]), "integer category codes"),
        (lambda: judge_accuracy_difference([0, 1], [0], [0, 1]), "has 1 rows"),
    ],
)
def test_it_rejects_bad_input(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 25), k=st.integers(2, 4))
def test_soft_statistics_match_a_loop_over_targets_and_labels(seed: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    experts = rng.integers(0, k, (n, 4)).astype(float)
    experts[rng.random((n, 4)) < 0.4] = NAN
    judge = rng.integers(0, k, (n, 3)).astype(float)
    judge[rng.random((n, 3)) < 0.3] = NAN

    agreement = soft_agreement(judge, experts, n_categories=k)
    loss = soft_log_loss(judge, experts, n_categories=k)

    shares, losses = [], []
    for t in range(n):
        ref = [x for x in experts[t] if not math.isnan(x)]
        mine = [x for x in judge[t] if not math.isnan(x)]
        if len(ref) < 2 or not mine:
            continue
        shares.append(sum(sum(r == m for r in ref) / len(ref) for m in mine) / len(mine))
        q = [(sum(m == c for m in mine) + 0.5) / (len(mine) + 0.5 * k) for c in range(k)]
        losses.append(-sum(sum(r == c for r in ref) / len(ref) * math.log(q[c]) for c in range(k)))
    if not shares:
        assert math.isnan(agreement.value) and agreement.n_items == 0
        return
    assert agreement.value == pytest.approx(sum(shares) / len(shares))
    assert loss.value == pytest.approx(sum(losses) / len(losses))
    assert agreement.n_items == loss.n_items == len(shares)
