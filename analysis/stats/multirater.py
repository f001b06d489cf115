"""Chance-corrected agreement among many raters: Fleiss' kappa and Gwet's AC1."""

from __future__ import annotations

from functools import partial

import numpy as np
import numpy.typing as npt

from analysis.stats._validate import (
    as_codes,
    category_counts,
    resolve_n_categories,
)
from analysis.stats.bootstrap import Resampler, estimate_from_stats
from analysis.stats.results import Estimate


def _multirater_stats(codes: np.ndarray, n_categories: int) -> tuple[np.ndarray, int, int]:
    """Per-item sufficient statistics shared by Fleiss' kappa and Gwet's AC1.

    The estimators average per-item fractions (``r_ik / r_i``, ...). Summing fractions such
    as 1/3 rounds, and the rounding depends on the order of the sum; grouping the items by
    their number of ratings ``r`` keeps every sum a whole number, so the sums of any chunks of
    items add up to exactly the same totals and the fractions are taken once, at the end.

    Returns
    -------
    stats : ndarray, shape (n_items, n_raters * (2 + n_categories))
        One block of ``2 + n_categories`` columns per ``r = 1..n_raters``, filled for the
        items with ``r`` ratings: 1 (the item), ``sum_k r_ik (r_ik - 1)``, then ``r_ik``.
    n_pairable : int
    n_pairs : int
        ``sum_i r_i (r_i - 1) / 2`` over all items.
    """
    counts = category_counts(codes, n_categories).astype(np.float64)
    n_items, width = codes.shape[0], max(codes.shape[1], 1)
    r = counts.sum(axis=1).astype(np.int64)
    rated = np.flatnonzero(r >= 1)
    stats = np.zeros((n_items, width, 2 + n_categories))
    block = np.column_stack(
        [np.ones(len(rated)), (counts[rated] * (counts[rated] - 1.0)).sum(axis=1), counts[rated]]
    )
    stats[rated, r[rated] - 1] = block
    n_pairs = int((r * (r - 1) // 2).sum())
    return stats.reshape(n_items, -1), int((r >= 2).sum()), n_pairs


def _observed_and_prevalence(sums: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    # Gwet (2014): observed agreement averages over pairable items, category prevalence over
    # every rated item, so a lone rating still informs chance agreement.
    blocks = sums.reshape(*sums.shape[:-1], width, -1)  # (..., r, 2 + k)
    r = np.arange(1.0, width + 1.0)
    n_r, agree_r, counts_r = blocks[..., 0], blocks[..., 1], blocks[..., 2:]
    pairs_per_item = r[1:] * (r[1:] - 1.0)
    pa = (agree_r[..., 1:] / pairs_per_item).sum(axis=-1) / n_r[..., 1:].sum(axis=-1)
    prevalence = (counts_r / r[:, None]).sum(axis=-2) / n_r.sum(axis=-1)[..., None]
    return pa, prevalence


def _fleiss_from_sums(sums: np.ndarray, width: int) -> np.ndarray:
    pa, prevalence = _observed_and_prevalence(sums, width)
    pe = (prevalence**2).sum(axis=-1)
    return (pa - pe) / (1.0 - pe)


def _ac1_from_sums(sums: np.ndarray, k: int, width: int) -> np.ndarray:
    pa, prevalence = _observed_and_prevalence(sums, width)
    pe = (prevalence * (1.0 - prevalence)).sum(axis=-1) / (k - 1)
    return (pa - pe) / (1.0 - pe)


FLEISS_NAME = "Fleiss' kappa generalised to unequal raters per item (Gwet 2014)"


def _multirater_estimate(
    codes: npt.ArrayLike,
    n_categories: int | None,
    clusters: npt.ArrayLike | None,
    n_boot: int,
    rng: np.random.Generator | Resampler | None,
    confidence: float,
    *,
    gwet: bool,
) -> Estimate:
    arr = as_codes(codes, "codes", ndim=2)
    k = resolve_n_categories([arr], n_categories)
    if gwet and k < 2:
        raise ValueError(f"Gwet's AC1 needs n_categories >= 2, got {k}")
    stats, n_items, n_pairs = _multirater_stats(arr, k)
    if gwet:
        metric = partial(_ac1_from_sums, k=k, width=max(arr.shape[1], 1))
        name = f"Gwet's AC1 ({k} categories)"
    else:
        metric, name = partial(_fleiss_from_sums, width=max(arr.shape[1], 1)), FLEISS_NAME
    return estimate_from_stats(
        stats,
        metric,
        clusters=clusters,
        n_boot=n_boot,
        rng=rng,
        confidence=confidence,
        n_items=n_items,
        n_pairs=n_pairs,
        name=name,
    )


def fleiss_kappa(
    codes: npt.ArrayLike,
    *,
    n_categories: int | None = None,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Fleiss' kappa for many raters, allowing a different number of raters per item.

    With ``r_i`` ratings of item ``i`` and ``r_ik`` of them in category ``k``:
    ``pa`` = mean over items with ``r_i >= 2`` of ``sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))``;
    ``pi_k`` = mean over items with ``r_i >= 1`` of ``r_ik / r_i``; ``pe = sum_k pi_k**2``;
    ``kappa = (pa - pe) / (1 - pe)``. Items with fewer than two ratings give no pairs, so they
    are dropped from ``pa``; as in Gwet (2014) they still count towards the category
    prevalence ``pi_k``. With the same number of raters on every item this is Fleiss (1971).

    Parameters
    ----------
    codes : array_like, shape (n_items, n_raters)
        Integer category codes ``0..k-1``, NaN for missing.
    n_categories : int, optional
        Inferred from the largest code when omitted (unused categories do not change kappa).
    clusters : array_like, shape (n_items,), optional
        Cluster of each item for the bootstrap.
    n_boot : int, default 0
        0 gives no interval (no analytic CI is provided); > 0 a percentile cluster bootstrap.
    rng : numpy.random.Generator, optional
        Required when ``n_boot > 0``.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        ``value`` is NaN when every rating falls in one category (``pe == 1``) or no item has
        two ratings. ``n_items``: items with >= 2 ratings; ``n_pairs``: rater pairs
        ``sum_i r_i (r_i - 1) / 2``.

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychol. Bull.
    76(5). Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 2.
    """
    return _multirater_estimate(codes, n_categories, clusters, n_boot, rng, confidence, gwet=False)


def gwet_ac1(
    codes: npt.ArrayLike,
    *,
    n_categories: int,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Gwet's AC1 within one group of raters, allowing a different number of raters per item.

    Written here because no maintained Python package computes AC1 for raw ratings with
    missing data. Same ``pa`` and ``pi_k`` as :func:`fleiss_kappa` (Gwet 2014 conventions);
    chance agreement is ``pe = sum_k pi_k (1 - pi_k) / (q - 1)`` with ``q = n_categories``.

    Parameters
    ----------
    codes : array_like, shape (n_items, n_raters)
        Integer category codes ``0..q-1``, NaN for missing.
    n_categories : int
        ``q``, the number of categories raters could choose from, including unused ones
        (``pe`` depends on it). Must be >= 2.
    clusters : array_like, shape (n_items,), optional
    n_boot : int, default 0
        0 gives no interval; > 0 a percentile cluster bootstrap.
    rng : numpy.random.Generator, optional
        Required when ``n_boot > 0``.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        ``value`` is NaN when no item has two ratings. ``n_items``: items with >= 2 ratings;
        ``n_pairs``: rater pairs.

    References
    ----------
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of
    high agreement. Br. J. Math. Stat. Psychol. 61(1). Gwet, K. L. (2014). Handbook of
    Inter-Rater Reliability, 4th ed., ch. 2.
    """
    return _multirater_estimate(codes, n_categories, clusters, n_boot, rng, confidence, gwet=True)
