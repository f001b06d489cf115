"""Gap between model-vs-expert agreement and the experts' leave-one-out ceiling."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analysis.stats import Estimate, gap_without_ceiling, human_ceiling_gap
from analysis.stats.gap import bootstrap_p_value

NAN = np.nan


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def slow_gap(model: np.ndarray, human: np.ndarray, tie: float | None) -> tuple[float, float]:
    """Leave-one-out agreement by looping over experts, targets and judgement pairs."""

    def usable(v: float) -> bool:
        return not math.isnan(v) and v != tie

    human_rates, model_rates = [], []
    for e in range(human.shape[1]):
        h_agree = h_pairs = m_agree = m_pairs = 0
        for t in range(human.shape[0]):
            mine = human[t, e]
            others = [human[t, o] for o in range(human.shape[1]) if o != e and usable(human[t, o])]
            models = [v for v in model[t] if usable(v)]
            if not (usable(mine) and others and models):
                continue
            h_pairs += len(others)
            h_agree += sum(mine == o for o in others)
            m_pairs += len(others) * len(models)
            m_agree += sum(m == o for m in models for o in others)
        if h_pairs:
            human_rates.append(h_agree / h_pairs)
            model_rates.append(m_agree / m_pairs)
    if not human_rates:
        return math.nan, math.nan
    return float(np.mean(model_rates)), float(np.mean(human_rates))


def test_it_compares_each_expert_and_the_model_with_the_other_experts() -> None:
    human = np.array([[0, 0], [0, 1], [1, 1.0]])
    model = np.array([[0], [1], [1.0]])
    # Expert 0 vs 1 agree on 2/3 targets (both ways). Model vs expert 1: 3/3; vs expert 0: 2/3.
    result = human_ceiling_gap(model, human, n_boot=50, rng=rng(0))
    assert result.human_agreement.value == pytest.approx(2 / 3)
    assert result.model_agreement.value == pytest.approx(5 / 6)
    assert result.gap.value == pytest.approx(1 / 6)
    assert result.n_experts == 2
    assert result.human_agreement.n_pairs == 6
    assert result.gap.n_items == 3


CODES = st.sampled_from([NAN, 0.0, 1.0, 2.0])


@settings(max_examples=50, deadline=None)
@given(
    human=arrays(np.float64, st.tuples(st.integers(1, 15), st.integers(2, 4)), elements=CODES),
    data=st.data(),
    use_tie=st.booleans(),
)
def test_it_matches_a_loop_over_experts_targets_and_pairs(
    human: np.ndarray, data: st.DataObject, use_tie: bool
) -> None:
    n_model = data.draw(st.integers(1, 3))
    model = data.draw(arrays(np.float64, (human.shape[0], n_model), elements=CODES))
    tie = 2 if use_tie else None
    expected_model, expected_human = slow_gap(model, human, None if tie is None else 2.0)
    result = human_ceiling_gap(model, human, n_categories=3, tie_code=tie, n_boot=5, rng=rng(1))
    if math.isnan(expected_human):
        assert math.isnan(result.gap.value)
        assert result.verdict == "insufficient data"
        return
    assert result.model_agreement.value == pytest.approx(expected_model)
    assert result.human_agreement.value == pytest.approx(expected_human)
    assert result.gap.value == pytest.approx(expected_model - expected_human)


def simulated_study(model_accuracy: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """300 solutions x 4 steps, 3 experts right 80% of the time, binary labels."""
    generator = rng(seed)
    n = 1200
    truth = generator.integers(0, 2, n)
    human = np.where(generator.random((n, 3)) < 0.8, truth[:, None], 1 - truth[:, None])
    model = np.where(generator.random((n, 1)) < model_accuracy, truth[:, None], 1 - truth[:, None])
    return model.astype(float), human.astype(float), np.repeat(np.arange(300), 4)


@pytest.mark.parametrize(
    ("model_accuracy", "verdict"),
    [(0.98, "above"), (0.8, "within expert noise"), (0.6, "below")],
)
def test_it_places_the_model_relative_to_expert_noise(model_accuracy: float, verdict: str) -> None:
    model, human, clusters = simulated_study(model_accuracy, seed=3)
    result = human_ceiling_gap(model, human, clusters=clusters, n_boot=500, rng=rng(4))
    assert result.verdict == verdict
    assert result.gap.ci_low <= result.gap.value <= result.gap.ci_high
    if verdict == "within expert noise":
        assert result.p_value > 0.05
    else:
        assert result.p_value < 0.01


def test_it_resamples_both_sides_together() -> None:
    # Paired resampling cancels the shared target-difficulty variation, so the gap varies
    # less than two independent estimates would.
    generator = rng(5)
    n = 1000
    truth = generator.integers(0, 2, n)
    hard = generator.random(n) < 0.3
    accuracy = np.where(hard, 0.55, 0.95)[:, None]
    human = np.where(generator.random((n, 3)) < accuracy, truth[:, None], 1 - truth[:, None])
    model = np.where(generator.random((n, 1)) < accuracy, truth[:, None], 1 - truth[:, None])
    result = human_ceiling_gap(model.astype(float), human.astype(float), n_boot=400, rng=rng(6))
    independent = math.hypot(result.model_agreement.se, result.human_agreement.se)
    assert result.gap.se < 0.8 * independent


def test_it_computes_a_smoothed_two_sided_bootstrap_p_value() -> None:
    assert bootstrap_p_value(np.arange(1.0, 100.0)) == pytest.approx(2 * 1 / 100)
    assert bootstrap_p_value(np.array([-1.0, 1.0, NAN])) == 1.0
    assert math.isnan(bootstrap_p_value(np.array([NAN])))


def test_it_needs_two_experts_and_a_bootstrap() -> None:
    with pytest.raises(ValueError, match="at least 2 expert"):
        human_ceiling_gap(np.zeros((3, 1)), np.zeros((3, 1)), rng=rng(0))
    with pytest.raises(ValueError, match="n_boot must be > 0"):
        human_ceiling_gap(np.zeros((3, 1)), np.zeros((3, 2)), n_boot=0, rng=rng(0))


def test_without_a_ceiling_the_gap_is_agreement_minus_one() -> None:
    agreement = Estimate(0.75, 0.6, 0.9, 0.05, 40, 120, "pooled agreement")

    gap = gap_without_ceiling(agreement)

    assert (gap.value, gap.ci_low, gap.ci_high) == pytest.approx((-0.25, -0.4, -0.1))
    assert (gap.se, gap.n_items, gap.n_pairs) == (0.05, 40, 120)
    assert gap.method == "agreement minus 1 (no ceiling)"
