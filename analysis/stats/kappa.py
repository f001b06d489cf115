"""Cohen's kappa between two label vectors, unweighted or weighted."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.stats
from statsmodels.stats.inter_rater import cohens_kappa as _statsmodels_cohens_kappa

from analysis.stats._validate import (
    as_codes,
    check_confidence,
    check_same_length,
    resolve_n_categories,
    subset_clusters,
)
from analysis.stats.bootstrap import Resampler, check_bootstrap_args, estimate_from_stats
from analysis.stats.results import Estimate

KappaWeights = Literal["none", "linear", "quadratic"]

_ASYMPTOTIC = "asymptotic SE (Fleiss, Cohen & Everitt 1969)"


def disagreement_weights(n_categories: int, weights: KappaWeights = "none") -> np.ndarray:
    """Disagreement weights between ordered categories, scaled to a maximum of 1.

    Parameters
    ----------
    n_categories : int
    weights : {"none", "linear", "quadratic"}
        "none": 1 off the diagonal; "linear": ``|i - j| / (k - 1)``;
        "quadratic": ``(i - j)**2 / (k - 1)**2``.

    Returns
    -------
    ndarray, shape (n_categories, n_categories)
    """
    steps = np.abs(np.subtract.outer(np.arange(n_categories), np.arange(n_categories)))
    scale = max(n_categories - 1, 1)
    if weights == "none":
        return (steps > 0).astype(np.float64)
    if weights == "linear":
        return steps / scale
    if weights == "quadratic":
        return (steps / scale) ** 2
    raise ValueError(f"weights must be 'none', 'linear' or 'quadratic', got {weights!r}")


def cohen_kappa_from_tables(tables: np.ndarray, weights: KappaWeights = "none") -> np.ndarray:
    """Cohen's kappa of one or many contingency tables at once.

    Parameters
    ----------
    tables : ndarray, shape (..., k, k)
        Counts; rows are rater A's category, columns rater B's.
    weights : {"none", "linear", "quadratic"}

    Returns
    -------
    ndarray, shape (...)
        ``1 - sum(w * observed) / sum(w * expected)`` with disagreement weights ``w``; NaN where
        chance disagreement is 0 (both raters used one and the same category) or a table is
        empty.
    """
    tables = np.asarray(tables, dtype=np.float64)
    k = tables.shape[-1]
    if tables.ndim < 2 or tables.shape[-2] != k:
        raise ValueError(f"tables must have shape (..., k, k), got {tables.shape}")
    w = disagreement_weights(k, weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = tables / tables.sum(axis=(-2, -1), keepdims=True)
        expected = p.sum(axis=-1)[..., :, None] * p.sum(axis=-2)[..., None, :]
        return 1.0 - (p * w).sum(axis=(-2, -1)) / (expected * w).sum(axis=(-2, -1))


def _kappa_from_flat_tables(sums: np.ndarray, k: int, weights: KappaWeights) -> np.ndarray:
    # A module-level function (not a lambda) so that a streamed run can ship it with its sums.
    return cohen_kappa_from_tables(sums.reshape(*sums.shape[:-1], k, k), weights)


def contingency_table(labels_a: np.ndarray, labels_b: np.ndarray, n_categories: int) -> np.ndarray:
    """Cross-tabulate two complete label vectors of codes ``0..n_categories-1``.

    Returns
    -------
    ndarray of int64, shape (n_categories, n_categories)
    """
    cells = labels_a.astype(np.int64) * n_categories + labels_b.astype(np.int64)
    return np.bincount(cells, minlength=n_categories**2).reshape(n_categories, n_categories)


def cohen_kappa(
    labels_a: npt.ArrayLike,
    labels_b: npt.ArrayLike,
    *,
    n_categories: int | None = None,
    weights: KappaWeights = "none",
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Cohen's kappa between two label vectors, unweighted or weighted.

    Parameters
    ----------
    labels_a, labels_b : array_like, shape (n_targets,)
        Category codes ``0..k-1`` (for example per-target consensus labels from
        :func:`consensus`), NaN for missing. Targets missing in either are dropped.
    n_categories : int, optional
        ``k``; inferred from the largest code when omitted. Weighted kappa treats the codes as
        equally spaced ordered categories.
    weights : {"none", "linear", "quadratic"}, default "none"
    clusters : array_like, shape (n_targets,), optional
        Cluster of each target for the bootstrap.
    n_boot : int, default 0
        0 gives the asymptotic Wald interval ``kappa ± z * SE`` with the large-sample SE of
        Fleiss, Cohen & Everitt (1969) as computed by statsmodels; > 0 gives a percentile
        cluster-bootstrap interval over per-cluster contingency tables.
    rng : numpy.random.Generator, optional
        Required when ``n_boot > 0``.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        ``value`` is NaN when chance disagreement is 0 (both raters used a single, shared
        category) or no target has both labels. ``n_items`` and ``n_pairs``: targets with both
        labels.

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales. Educ. Psychol. Meas. 20.
    Cohen, J. (1968). Weighted kappa. Psychol. Bull. 70(4).
    Fleiss, J. L., Cohen, J. & Everitt, B. S. (1969). Large sample standard errors of kappa
    and weighted kappa. Psychol. Bull. 72(5).
    """
    a = as_codes(labels_a, "labels_a", ndim=1)
    b = as_codes(labels_b, "labels_b", ndim=1)
    check_same_length(a.shape[0], b, "labels_b")
    k = resolve_n_categories([a, b], n_categories)
    disagreement_weights(k, weights)  # validates `weights` before any work
    check_confidence(confidence)
    check_bootstrap_args(n_boot, rng)
    both = ~np.isnan(a) & ~np.isnan(b)
    n = int(both.sum())
    name = "Cohen's kappa (unweighted)" if weights == "none" else f"Cohen's kappa ({weights})"
    if n_boot > 0:
        cells = (a[both] * k + b[both]).astype(np.int64)
        onehot = np.zeros((n, k * k))
        onehot[np.arange(n), cells] = 1.0
        sub_clusters = None if clusters is None else subset_clusters(clusters, both)
        return estimate_from_stats(
            onehot,
            partial(_kappa_from_flat_tables, k=k, weights=weights),
            clusters=sub_clusters,
            n_boot=n_boot,
            rng=rng,
            confidence=confidence,
            n_items=n,
            n_pairs=n,
            name=name,
        )
    table = contingency_table(a[both], b[both], k)
    value = float(cohen_kappa_from_tables(table, weights))
    nan = float("nan")
    if not np.isfinite(value):
        return Estimate(nan, nan, nan, nan, n, n, f"{name}; undefined (no chance disagreement)")
    with warnings.catch_warnings():
        # statsmodels divides by zero in kappa_max for degenerate margins; we do not use it.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = _statsmodels_cohens_kappa(table, wt=None if weights == "none" else weights)
    # Perfect agreement has zero variance, which rounding can push just below 0.
    se = float(np.sqrt(max(float(result.var_kappa), 0.0)))
    z = float(scipy.stats.norm.ppf(0.5 + confidence / 2.0))
    return Estimate(
        value,
        value - z * se,
        value + z * se,
        se,
        n,
        n,
        f"{name}; {_ASYMPTOTIC}, Wald {100 * confidence:g}% CI",
    )
