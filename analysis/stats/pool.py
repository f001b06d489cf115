"""Annotator quality control: each rater against the rest of the pool, gold accuracy, outliers.

An annotator is compared with the *other* raters of the same targets, never with a consensus
their own label helped form: their label against the leave-one-out majority (Cohen's kappa),
their answers on gold items as a proportion (Wilson score interval), and a rule that marks
raters whose interval lies entirely below the pool's median.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt
from statsmodels.stats.proportion import proportion_confint

from analysis.stats._validate import (
    as_codes,
    category_counts,
    check_confidence,
    resolve_n_categories,
)
from analysis.stats.bootstrap import Resampler
from analysis.stats.kappa import KappaWeights, cohen_kappa
from analysis.stats.results import Estimate

MIN_POOL = 3  # fewer raters with a value than this: no median worth comparing with


def leave_one_out_consensus(codes: npt.ArrayLike, *, n_categories: int | None = None) -> np.ndarray:
    """For every rater, the unique plurality label of the *other* raters of each target.

    Parameters
    ----------
    codes : array_like, shape (n_targets, n_raters)
        Integer category codes ``0..k-1``, NaN for missing.
    n_categories : int, optional
        ``k``; inferred from the largest code when omitted.

    Returns
    -------
    ndarray of float64, shape (n_targets, n_raters)
        Column ``r``: the code chosen by more of the other raters than any other code; NaN
        where the others' top count is shared by several codes or no other rater judged the
        target. Same rule as :func:`analysis.stats.consensus`, with rater ``r`` left out.
    """
    arr = as_codes(codes, "codes", ndim=2)
    k = resolve_n_categories([arr], n_categories)
    counts = category_counts(arr, k)  # (n_targets, k)
    out = np.full(arr.shape, np.nan)
    targets = np.arange(arr.shape[0])
    # One rater at a time: (n_targets, k) arrays, never (n_targets, n_raters, k).
    for r in range(arr.shape[1]):
        others = counts.copy()
        judged = ~np.isnan(arr[:, r])
        others[targets[judged], arr[judged, r].astype(np.int64)] -= 1
        top = others.max(axis=1, initial=0)
        unique_top = (others == top[:, None]).sum(axis=1) == 1
        out[:, r] = np.where(unique_top & (top > 0), others.argmax(axis=1), np.nan)
    return out


def pool_agreement(
    codes: npt.ArrayLike,
    *,
    n_categories: int | None = None,
    weights: KappaWeights = "none",
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> tuple[Estimate, ...]:
    """Each rater's Cohen's kappa against the leave-one-out majority of the other raters.

    Parameters
    ----------
    codes : array_like, shape (n_targets, n_raters)
        Codes ``0..k-1`` of every rater of the pool, NaN for missing.
    n_categories : int, optional
    weights : {"none", "linear", "quadratic"}, default "none"
        "quadratic" for ordered scales.
    clusters : array_like, shape (n_targets,), optional
        Cluster of each target (the item a step belongs to) for the bootstrap.
    n_boot : int, default 0
        0 gives the asymptotic interval of :func:`cohen_kappa`; > 0 a percentile cluster
        bootstrap over the clusters. Pass a :class:`Resampler` drawn over ``clusters`` as
        ``rng`` to give every rater the same resamples (and draw them once).
    rng : numpy.random.Generator or Resampler, optional
    confidence : float, default 0.95

    Returns
    -------
    tuple of Estimate, length n_raters
        Rater ``r``'s kappa over the targets ``r`` judged where the others have a unique
        plurality label (:func:`leave_one_out_consensus`); ``n_items``: those targets. NaN
        when there are none, or when chance disagreement is 0 (rater and majority used one
        and the same label throughout).

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales. Educ. Psychol. Meas. 20.
    Cohen, J. (1968). Weighted kappa. Psychol. Bull. 70(4).
    """
    arr = as_codes(codes, "codes", ndim=2)
    k = resolve_n_categories([arr], n_categories)
    majority = leave_one_out_consensus(arr, n_categories=k)
    vs = "vs the leave-one-out majority of the other raters"
    estimates = []
    for r in range(arr.shape[1]):
        estimate = cohen_kappa(
            arr[:, r],
            majority[:, r],
            n_categories=k,
            weights=weights,
            clusters=clusters,
            n_boot=n_boot,
            rng=rng,
            confidence=confidence,
        )
        name, _, interval = estimate.method.partition("; ")
        method = f"{name} {vs}" + (f"; {interval}" if interval else "")
        estimates.append(dataclasses.replace(estimate, method=method))
    return tuple(estimates)


def proportion_wilson(successes: int, n: int, *, confidence: float = 0.95) -> Estimate:
    """A proportion with its Wilson score interval.

    Parameters
    ----------
    successes, n : int
        ``0 <= successes <= n``.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        ``successes / n`` with the Wilson score interval and the binomial SE
        ``sqrt(p (1 - p) / n)``, treating the ``n`` trials as independent; NaN when
        ``n == 0``. ``n_items`` and ``n_pairs``: ``n``.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. JASA 22. Brown, L. D., Cai, T. T. & DasGupta, A. (2001). Interval estimation
    for a binomial proportion. Statist. Sci. 16(2).
    """
    check_confidence(confidence)
    for name, value in (("successes", successes), ("n", n)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if successes > n:
        raise ValueError(f"successes ({successes}) exceeds n ({n})")
    method = f"proportion; Wilson score {100 * confidence:g}% CI"
    if n == 0:
        nan = float("nan")
        return Estimate(nan, nan, nan, nan, 0, 0, method)
    p = successes / n
    low, high = proportion_confint(successes, n, alpha=1.0 - confidence, method="wilson")
    return Estimate(p, float(low), float(high), math.sqrt(p * (1.0 - p) / n), n, n, method)


def below_pool_median(
    values: npt.ArrayLike, ci_high: npt.ArrayLike, *, min_pool: int = MIN_POOL
) -> np.ndarray:
    """Outliers: raters whose whole interval lies below the median of the pool's estimates.

    Parameters
    ----------
    values, ci_high : array_like, shape (n_raters,)
        Each rater's point estimate and upper interval bound, NaN where undefined.
    min_pool : int, default 3
        With fewer finite point estimates than this nobody is marked.

    Returns
    -------
    ndarray of bool, shape (n_raters,)
        ``ci_high < median(values)``, the median taken over the finite point estimates
        (the rater's own included); False where ``ci_high`` is NaN.
    """
    v = np.asarray(values, dtype=np.float64)
    hi = np.asarray(ci_high, dtype=np.float64)
    if v.ndim != 1 or hi.shape != v.shape:
        raise ValueError(
            f"values and ci_high must have the same 1-d shape, got {v.shape}, {hi.shape}"
        )
    finite = v[np.isfinite(v)]
    if finite.size < max(min_pool, 1):
        return np.zeros(v.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.isfinite(hi) & (hi < np.median(finite))
