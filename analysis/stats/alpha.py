"""Krippendorff's alpha from whole-number coincidence counts (checked against the
``krippendorff`` package in the tests), with a vectorised bootstrap."""

from __future__ import annotations

from functools import partial
from typing import Literal

import numpy as np
import numpy.typing as npt

from analysis.stats._validate import as_codes, category_counts, resolve_n_categories
from analysis.stats.bootstrap import (
    Resampler,
    SumsRecorder,
    check_bootstrap_args,
    estimate_from_stats,
)
from analysis.stats.results import Estimate

AlphaLevel = Literal["nominal", "ordinal", "interval"]
_LEVELS = ("nominal", "ordinal", "interval")


def coincidence_contributions(counts: np.ndarray) -> np.ndarray:
    """Each unit's contribution to Krippendorff's coincidence matrix.

    Parameters
    ----------
    counts : ndarray, shape (n_units, k)
        How many coders gave each value to each unit.

    Returns
    -------
    ndarray of float64, shape (n_units, k, k)
        ``(n_uc n_uk - [c == k] n_uc) / (m_u - 1)`` for units with ``m_u >= 2`` values,
        zero for units that cannot be paired. Summed over units this is the matrix ``o``.
    """
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    pairs = counts[:, :, None] * counts[:, None, :]
    diagonal = np.arange(counts.shape[1])
    pairs[:, diagonal, diagonal] -= counts
    scale = np.divide(1.0, m - 1.0, out=np.zeros_like(m), where=m >= 2)
    return pairs * scale[:, None, None]


def _delta_squared(n_c: np.ndarray, level: AlphaLevel) -> np.ndarray:
    """Metric differences ``delta^2`` of shape ``(..., k, k)`` for value totals ``n_c``."""
    k = n_c.shape[-1]
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(k), (*n_c.shape[:-1], k, k))
    if level == "interval":
        codes = np.arange(k, dtype=np.float64)
        return np.broadcast_to(np.subtract.outer(codes, codes) ** 2, (*n_c.shape[:-1], k, k))
    # Ordinal distances depend on the value totals, so each resample gets its own matrix:
    # (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2 = (C_k - C_c + (n_c - n_k) / 2)^2, C = cumsum(n).
    cum = np.cumsum(n_c, axis=-1)
    spread = cum[..., None, :] - cum[..., :, None]
    half = (n_c[..., :, None] - n_c[..., None, :]) / 2.0
    return (spread + half) ** 2


def krippendorff_alpha_from_coincidences(
    coincidences: np.ndarray, level: AlphaLevel = "nominal"
) -> np.ndarray:
    """Krippendorff's alpha from one or many coincidence matrices.

    Parameters
    ----------
    coincidences : ndarray, shape (..., k, k)
        Coincidence matrices ``o`` (sums of :func:`coincidence_contributions`).
    level : {"nominal", "ordinal", "interval"}
        Interval treats the codes ``0..k-1`` as equally spaced numbers.

    Returns
    -------
    ndarray, shape (...)
        ``1 - (n - 1) sum(o * d) / sum(n_c n_k d)``; NaN when there is no pairable value or
        every pairable value is the same (expected disagreement 0).

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School for
    Communication, University of Pennsylvania.
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
    o = np.asarray(coincidences, dtype=np.float64)
    if o.ndim < 2 or o.shape[-1] != o.shape[-2]:
        raise ValueError(f"coincidences must have shape (..., k, k), got {o.shape}")
    n_c = o.sum(axis=-1)
    n = n_c.sum(axis=-1)
    d = _delta_squared(n_c, level)
    observed = (o * d).sum(axis=(-2, -1))
    expected = (n_c[..., :, None] * n_c[..., None, :] * d).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - (n - 1.0) * observed / expected


def coincidence_pair_counts(counts: np.ndarray, width: int) -> np.ndarray:
    """Each unit's ordered value pairs, by its number of values: whole numbers.

    Parameters
    ----------
    counts : ndarray, shape (n_units, k)
        How many coders gave each value to each unit.
    width : int
        The most values a unit can have (the number of coders), >= 2.

    Returns
    -------
    ndarray of float64, shape (n_units, width - 1, k, k)
        Block ``m - 2`` holds ``n_uc n_uk - [c == k] n_uc`` for the units with ``m`` values
        (zero elsewhere). ``sum_m block_m / (m - 1)`` summed over units is the coincidence
        matrix ``o`` of :func:`coincidence_contributions`, with every division done once.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n_units, k = counts.shape
    m = counts.sum(axis=1).astype(np.int64)
    out = np.zeros((n_units, width - 1, k, k))
    units = np.flatnonzero(m >= 2)
    pairs = counts[units, :, None] * counts[units, None, :]
    diagonal = np.arange(k)
    pairs[:, diagonal, diagonal] -= counts[units]
    out[units, m[units] - 2] = pairs
    return out


