"""The alternative annotator test (Calderon et al., ACL 2025).

The paper's released data reproduce the published winning rates and advantage probabilities
exactly (checked by hand; its LLM labels are not ours to ship, so they are not in these
tests). Here: examples worked out by hand, the edge cases of the t-test, and a reference
implementation written as the paper states the procedure (dicts, loops, the t statistic and
the Benjamini–Yekutieli step-up by hand) on random inputs.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import t as student_t
from scipy.stats import ttest_1samp

from analysis.stats import alt_test, alt_test_from_sums, alt_test_patterns, alt_test_stats
from analysis.stats.alt_test import _one_sided_p

NAN = np.nan

# Three annotators, four instances, a judge; worked through in the comments below.
HUMANS = np.array([[0, 0, 1], [1, 1, 1], [0, 1, 1], [0, 0, 0]], dtype=float)
JUDGE = np.array([0, 1, 1, 1], dtype=float)


def one_sided_p(d: list[float], epsilon: float) -> float:
    """p of H0: mean(d) >= epsilon against mean(d) < epsilon, from the t statistic."""
    n = len(d)
    mean = sum(d) / n
    var = sum((x - mean) ** 2 for x in d) / (n - 1)
    if var == 0:
        return 0.0 if mean < epsilon else 1.0 if mean > epsilon else math.nan
    return float(student_t.cdf((mean - epsilon) / math.sqrt(var / n), n - 1))


def test_it_scores_judge_and_held_out_annotator_against_the_rest_by_hand() -> None:
    result = alt_test(JUDGE, HUMANS, scoring="accuracy", epsilon=0.2, min_instances=2)

    # Annotator 0 held out (rest = annotators 1, 2): instance 0 both score 1/2 (tie: both
    # win), 1 both 1, 2 judge 1 vs 0, 3 judge 0 vs 1 -> W_f = 1,1,1,0; W_h = 1,1,0,1.
    # Annotator 1: scores tie on 0, 1 and 2; on 3 the annotator wins -> W_f = 1,1,1,0.
    # Annotator 2: judge wins 0 (1 vs 0), ties 1 and 2, loses 3 -> W_f = 1,1,1,0;
    # W_h = 0,1,1,1.
    assert result.judge_advantage.tolist() == [0.75, 0.75, 0.75]
    assert result.annotator_advantage.tolist() == [0.75, 1.0, 0.75]
    assert result.advantage_probability == pytest.approx(0.75)
    d = {0: [0, 0, -1, 1], 1: [0, 0, 0, 1], 2: [-1, 0, 0, 1]}
    for j, diffs in d.items():
        assert result.p_values[j] == pytest.approx(one_sided_p(diffs, 0.2))
    # Four instances are far too few for any rejection: omega 0, the test fails.
    assert result.winning_rate == 0.0 and not result.passed
    assert (result.n_items, result.n_comparisons, result.n_tested) == (4, 12, 3)


def test_it_scores_ordinal_labels_by_negative_rmse() -> None:
    humans = np.array([[1, 2, 4], [3, 3, 3], [5, 4, 4]], dtype=float)
    judge = np.array([3, 3, 2], dtype=float)

    result = alt_test(judge, humans, scoring="neg_rmse", epsilon=0.1, min_instances=2)

    # Annotator 2 held out: instance 0 rest (1, 2): judge RMSE sqrt((4 + 1) / 2), annotator
    # sqrt((9 + 4) / 2) -> judge wins; instance 1 tie; instance 2 rest (5, 4): judge
    # sqrt((9 + 4) / 2), annotator sqrt((1 + 0) / 2) -> annotator wins.
    assert result.judge_advantage[2] == pytest.approx(2 / 3)
    assert result.annotator_advantage[2] == pytest.approx(2 / 3)
    assert result.p_values[2] == pytest.approx(one_sided_p([-1, 0, 1], 0.1))


def test_it_wins_every_annotator_when_all_agree_and_no_one_at_epsilon_zero() -> None:
    humans = np.tile(np.array([[0.0], [1.0]]), (20, 3))
    judge = humans[:, 0].copy()

    result = alt_test(judge, humans, scoring="accuracy", epsilon=0.2)

    # d is 0 everywhere: t = -inf below epsilon, p = 0 for each annotator, all won.
    assert result.p_values.tolist() == [0.0, 0.0, 0.0]
    assert (result.winning_rate, result.advantage_probability, result.passed) == (1.0, 1.0, True)
    at_zero = alt_test(judge, humans, scoring="accuracy", epsilon=0.0)
    # mean(d) = epsilon exactly: p undefined, never rejected (as in the released code).
    assert np.isnan(at_zero.p_values).all()
    assert at_zero.winning_rate == 0.0 and not at_zero.passed


def test_it_skips_annotators_with_too_few_instances_and_instances_with_one_annotator() -> None:
    rng = np.random.default_rng(3)
    humans = rng.integers(0, 2, size=(40, 3)).astype(float)
    humans[:15, 2] = NAN  # annotator 2 keeps instances 15..34: 20 < 30, not tested
    humans[35:, 1:] = NAN  # instances 35..39 have one annotator: left out
    judge = humans[:, 0].copy()
    judge[0] = NAN  # no judge label: left out

    result = alt_test(judge, humans, scoring="accuracy", epsilon=0.2)

    assert result.n_instances.tolist() == [34, 34, 20]
    assert result.tested.tolist() == [True, True, False]
    assert np.isnan(result.p_values[2]) and not result.won[2]
    assert result.winning_rate in (0.0, 0.5, 1.0)  # out of the two tested annotators


def test_it_gives_nan_when_no_annotator_can_be_tested() -> None:
    humans = np.array([[0, 1, 1], [1, 1, 0]], dtype=float)

    result = alt_test(np.array([0.0, 1.0]), humans, scoring="accuracy")

    assert math.isnan(result.winning_rate) and math.isnan(result.advantage_probability)
    assert not result.passed and result.n_items == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"judge": np.zeros((2, 1))}, "judge must be 1-dimensional"),
        ({"humans": np.zeros((3, 3))}, "humans must have shape"),
        ({"scoring": "f1"}, "scoring must be"),
        ({"epsilon": 1.5}, "epsilon must be"),
        ({"epsilon": NAN}, "epsilon must be"),
        ({"q": 0.0}, "q must be"),
        ({"min_instances": 1}, "min_instances"),
        ({"humans": np.array([[0, np.inf, 1], [1, 1, 0]])}, "infinite"),
    ],
)
def test_it_rejects_bad_input_with_a_precise_message(kwargs: dict, message: str) -> None:
    args = {"judge": np.zeros(2), "humans": np.zeros((2, 3)), "scoring": "accuracy"} | kwargs
    with pytest.raises(ValueError, match=message):
        alt_test(**args)


def reference_alt_test(
    judge: np.ndarray, humans: np.ndarray, scoring: str, epsilon: float, q: float, min_inst: int
) -> tuple[float, float, list[bool], list[float]]:
    """The procedure as the paper states it, with dicts of labels and plain loops."""
    labels = {
        j: {i: humans[i, j] for i in range(humans.shape[0]) if not math.isnan(humans[i, j])}
        for j in range(humans.shape[1])
    }
    raters_of = {i: [j for j in labels if i in labels[j]] for i in range(humans.shape[0])}
    keep = {i for i, js in raters_of.items() if len(js) >= 2 and not math.isnan(judge[i])}

    def score(pred: float, others: list[float]) -> float:
        if scoring == "accuracy":
            return sum(pred == o for o in others) / len(others)
        return -math.sqrt(sum((pred - o) ** 2 for o in others) / len(others))

    tested, p_values, rho_f = [], [], []
    for j in labels:
        mine = [i for i in labels[j] if i in keep]
        if len(mine) < min_inst:
            continue
        d, wins = [], []
        for i in mine:
            others = [labels[o][i] for o in raters_of[i] if o != j]
            s_f, s_h = score(judge[i], others), score(labels[j][i], others)
            d.append(float(s_h >= s_f) - float(s_f >= s_h))
            wins.append(float(s_f >= s_h))
        tested.append(j)
        p = one_sided_p(d, epsilon)
        p_values.append(1.0 if math.isnan(p) else p)
        rho_f.append(sum(wins) / len(wins))
    if not tested:
        return math.nan, math.nan, [], []
    m = len(tested)
    harmonic = sum(1 / k for k in range(1, m + 1))
    order = sorted(range(m), key=lambda k: p_values[k])
    largest = -1
    for rank, k in enumerate(order, start=1):
        if p_values[k] <= rank / m * q / harmonic:
            largest = rank
    won = [False] * m
    for k in order[: max(largest, 0)]:
        won[k] = True
    return sum(won) / m, sum(rho_f) / m, won, p_values


@st.composite
def annotation_sets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, str, float, int]:
    seed = draw(st.integers(0, 2**32 - 1))
    n, m = draw(st.integers(3, 40)), draw(st.integers(2, 6))
    scoring = draw(st.sampled_from(["accuracy", "neg_rmse"]))
    k = draw(st.integers(2, 5))
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n)
    # Annotators copy the truth most of the time so some tests are won.
    noisy = rng.random((n, m)) < draw(st.floats(0.0, 0.6))
    humans = np.where(noisy, rng.integers(0, k, size=(n, m)), truth[:, None]).astype(float)
    humans[rng.random((n, m)) < draw(st.floats(0.0, 0.5))] = NAN
    judge = np.where(rng.random(n) < 0.2, rng.integers(0, k, size=n), truth).astype(float)
    judge[rng.random(n) < 0.1] = NAN
    epsilon = draw(st.sampled_from([0.0, 0.1, 0.15, 0.2, 0.5]))
    return judge, humans, scoring, epsilon, draw(st.integers(2, 8))


@settings(max_examples=150, deadline=None)
@given(case=annotation_sets())
def test_it_matches_a_loop_over_annotators_and_instances(case) -> None:
    judge, humans, scoring, epsilon, min_inst = case

    result = alt_test(judge, humans, scoring=scoring, epsilon=epsilon, min_instances=min_inst)

    omega, rho, won, p_values = reference_alt_test(judge, humans, scoring, epsilon, 0.05, min_inst)
    if math.isnan(omega):
        assert math.isnan(result.winning_rate) and result.n_tested == 0
        return
    assert result.winning_rate == pytest.approx(omega)
    assert result.advantage_probability == pytest.approx(rho)
    assert result.won[result.tested].tolist() == won
    tested_p = np.nan_to_num(result.p_values[result.tested], nan=1.0)
    assert tested_p == pytest.approx(p_values)
    assert result.passed == (omega >= 0.5)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 60),
    epsilon=st.sampled_from([0.0, 0.1, 0.2, 1.0]),
)
def test_its_p_value_from_counts_is_scipys_one_sample_t_test(seed, n, epsilon):
    rng = np.random.default_rng(seed)
    d = rng.choice([-1.0, 0.0, 1.0], size=n, p=rng.dirichlet([1, 1, 1]))
    got = _one_sided_p(n, int((d > 0).sum()), int((d < 0).sum()), epsilon)
    if np.all(d == d[0]):
        expected = 0.0 if d[0] < epsilon else 1.0 if d[0] > epsilon else np.nan
    else:
        expected = ttest_1samp(d, epsilon, alternative="less").pvalue
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12, nan_ok=True)


def test_its_sums_and_patterns_add_over_any_split_of_the_instances():
    """A streamed report adds the per-instance statistics and the annotator patterns of its
    chunks: the test of the whole, ten annotators (patterns past a small bitmask table)."""
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 400)
    humans = np.where(rng.random((400, 10)) < 0.8, truth[:, None], rng.integers(0, 3, (400, 10)))
    humans = humans.astype(float)
    humans[rng.random(humans.shape) < 0.6] = np.nan
    judge = np.where(rng.random(400) < 0.75, truth, (truth + 1) % 3).astype(float)
    whole = alt_test(judge, humans, scoring="accuracy", epsilon=0.1)
    parts = [slice(0, 123), slice(123, 301), slice(301, 400)]
    totals, patterns = 0, {}
    for part in parts:
        stats = alt_test_stats(judge[part], humans[part], scoring="accuracy")
        totals = totals + stats.sum(axis=0)
        for mask, count in alt_test_patterns(stats).items():
            patterns[mask] = patterns.get(mask, 0) + count
    merged = alt_test_from_sums(totals, patterns, scoring="accuracy", epsilon=0.1, q=0.05)
    assert whole.n_tested >= 5 and whole.n_items > 0
    assert (merged.winning_rate, merged.advantage_probability, merged.n_items,
            merged.n_comparisons) == (whole.winning_rate, whole.advantage_probability,
                                      whole.n_items, whole.n_comparisons)  # fmt: skip
    np.testing.assert_array_equal(merged.p_values, whole.p_values)
