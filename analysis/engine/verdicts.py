"""Judge verdicts of one slice: can a judge replace an annotator, which of two judges agrees
more with the reference, and how a judge fares against the reference's label distribution.

Like `engine.slice_stats`: pure functions of a `SliceArrays` and a `Bootstrap` that yield
`Stat`s; `engine.report` turns them into rows. Every method text fits the result schema's
`method` column.
"""

from collections.abc import Iterator
from itertools import combinations

import numpy as np

from analysis import stats
from analysis.config import RunConfig
from analysis.engine.data import Bootstrap, Group, SliceArrays
from analysis.engine.slice_stats import Stat
from analysis.schema import ResultRow, text_max_length
from analysis.stats import Estimate
from analysis.stats.bootstrap import bootstrap_label

ALT_TEST_METRICS = ("alt_test_winning_rate", "alt_test_advantage_probability")
JUDGE_PAIR_METRICS = ("judge_vs_judge_accuracy_diff", "mcnemar_exact_p")
SOFT_LABEL_METRICS = ("soft_agreement", "soft_log_loss")
ALT_TEST_MIN_RATERS = 3  # the paper asks for at least three annotators
ALT_TEST_Q = 0.05
ACCURACY_SCALES = ("nominal", "pairwise")
_NAN = float("nan")
_METHOD_LENGTH = text_max_length(ResultRow, "method")


def verdict_stats(
    arrays: SliceArrays, boot: Bootstrap, ref: str | None, config: RunConfig
) -> Iterator[Stat]:
    """The alternative annotator test per (human group of >= 3 raters, model group); with a
    reference group and a categorical scale, judge-vs-judge and soft-label statistics."""
    yield from alt_tests(arrays, config)
    if ref is None or not arrays.categorical:
        return
    yield from judge_pairs(arrays, boot, ref)
    yield from soft_labels(arrays, boot, ref)


def models_of(arrays: SliceArrays, ref: str | None = None) -> list[Group]:
    """The model groups of a slice (but `ref`), by name."""
    return [g for name, g in sorted(arrays.groups.items()) if g.kind == "model" and name != ref]


def alt_tests(arrays: SliceArrays, config: RunConfig) -> Iterator[Stat]:
    """ω and ρ of each model group against each human group of at least three raters.

    Accuracy scoring on nominal and pairwise scales, negative RMSE (on the codes, which are
    equally spaced) on ordinal and interval ones. A model group of several raters is one
    annotator: its plurality label per target (accuracy), or its mean (negative RMSE).
    """
    for human, model, judge, scoring in alt_test_inputs(arrays):
        epsilon = config.epsilon_for(human.name)
        result = stats.alt_test(judge, human.codes, scoring=scoring, epsilon=epsilon, q=ALT_TEST_Q)
        yield from alt_test_rows(human.name, model.name, result)


def alt_test_inputs(arrays: SliceArrays) -> Iterator[tuple[Group, Group, np.ndarray, str]]:
    """(human group of >= 3 raters, model group, the judge's label per target, scoring)."""
    scoring = "accuracy" if arrays.scale in ACCURACY_SCALES else "neg_rmse"
    humans = [g for _, g in sorted(arrays.groups.items()) if g.kind == "human"]
    for human in humans:
        if human.codes.shape[1] < ALT_TEST_MIN_RATERS:
            continue
        for model in models_of(arrays):
            yield human, model, _judge_labels(model.codes, scoring, arrays.n_categories), scoring


def alt_test_rows(human: str, model: str, result: stats.AltTestResult) -> Iterator[Stat]:
    """The two rows of one test: the winning rate ω and the advantage probability ρ."""
    omega, rho = _alt_test_estimates(result)
    yield Stat(human, model, ALT_TEST_METRICS[0], omega)
    yield Stat(human, model, ALT_TEST_METRICS[1], rho)


