"""Agreement on the earliest erroneous step of a solution (ProcessBench-style)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import numpy.typing as npt
from statsmodels.stats.proportion import proportion_confint

from analysis.stats._validate import check_confidence, subset_clusters
from analysis.stats.bootstrap import Resampler, check_bootstrap_args, estimate_from_stats
from analysis.stats.results import EarliestErrorAgreement, Estimate

# Column layout of the per-solution statistics.
_VALID, _MATCH, _REF_ERR, _MATCH_ERR, _REF_CLEAN, _MATCH_CLEAN = range(6)


def first_error(step_codes: npt.ArrayLike, error_codes: Sequence[int]) -> np.ndarray:
    """Index of the first step labelled with an error code, per solution.

    Parameters
    ----------
    step_codes : array_like, shape (n_solutions, max_steps)
        Integer step labels in step order, NaN for unjudged steps and padding.
    error_codes : sequence of int
        The codes that mean "this step is erroneous".

    Returns
    -------
    ndarray of float64, shape (n_solutions,)
        Lowest step index with an error code; -1 when judged steps exist but none is an
        error; NaN when the solution has no judged step.
    """
    steps = np.asarray(step_codes, dtype=np.float64)
    if steps.ndim != 2:
        raise ValueError(f"step_codes must be 2-dimensional, got shape {steps.shape}")
    if len(error_codes) == 0:
        raise ValueError("error_codes must name at least one code")
    is_error = np.isin(steps, np.asarray(error_codes, dtype=np.float64))
    any_error = is_error.any(axis=1)
    judged = (~np.isnan(steps)).any(axis=1)
    first = np.where(any_error, is_error.argmax(axis=1), -1).astype(np.float64)
    return np.where(judged, first, np.nan)


def _as_first_errors(values: npt.ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    observed = arr[~np.isnan(arr)]
    if (observed != np.round(observed)).any() or (observed < -1).any():
        raise ValueError(f"{name} must hold step indices >= 0, -1 (no error) or NaN")
    return arr


def _paired(ref: npt.ArrayLike, judge: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r = _as_first_errors(ref, "first_error_ref")
    j = _as_first_errors(judge, "first_error_judge")
    if r.shape != j.shape:
        raise ValueError(f"first_error_judge has shape {j.shape}, expected {r.shape}")
    return r, j


def _solution_stats(ref: np.ndarray, judge: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(ref) & ~np.isnan(judge)
    match = valid & (ref == judge)
    ref_err = valid & (ref >= 0)
    ref_clean = valid & (ref == -1)
    columns = [valid, match, ref_err, match & ref_err, ref_clean, match & ref_clean]
    return np.column_stack(columns).astype(np.float64)


def _accuracies(sums: np.ndarray) -> np.ndarray:
    """(first-error, error, correct accuracy, F1) from summed stats, shape (..., 4)."""
    overall = sums[..., _MATCH] / sums[..., _VALID]
    on_error = sums[..., _MATCH_ERR] / sums[..., _REF_ERR]
    on_clean = sums[..., _MATCH_CLEAN] / sums[..., _REF_CLEAN]
    f1 = np.where(on_error + on_clean > 0, 2.0 * on_error * on_clean / (on_error + on_clean), 0.0)
    f1 = np.where(np.isnan(on_error) | np.isnan(on_clean), np.nan, f1)
    return np.stack([overall, on_error, on_clean, f1], axis=-1)


def earliest_error_agreement(
    first_error_ref: npt.ArrayLike,
    first_error_judge: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> EarliestErrorAgreement:
    """Exact-match accuracies of a judge's first-error step against a reference.

    Parameters
    ----------
    first_error_ref, first_error_judge : array_like, shape (n_solutions,)
        First erroneous step index, -1 for "no error", NaN for "not judged" (as returned by
        :func:`first_error`). Solutions NaN in either are dropped.
    clusters : array_like, shape (n_solutions,), optional
        Cluster of each solution for the bootstrap (e.g. the problem it solves).
    n_boot : int, default 0
        0 gives Wilson score intervals for the three accuracies (solutions treated as
        independent) and no interval for the F1; > 0 gives percentile cluster-bootstrap
        intervals for all four, from the same resamples.
    rng : numpy.random.Generator, optional
        Required when ``n_boot > 0``.
    confidence : float, default 0.95

    Returns
    -------
    EarliestErrorAgreement
        ``first_error_accuracy`` over all solutions; ``error_accuracy`` over solutions the
        reference found erroneous; ``correct_accuracy`` over those it found clean;
        ``processbench_f1`` their harmonic mean (0 when both are 0, NaN when either is
        undefined). ``n_items`` / ``n_pairs`` count the solutions each accuracy is over.

    References
    ----------
    Zheng, C. et al. (2024). ProcessBench: Identifying process errors in mathematical
    reasoning. arXiv:2412.06559.
    """
    check_confidence(confidence)
    check_bootstrap_args(n_boot, rng)
    ref, judge = _paired(first_error_ref, first_error_judge)
    stats = _solution_stats(ref, judge)
    totals = stats.sum(axis=0)
    values = _safe_accuracies(totals)
    counts = [int(totals[c]) for c in (_VALID, _REF_ERR, _REF_CLEAN)]
    hits = [int(totals[c]) for c in (_MATCH, _MATCH_ERR, _MATCH_CLEAN)]
    names = [
        "first-error exact-match accuracy",
        "first-error accuracy on erroneous solutions",
        "accuracy on clean solutions",
        "ProcessBench F1 (harmonic mean of error and correct accuracy)",
    ]
    nan = float("nan")
    # F1 combines both subsets, so it is over every usable solution.
    counts.append(counts[0])
    if n_boot == 0:
        estimates = []
        for value, n, k, name in zip(values[:3], counts[:3], hits, names[:3], strict=True):
            low, high = (
                proportion_confint(k, n, alpha=1.0 - confidence, method="wilson")
                if n > 0
                else (nan, nan)
            )
            label = f"{name}; Wilson {100 * confidence:g}% CI (independent solutions)"
            se = float(np.sqrt(value * (1.0 - value) / n)) if n > 0 else nan
            estimates.append(Estimate(value, float(low), float(high), se, n, n, label))
        f1_label = f"{names[3]}; no interval"
        estimates.append(Estimate(values[3], nan, nan, nan, counts[3], counts[3], f1_label))
        return EarliestErrorAgreement(*estimates)
    assert rng is not None  # narrowed by check_bootstrap_args
    keep = stats[:, _VALID] > 0
    labels = np.arange(ref.shape[0]) if clusters is None else np.asarray(clusters)
    sub_clusters = subset_clusters(labels, keep)
    # One set of resamples for all four metrics keeps them mutually consistent; each is an
    # estimate of summed statistics, so a streamed report (a SumsRecorder as rng) adds them up.
    if not isinstance(rng, Resampler):
        rng = Resampler.draw(sub_clusters, n_boot, rng)
    estimates = [
        estimate_from_stats(
            stats[keep],
            partial(_accuracy, column=column),
            clusters=sub_clusters,
            n_boot=n_boot,
            rng=rng,
            confidence=confidence,
            n_items=n,
            n_pairs=n,
            name=name,
        )  # fmt: skip
        for column, (n, name) in enumerate(zip(counts, names, strict=True))
    ]
    return EarliestErrorAgreement(*estimates)


def _accuracy(sums: np.ndarray, column: int) -> np.ndarray:
    """One of :func:`_accuracies`: a metric of its own, so that a record can name it."""
    return _accuracies(sums)[..., column]


def _safe_accuracies(totals: np.ndarray) -> list[float]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return [float(v) for v in _accuracies(totals)]
