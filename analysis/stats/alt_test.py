"""The alternative annotator test: can a judge replace one of a group of human annotators?

Leave one annotator out at a time; on the instances that annotator labelled, score the judge
and the held-out annotator by how well each matches the *remaining* annotators, and test
whether the judge is at least as good as the annotator up to a cost-benefit margin
``epsilon``. The judge "wins" annotator ``j`` when the one-sided paired t-test rejects
``H0: rho_f^j <= rho_h^j - epsilon``, with the Benjamini–Yekutieli procedure over the
annotators at false discovery rate ``q``. The winning rate ``omega`` is the share of the
tested annotators the judge wins (the test passes when ``omega >= 0.5``); the advantage
probability ``rho`` is the mean over them of ``rho_f^j``, the share of instances where the
judge scores at least as well as the held-out annotator.

References
----------
Calderon, N., Reichart, R. & Dror, R. (2025). The Alternative Annotator Test for
LLM-as-a-Judge: How to Statistically Justify Replacing Human Annotators with LLMs.
ACL 2025, pp. 16051-16081 (sec. 3; the released code is the ``alt_test`` function of
github.com/nitaytech/AltTest, whose defaults are followed here: at least two annotators per
instance, at least 30 instances per tested annotator).
Benjamini, Y. & Yekutieli, D. (2001). The control of the false discovery rate in multiple
testing under dependency. Annals of Statistics 29(4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.stats import t as student_t
from statsmodels.stats.multitest import multipletests

Scoring = Literal["accuracy", "neg_rmse"]


@dataclass(frozen=True, eq=False)
class AltTestResult:
    """The outcome of the alternative annotator test for one judge and one human group.

    Attributes
    ----------
    winning_rate : float
        ``omega``: share of the tested annotators the judge wins; NaN when no annotator had
        enough instances.
    advantage_probability : float
        ``rho``: mean over the tested annotators of ``rho_f^j``; NaN when none was tested.
    passed : bool
        ``winning_rate >= 0.5``.
    tested : ndarray of bool, shape (n_annotators,)
        Annotators with at least ``min_instances`` usable instances.
    won : ndarray of bool, shape (n_annotators,)
        Annotators whose null hypothesis was rejected (False where not tested).
    p_values : ndarray, shape (n_annotators,)
        One-sided paired t-test p-values; NaN where not tested.
    judge_advantage : ndarray, shape (n_annotators,)
        ``rho_f^j``: share of annotator ``j``'s instances where the judge scores at least as
        well as ``j``; NaN where not tested.
    annotator_advantage : ndarray, shape (n_annotators,)
        ``rho_h^j``: the same with the roles swapped; NaN where not tested.
    n_instances : ndarray of int, shape (n_annotators,)
        Usable instances of each annotator (tested or not).
    n_items : int
        Distinct instances used by the tested annotators.
    n_comparisons : int
        (annotator, instance) comparisons behind the tested annotators' results.
    epsilon, q : float
    scoring : {"accuracy", "neg_rmse"}
    min_instances : int
    """

    winning_rate: float
    advantage_probability: float
    passed: bool
    tested: np.ndarray = field(repr=False)
    won: np.ndarray = field(repr=False)
    p_values: np.ndarray = field(repr=False)
    judge_advantage: np.ndarray = field(repr=False)
    annotator_advantage: np.ndarray = field(repr=False)
    n_instances: np.ndarray = field(repr=False)
    n_items: int
    n_comparisons: int
    epsilon: float
    q: float
    scoring: Scoring
    min_instances: int

    @property
    def n_tested(self) -> int:
        return int(self.tested.sum())

    @property
    def n_won(self) -> int:
        return int(self.won.sum())


def alt_test(
    judge: npt.ArrayLike,
    humans: npt.ArrayLike,
    *,
    scoring: Scoring,
    epsilon: float = 0.2,
    q: float = 0.05,
    min_instances: int = 30,
    min_humans_per_instance: int = 2,
) -> AltTestResult:
    """The alternative annotator test of one judge against a group of human annotators.

    Parameters
    ----------
    judge : array_like, shape (n_instances,)
        The judge's label of each instance (a category code, or a number for
        ``neg_rmse``), NaN where it gave none.
    humans : array_like, shape (n_instances, n_annotators)
        The annotators' labels, NaN where an annotator did not label an instance.
    scoring : {"accuracy", "neg_rmse"}
        How a label is scored against the remaining annotators' labels of the instance:
        the share of them it equals (categorical scales), or minus the root mean squared
        difference from them (ordered and numeric scales).
    epsilon : float, default 0.2
        The cost-benefit margin, in ``[0, 1]``: the paper suggests 0.2 for experts, 0.15
        for skilled annotators, 0.1 for crowd workers.
    q : float, default 0.05
        False discovery rate of the Benjamini–Yekutieli procedure.
    min_instances : int, default 30
        Annotators with fewer usable instances are not tested (the t-test's normal
        approximation needs about 30).
    min_humans_per_instance : int, default 2
        Instances with fewer annotators (or without a judge label) are left out.

    Returns
    -------
    AltTestResult

    Notes
    -----
    For a tested annotator ``j`` with usable instances ``I_j``, with ``s_f(i)`` and
    ``s_j(i)`` the scores of the judge and of ``j`` against the other annotators of ``i``:
    ``W^f_i = [s_f(i) >= s_j(i)]``, ``W^h_i = [s_j(i) >= s_f(i)]``, ``d_i = W^h_i - W^f_i``;
    the p-value is that of the one-sided one-sample t-test of ``H0: mean(d) >= epsilon``
    (``scipy.stats.ttest_1samp(d, epsilon, alternative="less")``). A constant ``d`` gives
    ``t = -inf`` (p = 0) when below ``epsilon``, ``+inf`` (p = 1) above it, and an
    undefined p-value when equal; an undefined p-value is never rejected but counts as a
    test in the correction, as in the released code.
    """
    f, h = _check(judge, humans, scoring, epsilon, q, min_instances, min_humans_per_instance)
    stats = alt_test_stats(f, h, scoring=scoring, min_humans_per_instance=min_humans_per_instance)
    return alt_test_from_sums(
        stats.sum(axis=0), alt_test_patterns(stats), scoring=scoring, epsilon=epsilon, q=q,
        min_instances=min_instances,
    )  # fmt: skip


# Column blocks of `alt_test_stats`, per annotator: compared, d = +1, d = -1, W^f, W^h.
_BLOCK = 5


def alt_test_stats(
    judge: np.ndarray, humans: np.ndarray, *, scoring: Scoring, min_humans_per_instance: int = 2
) -> np.ndarray:
    """Per-instance additive statistics of the test, shape (n_instances, 5 m).

    For annotator j (columns 5j..5j+4): 1 if the instance is compared for j (usable and
    labelled by j), 1 if ``d = W^h - W^f`` is +1, 1 if it is -1, ``W^f``, ``W^h``. Sums over
    instances (in any order and grouping) are what :func:`alt_test_from_sums` needs, with
    :func:`alt_test_patterns` for the count of instances.
    """
    n, m = humans.shape
    labelled = ~np.isnan(humans)
    usable = (labelled.sum(axis=1) >= min_humans_per_instance) & ~np.isnan(judge)
    out = np.zeros((n, _BLOCK * m))
    for j in range(m):
        rows = np.flatnonzero(usable & labelled[:, j])
        rest = np.delete(humans[rows], j, axis=1)
        s_f = _score(judge[rows], rest, scoring)
        s_h = _score(humans[rows, j], rest, scoring)
        w_f, w_h = (s_f >= s_h).astype(np.float64), (s_h >= s_f).astype(np.float64)
        d = w_h - w_f
        block = out[:, _BLOCK * j : _BLOCK * (j + 1)]
        block[rows] = np.column_stack([np.ones(rows.size), d > 0, d < 0, w_f, w_h])
    return out


def alt_test_patterns(stats: np.ndarray) -> dict[int, int]:
    """How many instances were compared for each set of annotators (a bitmask: bit j for
    annotator j), from :func:`alt_test_stats`. The count of instances behind the result
    (those of the *tested* annotators, known only once every instance is counted) follows
    from these; counts of disjoint instances add, so a streamed report adds them up."""
    compared = stats[:, 0::_BLOCK] > 0
    compared = compared[compared.any(axis=1)]
    if compared.shape[1] <= 62:  # bitmasks fit an int64: one vectorised pass
        masks = compared.astype(np.int64) @ (np.int64(1) << np.arange(compared.shape[1]))
    else:
        masks = np.array(
            [sum(1 << int(j) for j in np.flatnonzero(row)) for row in compared], dtype=object
        )
    unique, counts = np.unique(masks, return_counts=True)
    return {int(mask): int(count) for mask, count in zip(unique, counts, strict=True)}


def alt_test_metric(sums: np.ndarray, *, min_instances: int = 30) -> np.ndarray:
    """The advantage probability ``rho`` of summed statistics (..., 5 m): what a record of
    the test names as its metric (the rest of the test is finished by `alt_test_from_sums`,
    which needs the epsilon of the run)."""
    blocks = sums.reshape(*sums.shape[:-1], sums.shape[-1] // _BLOCK, _BLOCK)
    compared, w_f = blocks[..., 0], blocks[..., 3]
    tested = compared >= min_instances
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(tested, w_f / compared, 0.0)
        return share.sum(axis=-1) / tested.sum(axis=-1)


def alt_test_from_sums(
    totals: np.ndarray,
    patterns: dict[int, int],
    *,
    scoring: Scoring,
    epsilon: float,
    q: float,
    min_instances: int = 30,
) -> AltTestResult:
    """The test from the summed statistics of :func:`alt_test_stats` and the summed
    :func:`alt_test_patterns`: :func:`alt_test` and the merge of a streamed report both
    finish here."""
    m = totals.shape[0] // _BLOCK
    blocks = np.rint(totals).astype(np.int64).reshape(m, _BLOCK)
    n_instances, positive, negative, w_f, w_h = blocks.T
    tested = n_instances >= min_instances
    p_values = np.full(m, np.nan)
    rho_f = np.full(m, np.nan)
    rho_h = np.full(m, np.nan)
    for j in np.flatnonzero(tested):
        p_values[j] = _one_sided_p(int(n_instances[j]), int(positive[j]), int(negative[j]), epsilon)
        rho_f[j], rho_h[j] = w_f[j] / n_instances[j], w_h[j] / n_instances[j]
    won = np.zeros(m, dtype=bool)
    if tested.any():
        # An undefined p-value is a test that is never rejected (the released code's rule).
        p = np.where(np.isnan(p_values[tested]), 1.0, p_values[tested])
        won[tested] = multipletests(p, alpha=q, method="fdr_by")[0]
    tested_bits = sum(1 << int(j) for j in np.flatnonzero(tested))
    n_items = sum(count for mask, count in patterns.items() if mask & tested_bits)
    omega = float(won.sum() / tested.sum()) if tested.any() else math.nan
    rho = float(rho_f[tested].mean()) if tested.any() else math.nan
    return AltTestResult(
        winning_rate=omega,
        advantage_probability=rho,
        passed=bool(omega >= 0.5),
        tested=tested,
        won=won,
        p_values=p_values,
        judge_advantage=rho_f,
        annotator_advantage=rho_h,
        n_instances=n_instances,
        n_items=n_items,
        n_comparisons=int(n_instances[tested].sum()),
        epsilon=float(epsilon),
        q=float(q),
        scoring=scoring,
        min_instances=int(min_instances),
    )


def _score(pred: np.ndarray, rest: np.ndarray, scoring: Scoring) -> np.ndarray:
    """``(n,)`` scores of ``pred: (n,)`` against ``rest: (n, m)`` (NaN = not labelled)."""
    present = ~np.isnan(rest)
    n = present.sum(axis=1)
    if scoring == "accuracy":
        return (present & (rest == pred[:, None])).sum(axis=1) / n
    squared = np.where(present, (pred[:, None] - rest) ** 2, 0.0)
    return -np.sqrt(squared.sum(axis=1) / n)


def _one_sided_p(n: int, positive: int, negative: int, epsilon: float) -> float:
    """The one-sided one-sample t-test of ``H0: mean(d) >= epsilon`` for ``n`` values of
    ``d`` in {-1, 0, +1}, from their counts: ``scipy.stats.ttest_1samp(d, epsilon,
    alternative="less")`` (the tests hold it to that), with the limits of a constant ``d``
    that scipy leaves undefined."""
    zero = n - positive - negative
    if n in (positive, negative, zero):
        constant = 1 if positive == n else -1 if negative == n else 0
        return 0.0 if constant < epsilon else 1.0 if constant > epsilon else math.nan
    mean = (positive - negative) / n
    variance = ((positive + negative) - n * mean * mean) / (n - 1)
    t = (mean - epsilon) / math.sqrt(variance / n)
    return float(student_t.cdf(t, n - 1))


def _check(
    judge: npt.ArrayLike,
    humans: npt.ArrayLike,
    scoring: str,
    epsilon: float,
    q: float,
    min_instances: int,
    min_humans_per_instance: int,
) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(judge, dtype=np.float64)
    h = np.asarray(humans, dtype=np.float64)
    if f.ndim != 1:
        raise ValueError(f"judge must be 1-dimensional, got shape {f.shape}")
    if h.ndim != 2 or h.shape[0] != f.shape[0]:
        raise ValueError(f"humans must have shape ({f.shape[0]}, n_annotators), got {h.shape}")
    if np.isinf(f).any() or np.isinf(h).any():
        raise ValueError("judge and humans must not contain infinite values")
    if scoring not in ("accuracy", "neg_rmse"):
        raise ValueError(f"scoring must be 'accuracy' or 'neg_rmse', got {scoring!r}")
    if not (isinstance(epsilon, int | float) and 0.0 <= epsilon <= 1.0):
        raise ValueError(f"epsilon must be a number in [0, 1], got {epsilon!r}")
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q!r}")
    if not isinstance(min_instances, int) or min_instances < 2:
        raise ValueError(f"min_instances must be an integer >= 2, got {min_instances!r}")
    if not isinstance(min_humans_per_instance, int) or min_humans_per_instance < 2:
        raise ValueError(
            f"min_humans_per_instance must be an integer >= 2, got {min_humans_per_instance!r}"
        )
    return f, h
