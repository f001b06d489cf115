"""Model agreement with human experts versus the experts' own (leave-one-out) agreement."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from analysis.stats._validate import (
    as_codes,
    category_counts,
    check_confidence,
    check_same_length,
    include_tie_code,
    resolve_n_categories,
)
from analysis.stats.bootstrap import (
    Resampler,
    SumsRecorder,
    bootstrap_label,
    bootstrap_se,
    check_bootstrap_args,
    percentile_interval,
    resample_sums,
)
from analysis.stats.results import Estimate, GapResult, GapVerdict


def _one_hot(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """(n_targets, n_raters) codes -> (n_targets, n_raters, n_categories) indicators."""
    out = np.zeros((*codes.shape, n_categories))
    rows, cols = np.nonzero(~np.isnan(codes))
    out[rows, cols, codes[rows, cols].astype(np.int64)] = 1.0
    return out


def leave_one_out_stats(
    model_codes: np.ndarray,
    human_codes: np.ndarray,
    n_categories: int,
    tie_code: int | None,
) -> np.ndarray:
    """Per-target agreement counts of each expert and of the model with the other experts.

    Parameters
    ----------
    model_codes : ndarray, shape (n_targets, n_model_raters)
    human_codes : ndarray, shape (n_targets, n_experts)
    n_categories : int
    tie_code : int or None
        Judgements with this code are left out of every pair.

    Returns
    -------
    ndarray of float64, shape (n_targets, 4 * n_experts)
        Blocks of ``n_experts`` columns: expert-vs-rest agreeing pairs, expert-vs-rest pairs,
        model-vs-rest agreeing pairs, model-vs-rest pairs. Expert ``e`` counts on a target
        only if ``e``, at least one other expert and the model all judged it, so both sides
        of the comparison cover exactly the same targets and experts.
    """
    experts = _one_hot(human_codes, n_categories)
    model = category_counts(model_codes, n_categories).astype(np.float64)
    if tie_code is not None:
        experts[..., tie_code] = 0.0
        model[:, tie_code] = 0.0
    rest = experts.sum(axis=1, keepdims=True) - experts
    n_rest = rest.sum(axis=2)
    n_model = model.sum(axis=1)
    eligible = (experts.sum(axis=2) > 0) & (n_rest > 0) & (n_model > 0)[:, None]
    human_agree = (experts * rest).sum(axis=2) * eligible
    human_pairs = n_rest * eligible
    model_agree = (model[:, None, :] * rest).sum(axis=2) * eligible
    model_pairs = n_model[:, None] * n_rest * eligible
    return np.concatenate([human_agree, human_pairs, model_agree, model_pairs], axis=1)


def _mean_over_experts(agree: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    # Experts without pairs (in the data or in a resample) are left out of the mean.
    has = pairs > 0
    rates = np.divide(agree, pairs, out=np.zeros_like(agree), where=has)
    return rates.sum(axis=-1) / has.sum(axis=-1)


def _gap_metrics(sums: np.ndarray) -> np.ndarray:
    """(model agreement, human agreement, gap) from summed stats, shape (..., 3)."""
    agree_h, pairs_h, agree_m, pairs_m = np.split(sums, 4, axis=-1)
    human = _mean_over_experts(agree_h, pairs_h)
    model = _mean_over_experts(agree_m, pairs_m)
    return np.stack([model, human, model - human], axis=-1)


def bootstrap_p_value(replicates: np.ndarray) -> float:
    """Two-sided bootstrap p-value for a zero difference, with +1 smoothing.

    ``p = min(1, 2 * min(1 + #(g <= 0), 1 + #(g >= 0)) / (B + 1))`` over the finite
    replicates ``g``; NaN when there are none.
    """
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan")
    at_or_below = 1 + int((finite <= 0).sum())
    at_or_above = 1 + int((finite >= 0).sum())
    return min(1.0, 2.0 * min(at_or_below, at_or_above) / (finite.size + 1))


def human_ceiling_gap(
    model_codes: npt.ArrayLike,
    human_codes: npt.ArrayLike,
    *,
    rng: np.random.Generator | Resampler,
    n_boot: int = 1000,
    n_categories: int | None = None,
    tie_code: int | None = None,
    clusters: npt.ArrayLike | None = None,
    confidence: float = 0.95,
) -> GapResult:
    """Compare model-vs-expert agreement with the experts' leave-one-out agreement.

    For each expert ``e``: the human side is the pooled percent agreement between ``e`` and
    the other experts; the model side is the pooled percent agreement between the model's
    judgements and the same other experts, on the same targets. Each side is averaged over
    experts (every expert weighs the same), and ``gap = model - human``. Both sides are
    resampled together (paired cluster bootstrap), so the gap interval accounts for their
    correlation.

    Parameters
    ----------
    model_codes : array_like, shape (n_targets, n_model_raters)
        The model's category codes (one column per run or sample), NaN for missing.
    human_codes : array_like, shape (n_targets, n_experts)
        Expert codes on the same targets, NaN for missing; at least two experts.
    rng : numpy.random.Generator
    n_boot : int, default 1000
        Must be > 0: the verdict comes from the bootstrap interval.
    n_categories : int, optional
        Inferred from the largest code when omitted.
    tie_code : int, optional
        When given, judgements with this code are dropped from every pair ("without ties").
    clusters : array_like, shape (n_targets,), optional
        Cluster of each target (e.g. the solution a step belongs to).
    confidence : float, default 0.95

    Returns
    -------
    GapResult
        Verdict "above" when the gap interval lies above 0, "below" when it lies below 0,
        "within expert noise" otherwise, "insufficient data" when the gap or its interval is
        undefined. ``n_items``: targets with at least one eligible expert; ``n_pairs``:
        ordered (expert, other expert) pairs for the human side and (model judgement, other
        expert) pairs for the model side, summed over experts.
    """
    check_confidence(confidence)
    check_bootstrap_args(n_boot, rng)
    if n_boot == 0:
        raise ValueError("n_boot must be > 0: the verdict needs a bootstrap interval")
    model = as_codes(model_codes, "model_codes", ndim=2)
    human = as_codes(human_codes, "human_codes", ndim=2)
    check_same_length(model.shape[0], human, "human_codes")
    if human.shape[1] < 2:
        raise ValueError(f"human_codes needs at least 2 expert columns, got {human.shape[1]}")
    k = include_tie_code(
        tie_code, resolve_n_categories([model, human], n_categories), n_categories is not None
    )
    stats = leave_one_out_stats(model, human, k, None if tie_code is None else int(tie_code))
    n_experts = human.shape[1]
    n_items = int((stats[:, n_experts : 2 * n_experts] > 0).any(axis=1).sum())
    if isinstance(rng, SumsRecorder):
        # A chunk of a streamed report: keep the sums; the merge finishes them (here the
        # chunk's own result has no interval, as estimate_from_stats gives a recorder).
        rng.record(stats, _gap_metrics, clusters, n_items, 0, GAP_RECORD)
        boot_sums = np.full((0, stats.shape[1]), np.nan)
    else:
        boot_sums = resample_sums(stats, clusters=clusters, n_boot=n_boot, rng=rng)
    return gap_from_sums(
        stats.sum(axis=0),
        boot_sums,
        n_items=n_items,
        tie_code=tie_code,
        interval_label=bootstrap_label(n_boot, confidence),
        confidence=confidence,
    )


GAP_RECORD = "human ceiling gap"


def gap_from_sums(
    totals: np.ndarray,
    boot_sums: np.ndarray,
    *,
    n_items: int,
    tie_code: int | None,
    interval_label: str,
    confidence: float,
) -> GapResult:
    """The gap, its interval, p-value and verdict from the summed leave-one-out statistics:
    ``totals`` (4 * n_experts,) over the data and ``boot_sums`` (n_boot, 4 * n_experts) over
    each resample. :func:`human_ceiling_gap` and the merge of a streamed report both finish
    here, so the two give the same result from the same sums."""
    with np.errstate(divide="ignore", invalid="ignore"):
        values = _gap_metrics(totals)
        replicates = np.asarray(_gap_metrics(boot_sums), dtype=np.float64)
    n_experts_total = totals.shape[0] // 4
    pairs_h = totals[n_experts_total : 2 * n_experts_total]
    pairs_m = totals[3 * n_experts_total :]
    ties = "" if tie_code is None else f", pairs with code {tie_code} dropped"
    label = interval_label
    names = [
        f"model vs other experts, mean over experts of pooled percent agreement{ties}",
        f"expert vs other experts (leave-one-out), mean over experts{ties}",
        "model minus human agreement; paired",
    ]
    n_pairs = [int(pairs_m.sum()), int(pairs_h.sum()), int(pairs_m.sum())]
    estimates = []
    for column in range(3):
        low, high = percentile_interval(replicates[:, column], confidence)
        estimates.append(
            Estimate(
                float(values[column]),
                low,
                high,
                bootstrap_se(replicates[:, column]),
                n_items,
                n_pairs[column],
                f"{names[column]} {label}" if column == 2 else f"{names[column]}; {label}",
            )
        )
    gap = estimates[2]
    return GapResult(
        model_agreement=estimates[0],
        human_agreement=estimates[1],
        gap=gap,
        p_value=bootstrap_p_value(replicates[:, 2]),
        verdict=_verdict(gap),
        n_experts=int((pairs_h > 0).sum()),
    )


def gap_without_ceiling(agreement: Estimate) -> Estimate:
    """The shortfall of a judge when the reference has no ceiling: agreement minus 1.

    With a single reference rater there is no human-vs-human agreement to compare with, so
    the judge is ranked by how far its agreement falls short of perfect agreement.

    Parameters
    ----------
    agreement : Estimate
        The judge's agreement with the reference (e.g. :func:`percent_agreement`).

    Returns
    -------
    Estimate
        ``agreement - 1`` with the interval shifted alike; ``se`` and the counts unchanged.
    """
    return Estimate(
        agreement.value - 1,
        agreement.ci_low - 1,
        agreement.ci_high - 1,
        agreement.se,
        agreement.n_items,
        agreement.n_pairs,
        "agreement minus 1 (no ceiling)",
    )


def _verdict(gap: Estimate) -> GapVerdict:
    if not (np.isfinite(gap.value) and gap.has_interval):
        return "insufficient data"
    if gap.ci_low > 0:
        return "above"
    if gap.ci_high < 0:
        return "below"
    return "within expert noise"