def _alpha_from_pair_counts(sums: np.ndarray, k: int, level: AlphaLevel, width: int) -> np.ndarray:
    # A module-level function (not a lambda) so that a streamed run can ship it with its sums.
    blocks = sums.reshape(*sums.shape[:-1], width - 1, k, k)
    per_pair = 1.0 / np.arange(1.0, width)  # 1 / (m - 1) for m = 2..width
    coincidences = (blocks * per_pair[:, None, None]).sum(axis=-3)
    return krippendorff_alpha_from_coincidences(coincidences, level)


def _little_variation_note(pairable_counts: np.ndarray) -> str:
    """A note for the method text when the pairable values leave alpha no room: with at most
    one value outside the most common one, observed disagreement cannot fall below expected
    disagreement (alpha <= 0, exactly 0 for one such value in units of two), whatever the
    raw agreement; with none, alpha is undefined. Other chance-corrected statistics that take
    category prevalence from every judged target, not only the paired ones, differ here."""
    totals = pairable_counts.sum(axis=0)
    outside = totals.sum() - totals.max(initial=0)
    if totals.sum() == 0 or outside > 1:
        return ""
    if outside == 0:
        return "; every paired value is the same: alpha is not defined"
    return (
        "; only one paired value differs from the most common one: alpha is 0 or below by "
        "construction (too little variation among the paired values)"
    )


