"""Two judges on the same targets against the same reference labels: which agrees more?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from statsmodels.stats.contingency_tables import mcnemar

from analysis.stats._validate import as_codes, check_same_length, subset_clusters
from analysis.stats.bootstrap import Resampler, estimate_from_stats
from analysis.stats.results import Estimate


@dataclass(frozen=True)
class JudgeComparison:
    """Judge A against judge B on the targets where both and the reference have a label.

    Attributes
    ----------
    difference : Estimate
        ``accuracy_a - accuracy_b``, with a paired percentile cluster-bootstrap interval
        (both judges resampled on the same targets) when ``n_boot > 0``.
    accuracy_a, accuracy_b : float
        Share of the shared targets where each judge's label equals the reference label.
    only_a, only_b : int
        Discordant targets: A right and B wrong, B right and A wrong.
    mcnemar_p : float
        Two-sided exact McNemar p-value (binomial test of ``only_a`` among the discordant
        targets with p = 1/2); 1.0 without discordant targets, NaN without shared targets.
    n_items : int
        Shared targets.
    """

    difference: Estimate
    accuracy_a: float
    accuracy_b: float
    only_a: int
    only_b: int
    mcnemar_p: float
    n_items: int


def _difference(sums: np.ndarray) -> np.ndarray:
    # Columns: A right, B right, targets.
    return (sums[..., 0] - sums[..., 1]) / sums[..., 2]


def judge_accuracy_difference(
    labels_a: npt.ArrayLike,
    labels_b: npt.ArrayLike,
    reference: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> JudgeComparison:
    """Difference in accuracy of two judges against one reference, with McNemar's exact test.

    Parameters
    ----------
    labels_a, labels_b : array_like, shape (n_targets,)
        Each judge's category code per target (e.g. its raters' consensus), NaN for none.
    reference : array_like, shape (n_targets,)
        The reference label per target (e.g. the experts' consensus), NaN for none.
    clusters : array_like, shape (n_targets,), optional
        Cluster of each target for the bootstrap (the solution a step belongs to).
    n_boot : int, default 0
        0 gives no interval.
    rng : numpy.random.Generator or Resampler, optional
        Required when ``n_boot > 0``.
    confidence : float, default 0.95

    Returns
    -------
    JudgeComparison

    References
    ----------
    McNemar, Q. (1947). Note on the sampling error of the difference between correlated
    proportions or percentages. Psychometrika 12(2). Exact form: statsmodels
    ``contingency_tables.mcnemar(exact=True)``.
    """
    a = as_codes(labels_a, "labels_a", ndim=1)
    b = as_codes(labels_b, "labels_b", ndim=1)
    ref = as_codes(reference, "reference", ndim=1)
    check_same_length(a.shape[0], b, "labels_b")
    check_same_length(a.shape[0], ref, "reference")
    shared = ~np.isnan(a) & ~np.isnan(b) & ~np.isnan(ref)
    right_a = (a[shared] == ref[shared]).astype(np.float64)
    right_b = (b[shared] == ref[shared]).astype(np.float64)
    n = int(shared.sum())
    # Columns: A right, B right, targets, then the discordant and concordant-right counts
    # McNemar's test needs (the difference's metric reads the first three).
    only_a, only_b = right_a * (1 - right_b), right_b * (1 - right_a)
    stats = np.column_stack([right_a, right_b, np.ones(n), only_a, only_b, right_a * right_b])
    estimate = estimate_from_stats(
        stats,
        _difference,
        clusters=None if clusters is None else subset_clusters(clusters, shared),
        n_boot=n_boot,
        rng=rng,
        confidence=confidence,
        n_items=n,
        n_pairs=n,
        name=DIFFERENCE_NAME,
    )
    return comparison_from_sums(stats.sum(axis=0), estimate)


DIFFERENCE_NAME = "accuracy difference A - B vs the reference; paired"


def comparison_from_sums(totals: np.ndarray, difference: Estimate) -> JudgeComparison:
    """The comparison from the summed per-target columns and the difference's estimate:
    :func:`judge_accuracy_difference` and the merge of a streamed report both finish here."""
    right_a, right_b, n, only_a, only_b, both = (int(round(v)) for v in totals)
    table = [[both, only_a], [only_b, n - both - only_a - only_b]]
    p = float(mcnemar(table, exact=True).pvalue) if n else float("nan")
    nan = float("nan")
    return JudgeComparison(
        difference=difference,
        accuracy_a=right_a / n if n else nan,
        accuracy_b=right_b / n if n else nan,
        only_a=only_a,
        only_b=only_b,
        mcnemar_p=p,
        n_items=n,
    )
