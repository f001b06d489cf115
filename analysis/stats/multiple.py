"""Multiple-testing correction across slices."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from statsmodels.stats.multitest import multipletests

from analysis.stats.results import MultipleTestingResult


def benjamini_hochberg(p_values: npt.ArrayLike, *, alpha: float = 0.05) -> MultipleTestingResult:
    """Benjamini–Hochberg false-discovery-rate adjustment (statsmodels ``fdr_bh``).

    Parameters
    ----------
    p_values : array_like, shape (n_tests,)
        p-values in [0, 1]; NaN marks a test that could not be run and is left out of the
        adjustment (it does not count towards the number of tests).
    alpha : float, default 0.05
        False discovery rate.

    Returns
    -------
    MultipleTestingResult
        Adjusted p-values (NaN where the input was NaN) and rejection flags.

    References
    ----------
    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57(1).
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-dimensional, got shape {p.shape}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    present = ~np.isnan(p)
    if ((p[present] < 0) | (p[present] > 1)).any():
        raise ValueError("p_values must lie in [0, 1]")
    adjusted = np.full(p.shape, np.nan)
    reject = np.zeros(p.shape, dtype=bool)
    if present.any():
        flags, corrected, _, _ = multipletests(p[present], alpha=alpha, method="fdr_bh")
        adjusted[present] = corrected
        reject[present] = flags
    return MultipleTestingResult(p_adjusted=adjusted, reject=reject, alpha=alpha)
