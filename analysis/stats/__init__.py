"""Pure statistics for the agreement engine: no Django, no I/O, no global state.

Input conventions
-----------------
* Categorical judgements are integer codes ``0..k-1`` stored in **float** arrays, with
  ``np.nan`` for a missing judgement. Ordered scales (for weighted kappa, ordinal / interval
  alpha) use the code order as the scale order, with equally spaced codes.
* Multi-rater data is ``codes: (n_targets, n_raters)`` - one row per judged target (an output,
  a pairwise comparison, a solution step), one column per rater. Two groups judging the same
  targets are two matrices with the same rows. Per-target label vectors are ``(n_targets,)``.
* ``n_categories`` is the size of the label set; when optional it is inferred from the
  largest code. Gwet's AC1 requires it, because unused categories change chance agreement.
* ``clusters: (n_targets,)`` labels targets that must be resampled together (the steps of
  one solution share the solution's id). ``None`` resamples targets independently.
* Uncertainty: ``n_boot=0`` (the default) gives an analytic interval where a standard one
  exists (Cohen's kappa, correlations, binomial proportions) and a NaN interval otherwise;
  ``n_boot > 0`` with ``rng: numpy.random.Generator`` gives a percentile cluster-bootstrap
  interval computed for all resamples at once (see :mod:`analysis.stats.bootstrap`).
* Results are frozen dataclasses (:class:`Estimate` and friends) whatever the options.
  Malformed input (wrong shape, non-integer or out-of-range codes, bad options) raises
  ``ValueError``; well-formed data on which a statistic is undefined (no pairs, a single
  category, too few targets) gives ``value = nan`` with the counts showing why.
"""

from analysis.stats.agreement import consensus, percent_agreement
from analysis.stats.alpha import krippendorff_alpha, krippendorff_alpha_interval_values
from analysis.stats.alt_test import (
    AltTestResult,
    alt_test,
    alt_test_from_sums,
    alt_test_metric,
    alt_test_patterns,
    alt_test_stats,
)
from analysis.stats.bias import longer_wins, position_consistency
from analysis.stats.bootstrap import Resampler, SumsRecorder
from analysis.stats.calibration import (
    Threshold,
    average_precision,
    roc_auc,
    threshold_accuracy,
    threshold_choose,
)
from analysis.stats.correlation import correlation
from analysis.stats.correlation_table import MAX_CELLS as MAX_TABLE_CELLS
from analysis.stats.correlation_table import mean_grid, table_correlations
from analysis.stats.earliest_error import earliest_error_agreement, first_error
from analysis.stats.gap import gap_from_sums, gap_without_ceiling, human_ceiling_gap
from analysis.stats.judge_vs_judge import (
    JudgeComparison,
    comparison_from_sums,
    judge_accuracy_difference,
)
from analysis.stats.kappa import cohen_kappa
from analysis.stats.missed_errors import false_error_rate, missed_error_rate
from analysis.stats.multiple import benjamini_hochberg
from analysis.stats.multirater import fleiss_kappa, gwet_ac1
from analysis.stats.results import (
    EarliestErrorAgreement,
    Estimate,
    GapResult,
    MultipleTestingResult,
)
from analysis.stats.soft_labels import soft_agreement, soft_log_loss

__all__ = [
    "AltTestResult",
    "JudgeComparison",
    "alt_test",
    "alt_test_from_sums",
    "alt_test_metric",
    "alt_test_patterns",
    "alt_test_stats",
    "judge_accuracy_difference",
    "soft_agreement",
    "soft_log_loss",
    "EarliestErrorAgreement",
    "Estimate",
    "GapResult",
    "MultipleTestingResult",
    "Resampler",
    "SumsRecorder",
    "Threshold",
    "average_precision",
    "benjamini_hochberg",
    "cohen_kappa",
    "consensus",
    "correlation",
    "earliest_error_agreement",
    "false_error_rate",
    "first_error",
    "fleiss_kappa",
    "comparison_from_sums",
    "gap_from_sums",
    "mean_grid",
    "table_correlations",
    "MAX_TABLE_CELLS",
    "gap_without_ceiling",
    "gwet_ac1",
    "human_ceiling_gap",
    "krippendorff_alpha",
    "krippendorff_alpha_interval_values",
    "longer_wins",
    "missed_error_rate",
    "percent_agreement",
    "position_consistency",
    "roc_auc",
    "threshold_accuracy",
    "threshold_choose",
]
