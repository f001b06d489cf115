"""The agreement report as a pure computation: judgement arrays in, result rows out.

No Django here. `analysis.loading` turns a criterion's judgements into a `CriterionData`
(one code per judgement; targets and raters as integer indices); the report
(`engine.report`) slices the targets (`engine.slicing`), cuts each slice's arrays out
(`SliceArrays`) and hands them to the slice statistics (`engine.slice_stats`), which call
`analysis.stats` and know nothing of slices, criteria or rows. Keeping it pure lets the
benchmark time it against a bare numpy floor and lets tests feed it arrays directly.

Conventions: a *target* is what one judgement is about: a whole item, or one step of a
solution. Each group's judgements form a matrix ``(n_targets, n_raters_in_group)`` of codes,
NaN where a rater did not judge a target. Targets are resampled by item (cluster bootstrap),
so the steps of a solution move together.
"""

from analysis.engine.data import CriterionData, Group
from analysis.engine.report import Report, criterion_report, n_slices

__all__ = ["CriterionData", "Group", "Report", "criterion_report", "n_slices"]