def krippendorff_alpha(
    codes: npt.ArrayLike,
    *,
    level: AlphaLevel = "nominal",
    n_categories: int | None = None,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Krippendorff's alpha for codes with missing values.

    Alpha is a function of the summed per-unit coincidence pair counts (whole numbers, so
    any order or chunking of the sum gives the same value); the point estimate and every
    bootstrap resample use that one formula, which the tests hold to the ``krippendorff``
    package. The bootstrap resamples units (or clusters of units).

    Parameters
    ----------
    codes : array_like, shape (n_units, n_coders)
        Integer codes ``0..k-1``, NaN for missing. Use "nominal" for pairwise preference
        verdicts (A / B / tie) and for any unordered labels.
    level : {"nominal", "ordinal", "interval"}, default "nominal"
        Interval treats the codes as equally spaced numbers.
    n_categories : int, optional
        ``k``; inferred from the largest code when omitted.
    clusters : array_like, shape (n_units,), optional
        Cluster of each unit for the bootstrap.
    n_boot : int, default 0
        0 gives no interval; > 0 a percentile cluster bootstrap.
    rng : numpy.random.Generator, optional
        Required when ``n_boot > 0``.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        ``value`` is NaN when no unit has two values or all pairable values are equal.
        ``n_items``: units with >= 2 values; ``n_pairs``: ``sum_u m_u (m_u - 1) / 2`` over them.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    Castro, S. (2017). Fast Krippendorff: fast computation of Krippendorff's alpha (the
    ``krippendorff`` package).
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
    arr = as_codes(codes, "codes", ndim=2)
    k = resolve_n_categories([arr], n_categories)
    check_bootstrap_args(n_boot, rng)
    counts = category_counts(arr, k)
    m = counts.sum(axis=1)
    pairable = m >= 2
    n_items = int(pairable.sum())
    n_pairs = int((m[pairable] * (m[pairable] - 1) // 2).sum())
    name = f"Krippendorff's alpha ({level})" + _little_variation_note(counts[pairable])
    nan = float("nan")
    # The value is the coincidence formula on whole-number pair counts (see
    # coincidence_pair_counts), not the package's float arithmetic: sums of whole numbers
    # are the same in any order, so a report streamed in chunks gets this value to the last
    # bit. The tests hold it to the package's value on published and random data.
    width = max(arr.shape[1], 2)
    pair_counts = coincidence_pair_counts(counts, width).reshape(arr.shape[0], -1)
    metric = partial(_alpha_from_pair_counts, k=k, level=level, width=width)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(metric(pair_counts.sum(axis=0))) if n_items > 0 and k >= 2 else nan
    # A recorder still records a chunk whose own alpha is undefined: its coincidences count
    # in the union of chunks.
    if n_boot == 0 or (not np.isfinite(value) and not isinstance(rng, SumsRecorder)):
        return Estimate(value, nan, nan, nan, n_items, n_pairs, f"{name}; no interval")
    return estimate_from_stats(
        pair_counts,
        metric,
        clusters=clusters,
        n_boot=n_boot,
        rng=rng,
        confidence=confidence,
        n_items=n_items,
        n_pairs=n_pairs,
        name=name,
    )


def krippendorff_alpha_interval_values(
    values: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Krippendorff's interval alpha on the values themselves, in time and memory linear in
    the number of values: for a wide interval scale (0..100, 0..1e6) where codes per category
    would cost (n_units, k, k).

    The ``krippendorff`` package builds a (v, v) coincidence matrix over the distinct values
    ``v``, which on continuous scores grows with the square of the data; the interval metric
    needs only sums, so it is computed here from each unit's count, sum and sum of squares
    (and tested against the package on random input). With ``m_u`` values in unit ``u``,
    ``sum_{i != j} (v_i - v_j)^2 = 2 (m_u Q_u - S_u^2)``; alpha is
    ``1 - (n - 1) sum_u [2 (m_u Q_u - S_u^2) / (m_u - 1)] / (2 (n Q - S^2))``.

    Parameters
    ----------
    values : array_like, shape (n_units, n_coders)
        Finite numbers, NaN for missing.
    clusters : array_like, shape (n_units,), optional
        Cluster of each unit for the bootstrap.
    n_boot : int, default 0
        0 gives no interval; > 0 a percentile cluster bootstrap.
    rng : numpy.random.Generator, optional
        Required when ``n_boot > 0``.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        ``value`` is NaN when no unit has two values or all pairable values are equal.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"values must have shape (n_units, n_coders), got {arr.shape}")
    if np.isinf(arr).any():
        raise ValueError("values must be finite or NaN")
    check_bootstrap_args(n_boot, rng)
    m = (~np.isnan(arr)).sum(axis=1).astype(np.float64)
    pairable = m >= 2
    n_items = int(pairable.sum())
    n_pairs = int((m[pairable] * (m[pairable] - 1) // 2).sum())
    name = "Krippendorff's alpha (interval, on values)"
    if n_items == 0:
        nan = float("nan")
        return Estimate(nan, nan, nan, nan, 0, 0, f"{name}; no interval")
    # Centred and scaled: alpha does not change, and the sums of squares keep their precision.
    # Units that cannot be paired keep their rows (a shared Resampler counts every target) with
    # zero statistics: their values are not pairable and count nowhere.
    spread = np.nanstd(arr[pairable])
    scaled = (arr - np.nanmean(arr[pairable])) / (spread if spread > 0 else 1.0)
    scaled[~pairable] = np.nan
    m_u = np.where(pairable, m, 0.0)
    s_u = np.nansum(scaled, axis=1)
    q_u = np.nansum(scaled**2, axis=1)
    observed = 2.0 * (m_u * q_u - s_u**2) / np.maximum(m_u - 1.0, 1.0)
    unit_stats = np.column_stack([m_u, s_u, q_u, observed])

    def alpha_of(sums: np.ndarray) -> np.ndarray:
        n, s, q, o = sums[..., 0], sums[..., 1], sums[..., 2], sums[..., 3]
        return 1.0 - (n - 1.0) * o / (2.0 * (n * q - s**2))

    return estimate_from_stats(
        unit_stats,
        alpha_of,
        clusters=clusters,
        n_boot=n_boot,
        rng=rng,
        confidence=confidence,
        n_items=n_items,
        n_pairs=n_pairs,
        name=name,
    )
