"""Pooled pairwise percent agreement and per-target consensus labels."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from analysis.stats._validate import (
    as_codes,
    category_counts,
    check_same_length,
    include_tie_code,
    resolve_n_categories,
)
from analysis.stats.bootstrap import Resampler, estimate_from_stats
from analysis.stats.results import Estimate


def _ratio_of_sums(sums: np.ndarray) -> np.ndarray:
    # Columns are (agreeing pairs, pairs); 0/0 is NaN, meaning "no pairs".
    return sums[..., 0] / sums[..., 1]


def pair_agreement_stats(
    codes_a: np.ndarray,
    codes_b: np.ndarray | None,
    n_categories: int,
    tie_code: int | None,
) -> np.ndarray:
    """Per-target agreeing pairs and pairs, from per-category counts.

    Parameters
    ----------
    codes_a : ndarray, shape (n_targets, n_raters_a)
        Validated codes, NaN for missing.
    codes_b : ndarray, shape (n_targets, n_raters_b), or None
        Second group; None counts unordered pairs of distinct raters within ``codes_a``.
    n_categories : int
    tie_code : int or None
        Code whose judgements are left out of every pair.

    Returns
    -------
    ndarray of float64, shape (n_targets, 2)
        Column 0: agreeing pairs; column 1: pairs.
    """
    counts_a = category_counts(codes_a, n_categories).astype(np.float64)
    if tie_code is not None:
        counts_a[:, tie_code] = 0.0
    if codes_b is None:
        agree = (counts_a * (counts_a - 1.0)).sum(axis=1) / 2.0
        n_a = counts_a.sum(axis=1)
        pairs = n_a * (n_a - 1.0) / 2.0
    else:
        counts_b = category_counts(codes_b, n_categories).astype(np.float64)
        if tie_code is not None:
            counts_b[:, tie_code] = 0.0
        agree = (counts_a * counts_b).sum(axis=1)
        pairs = counts_a.sum(axis=1) * counts_b.sum(axis=1)
    return np.column_stack([agree, pairs])


def percent_agreement(
    codes_a: npt.ArrayLike,
    codes_b: npt.ArrayLike | None = None,
    *,
    n_categories: int | None = None,
    tie_code: int | None = None,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Pooled pairwise percent agreement, within one group or between two groups.

    Between groups, a pair is two judgements of the same target, one from each group. Within a
    group, a pair is an unordered pair of judgements of the same target by two distinct raters.
    Agreement is (agreeing pairs) / (pairs), pooled over all targets, so targets with more
    raters weigh more.

    Parameters
    ----------
    codes_a : array_like, shape (n_targets, n_raters_a)
        Integer category codes ``0..k-1``, NaN for missing.
    codes_b : array_like, shape (n_targets, n_raters_b), optional
        Second group on the same targets (same row order). Omit for within-group agreement.
    n_categories : int, optional
        Number of categories ``k``; inferred from the largest code when omitted.
    tie_code : int, optional
        When given, judgements with this code are dropped from every pair ("without ties").
    clusters : array_like, shape (n_targets,), optional
        Cluster of each target for the bootstrap (e.g. the solution a step belongs to).
    n_boot : int, default 0
        Bootstrap resamples; 0 gives no interval (pairs within a target are not independent,
        so there is no honest binomial interval).
    rng : numpy.random.Generator, optional
        Required when ``n_boot > 0``.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        ``value`` is NaN when there are no pairs. ``n_items``: targets with at least one pair;
        ``n_pairs``: pairs pooled.

    Notes
    -----
    Per target with ``c_k`` (group A) and ``d_k`` (group B) judgements in category ``k``, the
    agreeing pairs are ``sum_k c_k d_k`` between groups and ``sum_k c_k (c_k - 1) / 2`` within
    a group, so no pair is ever enumerated.
    """
    a = as_codes(codes_a, "codes_a", ndim=2)
    b = None if codes_b is None else as_codes(codes_b, "codes_b", ndim=2)
    arrays = [a] if b is None else [a, b]
    if b is not None:
        check_same_length(a.shape[0], b, "codes_b")
    k = include_tie_code(
        tie_code, resolve_n_categories(arrays, n_categories), n_categories is not None
    )
    stats = pair_agreement_stats(a, b, k, None if tie_code is None else int(tie_code))
    scope = "within-group" if b is None else "between-group"
    ties = "" if tie_code is None else f", pairs with code {tie_code} dropped"
    return estimate_from_stats(
        stats,
        _ratio_of_sums,
        clusters=clusters,
        n_boot=n_boot,
        rng=rng,
        confidence=confidence,
        n_items=int((stats[:, 1] > 0).sum()),
        n_pairs=int(round(stats[:, 1].sum())),
        name=f"pooled {scope} pairwise percent agreement{ties}",
    )


def consensus(codes: npt.ArrayLike, *, n_categories: int | None = None) -> np.ndarray:
    """Per-target consensus label: the unique most frequent code.

    Parameters
    ----------
    codes : array_like, shape (n_targets, n_raters)
        Integer category codes, NaN for missing.
    n_categories : int, optional
        Inferred from the largest code when omitted.

    Returns
    -------
    ndarray of float64, shape (n_targets,)
        The code chosen by more raters than any other code (a unique plurality, which for
        two or three raters on two categories is the simple majority); NaN when the top count
        is shared by several codes or the target has no judgements.
    """
    arr = as_codes(codes, "codes", ndim=2)
    k = resolve_n_categories([arr], n_categories)
    counts = category_counts(arr, k)
    top = counts.max(axis=1, initial=0)
    unique_top = (counts == top[:, None]).sum(axis=1) == 1
    return np.where(unique_top & (top > 0), counts.argmax(axis=1), np.nan)