def _judge_labels(codes: np.ndarray, scoring: str, n_categories: int) -> np.ndarray:
    """``(n_targets,)``: the judge group's one label per target, NaN where it has none."""
    if codes.shape[1] == 1:
        return codes[:, 0]
    if scoring == "accuracy":
        return stats.consensus(codes, n_categories=n_categories)
    judged = (~np.isnan(codes)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(judged > 0, np.nansum(codes, axis=1) / np.maximum(judged, 1), np.nan)


def _alt_test_estimates(result: stats.AltTestResult) -> tuple[Estimate, Estimate]:
    n_items, n_pairs = result.n_items, result.n_comparisons
    if result.n_tested == 0:
        why = (
            f"alt-test (Calderon et al. 2025) not run: no rater has >= {result.min_instances} "
            f"targets that the judge and another rater also judged"
        )
        return (
            Estimate(_NAN, _NAN, _NAN, _NAN, 0, 0, why),
            Estimate(_NAN, _NAN, _NAN, _NAN, 0, 0, why),
        )
    verdict = "passes (omega >= 0.5)" if result.passed else "fails (omega < 0.5)"
    omega = (
        f"alt-test (Calderon et al. 2025), {result.scoring}, epsilon={result.epsilon:g}: "
        f"one-sided paired t-test per held-out rater, Benjamini-Yekutieli q={result.q:g}; "
        f"won {result.n_won} of {result.n_tested} raters; {verdict}; no interval"
    )
    rho = (
        f"alt-test advantage probability ({result.scoring}): mean over {result.n_tested} "
        f"held-out raters of the share of targets where the judge scores at least as well as "
        f"the rater; no interval"
    )
    return (
        Estimate(result.winning_rate, _NAN, _NAN, _NAN, n_items, n_pairs, _fit(omega)),
        Estimate(result.advantage_probability, _NAN, _NAN, _NAN, n_items, n_pairs, _fit(rho)),
    )


def judge_pairs(arrays: SliceArrays, boot: Bootstrap, ref: str) -> Iterator[Stat]:
    """Each pair of model groups (by name): the difference in accuracy against the
    reference consensus on the targets where both judges and the reference have one."""
    interval = bootstrap_label(boot.n_boot, 0.95) if boot.n_boot else "no interval"
    for a, b, result in judge_comparisons(arrays, boot, ref):
        if result.n_items:
            yield from judge_pair_stats(a, b, ref, result, interval)


def judge_comparisons(
    arrays: SliceArrays, boot: Bootstrap, ref: str
) -> Iterator[tuple[str, str, stats.JudgeComparison]]:
    """Each pair of model groups with its comparison (a streamed chunk records its sums)."""
    k = arrays.n_categories
    reference = stats.consensus(arrays.groups[ref].codes, n_categories=k)
    for a, b in combinations(models_of(arrays, ref), 2):
        result = stats.judge_accuracy_difference(
            stats.consensus(a.codes, n_categories=k),
            stats.consensus(b.codes, n_categories=k),
            reference,
            **boot.kwargs(),
        )
        yield a.name, b.name, result


def judge_pair_stats(
    a: str, b: str, ref: str, result: stats.JudgeComparison, interval: str
) -> Iterator[Stat]:
    """The two rows of a judge pair: the accuracy difference and McNemar's p-value."""
    method = (
        f"accuracy A - B against the {ref} consensus ({result.accuracy_a:.3f} vs "
        f"{result.accuracy_b:.3f}); paired {interval}"
    )
    yield Stat(a, b, JUDGE_PAIR_METRICS[0], _with_method(result.difference, method))
    mcnemar = (
        f"McNemar's exact test (two-sided binomial) against the {ref} consensus: "
        f"{result.only_a} targets only A right, {result.only_b} only B right; no interval"
    )
    n_discordant = result.only_a + result.only_b
    p = Estimate(result.mcnemar_p, _NAN, _NAN, _NAN, result.n_items, n_discordant, "")
    yield Stat(a, b, JUDGE_PAIR_METRICS[1], _with_method(p, mcnemar))


def soft_labels(arrays: SliceArrays, boot: Bootstrap, ref: str) -> Iterator[Stat]:
    """Each model group against the distribution of the reference group's labels, on the
    targets with at least two reference labels; log-loss only for a model group of several
    raters (samples), whose label distribution is the judge's distribution."""
    reference = arrays.groups[ref].codes
    if reference.shape[1] < 2:
        return
    kw = {"n_categories": arrays.n_categories, "min_reference": 2, **boot.kwargs()}
    for model in models_of(arrays, ref):
        est = stats.soft_agreement(model.codes, reference, **kw)
        if est.n_items == 0:
            continue
        yield Stat(ref, model.name, SOFT_LABEL_METRICS[0], _with_method(est, est.method))
        if model.codes.shape[1] >= 2:
            loss = stats.soft_log_loss(model.codes, reference, **kw)
            yield Stat(ref, model.name, SOFT_LABEL_METRICS[1], _with_method(loss, loss.method))


def _with_method(est: Estimate, method: str) -> Estimate:
    return Estimate(
        est.value, est.ci_low, est.ci_high, est.se, est.n_items, est.n_pairs, _fit(method)
    )


def _fit(method: str) -> str:
    """A method text cut to the schema's column (long group names could overflow it)."""
    if len(method) <= _METHOD_LENGTH:
        return method
    return method[: _METHOD_LENGTH - 1] + "…"
