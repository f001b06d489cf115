"""How often a judge passes what the reference finds wrong: the missed-error rate.

An outcome-only judge (an answer checker, a final-answer match) passes a solution whose steps
are flawed but whose answer is right; a step judge calls a wrong step valid. Of the targets
whose reference label is an error, the missed-error rate is the share the judge labels as not
an error (1 - the judge's recall of errors). The other direction, errors the judge invents, is
the share of the reference's non-errors it calls errors (``false_error_rate``).
"""

import numpy as np
import numpy.typing as npt

from analysis.stats.bootstrap import Resampler, estimate_from_stats
from analysis.stats.results import Estimate


def missed_error_rate(
    reference_error: npt.ArrayLike,
    judge_error: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Share of the reference's errors that the judge does not call errors.

    Parameters
    ----------
    reference_error, judge_error : array_like, shape (n_targets,)
        1 (an error label), 0 (not an error) or NaN (no label / no consensus).
    clusters : array_like, shape (n_targets,), optional
        Targets resampled together (the steps of one solution).
    n_boot : int, default 0
        0 gives no interval; otherwise a percentile cluster-bootstrap interval.

    Returns
    -------
    Estimate
        NaN when the reference marks no judged target as an error. ``n_items`` and
        ``n_pairs``: the targets both labelled that the reference marks as errors.
    """
    return _rate(reference_error, judge_error, 1.0, clusters, n_boot, rng, confidence)


def false_error_rate(
    reference_error: npt.ArrayLike,
    judge_error: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike | None = None,
    n_boot: int = 0,
    rng: np.random.Generator | Resampler | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Share of the reference's non-errors that the judge calls errors (same conventions)."""
    return _rate(reference_error, judge_error, 0.0, clusters, n_boot, rng, confidence)


def _rate(reference, judge, condition, clusters, n_boot, rng, confidence) -> Estimate:
    ref = np.asarray(reference, dtype=np.float64)
    judged = np.asarray(judge, dtype=np.float64)
    if ref.ndim != 1 or judged.shape != ref.shape:
        raise ValueError(
            f"reference_error and judge_error must be 1-dimensional and of one shape, got "
            f"{ref.shape} and {judged.shape}"
        )
    for name, values in (("reference_error", ref), ("judge_error", judged)):
        if not np.isin(values[~np.isnan(values)], (0.0, 1.0)).all():
            raise ValueError(f"{name} must hold 1, 0 or NaN")
    kept = (ref == condition) & ~np.isnan(judged)
    flipped = (judged != condition) & kept
    target_stats = np.column_stack([flipped, kept]).astype(np.float64)  # (n_targets, 2)
    n = int(kept.sum())
    cluster_ids = None if clusters is None else np.asarray(clusters)
    n_items = n if cluster_ids is None else len(np.unique(cluster_ids[kept]))
    name = "missed-error rate" if condition == 1.0 else "false-error rate"
    return estimate_from_stats(
        target_stats,
        _share,
        clusters=clusters,
        n_boot=n_boot,
        rng=rng,
        confidence=confidence,
        n_items=n_items,
        n_pairs=n,
        name=f"{name} (share of the reference's {'errors' if condition else 'non-errors'})",
    )


def _share(sums: np.ndarray) -> np.ndarray:
    return sums[..., 0] / sums[..., 1]
