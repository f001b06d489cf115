"""Input validation and category counting shared by the statistics modules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def as_codes(codes: npt.ArrayLike, name: str, *, ndim: int) -> np.ndarray:
    """Return ``codes`` as a float array of integer codes >= 0 with NaN for missing.

    Parameters
    ----------
    codes : array_like, shape (n_targets,) or (n_targets, n_raters)
        Integer category codes, NaN where missing.
    name : str
        Argument name used in error messages.
    ndim : int
        Required number of dimensions.

    Returns
    -------
    ndarray of float64, same shape as ``codes``
    """
    arr = np.asarray(codes, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    observed = arr[~np.isnan(arr)]
    if np.isinf(observed).any():
        raise ValueError(f"{name} contains infinite values")
    if (observed != np.round(observed)).any():
        raise ValueError(f"{name} must hold integer category codes (or NaN for missing)")
    if (observed < 0).any():
        raise ValueError(f"{name} must hold codes >= 0, got {observed.min():g}")
    return arr


def resolve_n_categories(arrays: Sequence[np.ndarray], n_categories: int | None) -> int:
    """Return the number of categories, checking every code lies in ``0..n_categories-1``.

    When ``n_categories`` is None it is inferred as the largest observed code + 1 (at least 1).
    """
    largest = -1
    for arr in arrays:
        if np.isfinite(arr).any():
            largest = max(largest, int(np.nanmax(arr)))
    if n_categories is None:
        return max(largest + 1, 1)
    if not isinstance(n_categories, (int, np.integer)) or n_categories < 1:
        raise ValueError(f"n_categories must be a positive integer, got {n_categories!r}")
    if largest >= n_categories:
        raise ValueError(f"code {largest} is out of range for n_categories={n_categories}")
    return int(n_categories)


def include_tie_code(tie_code: int | None, n_categories: int, explicit: bool) -> int:
    """Validate ``tie_code`` and return the number of categories that covers it.

    Parameters
    ----------
    tie_code : int or None
    n_categories : int
        Number of categories resolved so far.
    explicit : bool
        Whether the caller passed ``n_categories``; then ``tie_code`` must lie inside it,
        otherwise the category count grows to include it (a tie code nobody used).
    """
    if tie_code is None:
        return n_categories
    if not isinstance(tie_code, (int, np.integer)) or isinstance(tie_code, bool) or tie_code < 0:
        raise ValueError(f"tie_code must be a non-negative integer, got {tie_code!r}")
    if explicit and tie_code >= n_categories:
        raise ValueError(f"tie_code {tie_code} is out of range for n_categories={n_categories}")
    return max(n_categories, int(tie_code) + 1)


def category_counts(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Count how many raters gave each category to each target.

    Parameters
    ----------
    codes : ndarray, shape (n_targets, n_raters)
        Validated codes in ``0..n_categories-1`` with NaN for missing.
    n_categories : int

    Returns
    -------
    ndarray of int64, shape (n_targets, n_categories)
    """
    n_targets = codes.shape[0]
    rows, cols = np.nonzero(~np.isnan(codes))
    # One bincount over flat (target, category) cells beats a pass per category.
    flat = rows * n_categories + codes[rows, cols].astype(np.int64)
    return np.bincount(flat, minlength=n_targets * n_categories).reshape(n_targets, n_categories)


def check_confidence(confidence: float) -> None:
    """Raise unless ``0 < confidence < 1``."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def check_same_length(n_expected: int, arr: np.ndarray, name: str) -> None:
    """Raise unless ``arr`` has ``n_expected`` rows."""
    if arr.shape[0] != n_expected:
        raise ValueError(f"{name} has {arr.shape[0]} rows, expected {n_expected}")


def subset_clusters(clusters: npt.ArrayLike, keep: np.ndarray) -> np.ndarray:
    """Cluster labels of the kept targets, checking ``clusters`` has one label per target.

    Parameters
    ----------
    clusters : array_like, shape (n_targets,)
    keep : ndarray of bool, shape (n_targets,)

    Returns
    -------
    ndarray, shape (keep.sum(),)
    """
    labels = np.asarray(clusters)
    if labels.ndim != 1 or labels.shape[0] != keep.shape[0]:
        raise ValueError(f"clusters must have shape ({keep.shape[0]},), got {labels.shape}")
    return labels[keep]
