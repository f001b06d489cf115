"""Biases of pairwise (A vs B) judges: position consistency and length preference."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt
from statsmodels.stats.proportion import proportion_confint

from analysis.stats._validate import as_codes, check_confidence
from analysis.stats.results import Estimate


def _wilson(successes: int, n: int, confidence: float, method: str) -> Estimate:
    nan = float("nan")
    if n == 0:
        return Estimate(nan, nan, nan, nan, 0, 0, method)
    p = successes / n
    low, high = proportion_confint(successes, n, alpha=1.0 - confidence, method="wilson")
    return Estimate(p, float(low), float(high), math.sqrt(p * (1.0 - p) / n), n, n, method)


def position_consistency(inconsistent: npt.ArrayLike, *, confidence: float = 0.95) -> Estimate:
    """Share of comparisons whose verdict survives swapping the answer order.

    Parameters
    ----------
    inconsistent : array_like, shape (n_comparisons,)
        1 where the judge's verdict changed when the answers were presented in the other
        order, 0 where it did not, NaN where the judge did not see both orders.
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        Fraction of comparisons with a known flag that are consistent, with a Wilson score
        interval (comparisons treated as independent). ``n_items``: comparisons with a known
        flag; ``n_pairs`` is 0, because the flag compares one judge with itself, not
        judgements of two raters. NaN when no flag is known.

    References
    ----------
    Zheng, L. et al. (2023). Judging LLM-as-a-judge with MT-Bench and Chatbot Arena
    (position bias, sec. 3.3). Wilson, E. B. (1927). Probable inference, the law of
    succession, and statistical inference. JASA 22.
    """
    check_confidence(confidence)
    flags = np.asarray(inconsistent, dtype=np.float64)
    if flags.ndim != 1:
        raise ValueError(f"inconsistent must be 1-dimensional, got shape {flags.shape}")
    known = flags[~np.isnan(flags)]
    if not np.isin(known, (0.0, 1.0)).all():
        raise ValueError("inconsistent must hold only 0, 1 or NaN")
    consistent = int((known == 0).sum())
    est = _wilson(consistent, known.shape[0], confidence, "proportion, Wilson score interval")
    return replace(est, n_pairs=0)


def longer_wins(
    verdicts: npt.ArrayLike,
    len_a: npt.ArrayLike,
    len_b: npt.ArrayLike,
    *,
    a_wins_code: int = 0,
    b_wins_code: int = 1,
    confidence: float = 0.95,
) -> Estimate:
    """Share of decisive verdicts that go to the longer answer.

    Parameters
    ----------
    verdicts : array_like, shape (n_comparisons,)
        Verdict codes, NaN for missing. Codes other than ``a_wins_code`` and ``b_wins_code``
        (ties, "both bad", ...) are left out.
    len_a, len_b : array_like, shape (n_comparisons,)
        Lengths of answers A and B (any consistent unit). Comparisons with equal lengths or a
        missing length are left out.
    a_wins_code, b_wins_code : int, default 0 and 1
        The verdict codes meaning "A is better" and "B is better".
    confidence : float, default 0.95

    Returns
    -------
    Estimate
        Fraction won by the longer answer (0.5 means no length preference), with a Wilson
        score interval. ``n_items`` / ``n_pairs``: decisive comparisons with unequal lengths.
        NaN when there are none.
    """
    check_confidence(confidence)
    if a_wins_code == b_wins_code:
        raise ValueError("a_wins_code and b_wins_code must differ")
    v = as_codes(verdicts, "verdicts", ndim=1)
    la = np.asarray(len_a, dtype=np.float64)
    lb = np.asarray(len_b, dtype=np.float64)
    for name, arr in (("len_a", la), ("len_b", lb)):
        if arr.shape != v.shape:
            raise ValueError(f"{name} has shape {arr.shape}, expected {v.shape}")
    decisive = (v == a_wins_code) | (v == b_wins_code)
    usable = decisive & ~np.isnan(la) & ~np.isnan(lb) & (la != lb)
    longer_is_a = la > lb
    winner_is_a = v == a_wins_code
    wins = int((usable & (longer_is_a == winner_is_a)).sum())
    method = f"longer answer wins; Wilson {100 * confidence:g}% CI"
    return _wilson(wins, int(usable.sum()), confidence, method)
