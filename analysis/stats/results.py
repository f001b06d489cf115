"""Frozen result types shared by the statistics functions.

Every public statistic returns one of these types whatever options it was called with, so
callers never branch on the shape of a result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

GapVerdict = Literal["above", "below", "within expert noise", "insufficient data"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval and the amount of data behind it.

    Attributes
    ----------
    value : float
        Point estimate, always computed on the full sample (never a bootstrap mean). NaN when
        the statistic is undefined for the data; the producing function documents when.
    ci_low, ci_high : float
        Confidence interval bounds; NaN when no interval was requested or none is defined.
    se : float
        Standard error: analytic where ``method`` names an analytic interval, the standard
        deviation of the bootstrap replicates for a bootstrap interval, otherwise NaN.
    n_items : int
        Number of items (targets, units, solutions, comparisons) that contributed.
    n_pairs : int
        Number of judgement pairs that contributed (definition documented per function).
    method : str
        Human-readable name of the estimator and of the interval method.
    """

    value: float
    ci_low: float
    ci_high: float
    se: float
    n_items: int
    n_pairs: int
    method: str

    @property
    def has_interval(self) -> bool:
        """Whether both interval bounds are finite numbers."""
        return math.isfinite(self.ci_low) and math.isfinite(self.ci_high)


@dataclass(frozen=True)
class EarliestErrorAgreement:
    """Agreement on the first erroneous step of solutions (ProcessBench-style).

    Attributes
    ----------
    first_error_accuracy : Estimate
        Exact match of the first-error index (or of "no error") over all solutions.
    error_accuracy : Estimate
        Exact match over solutions where the reference found an error.
    correct_accuracy : Estimate
        Exact match over solutions the reference found clean.
    processbench_f1 : Estimate
        Harmonic mean of ``error_accuracy`` and ``correct_accuracy`` (Zheng et al. 2024).
    """

    first_error_accuracy: Estimate
    error_accuracy: Estimate
    correct_accuracy: Estimate
    processbench_f1: Estimate


@dataclass(frozen=True)
class GapResult:
    """Model agreement with human experts compared with the experts' own agreement.

    Attributes
    ----------
    model_agreement : Estimate
        Mean over experts ``e`` of the pooled agreement between the model and the other
        experts, on the targets ``e`` judged.
    human_agreement : Estimate
        Mean over experts ``e`` of the pooled agreement between ``e`` and the other experts
        (leave-one-out human ceiling).
    gap : Estimate
        ``model_agreement - human_agreement`` with a paired cluster-bootstrap interval.
    p_value : float
        Two-sided bootstrap p-value for ``gap == 0``; NaN without usable replicates.
    verdict : {"above", "below", "within expert noise", "insufficient data"}
        "above" when the gap interval lies above 0, "below" when it lies below 0,
        "insufficient data" when the gap or its interval is undefined.
    n_experts : int
        Experts that contributed at least one comparison.
    """

    model_agreement: Estimate
    human_agreement: Estimate
    gap: Estimate
    p_value: float
    verdict: GapVerdict
    n_experts: int


@dataclass(frozen=True, eq=False)
class MultipleTestingResult:
    """Benjamini–Hochberg adjusted p-values.

    Attributes
    ----------
    p_adjusted : ndarray, shape (n_tests,)
        Adjusted p-values; NaN where the input p-value was NaN.
    reject : ndarray of bool, shape (n_tests,)
        Whether each hypothesis is rejected at the requested false discovery rate; False
        where the input p-value was NaN.
    alpha : float
        The false discovery rate the decisions were made at.
    """

    p_adjusted: np.ndarray = field(repr=True)
    reject: np.ndarray = field(repr=True)
    alpha: float = 0.05
