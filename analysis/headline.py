"""The headline of a report in words: per criterion and judge, what the numbers say.

`headline_texts` is pure (result rows in, sentences out) so the report page, the
self-contained HTML report and the lead's overview say the same thing; `headlines(run)` reads
a stored run's rows and calls it. Every number in a sentence is one of the rows' numbers, so
each can be found in a table of the report.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analysis import selectors
from analysis.schema import ResultRow, ShortfallRow

ALPHA = 0.05  # family-wise false discovery rate of the slice verdicts (Benjamini–Hochberg)
MAX_SLICES_NAMED = 3
SCORE_METRIC = "roc_auc"


@dataclass(frozen=True)
class Headline:
    """One sentence about one judge on one criterion, and the verdict it states."""

    criterion: str
    judge: str
    reference: str
    verdict: str  # above | below | within expert noise | insufficient data | no ceiling | score
    text: str


def number(value: float) -> str:
    """A statistic as printed in a sentence: three decimals, a real minus sign."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.3f}".replace("-", "−")


def interval(value: float, low: float, high: float) -> str:
    """``−0.023 [−0.060, 0.012]``, or the value alone without an interval."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return number(value)
    return f"{number(value)} [{number(low)}, {number(high)}]"


def slice_name(key: str, value: str) -> str:
    """How a slice reads in a sentence or a table: "overall", "turn 2", "step position 3-4"."""
    if key == "all":
        return "overall"
    return f"{key.replace('_', ' ')} {value}"


def significant(row: ShortfallRow) -> bool:
    """Whether a slice's gap differs from zero after Benjamini–Hochberg across the judge's
    slices (the overall row is its own test and keeps its unadjusted p-value)."""
    return math.isfinite(row.p_adjusted) and row.p_adjusted < ALPHA and math.isfinite(row.gap)


def headline_texts(
    shortfall: Sequence[ShortfallRow], results: Sequence[ResultRow] = ()
) -> list[Headline]:
    """The headlines of a report, one per (criterion, judge) in the order first seen.

    Label judges come from the shortfall rows: with a ceiling (two or more reference raters)
    the overall verdict and the slices whose gap stays significant after BH; without one, the
    plain agreement and the weakest slices, and no gap. Score judges (reward models) come
    from the overall ROC-AUC rows in `results`.
    """
    families: dict[tuple[str, str, str], list[ShortfallRow]] = {}
    for row in shortfall:
        families.setdefault((row.criterion, row.judge_group, row.reference_group), []).append(row)
    out = [_label_judge(key, rows) for key, rows in families.items()]
    out.extend(_score_judge(row) for row in _overall_scores(results))
    return out


def _label_judge(key: tuple[str, str, str], rows: list[ShortfallRow]) -> Headline:
    criterion, judge, ref = key
    overall = next((r for r in rows if r.slice == "all"), None)
    slices = [r for r in rows if r.slice != "all"]
    if overall is None:
        text = f"{judge} has no overall comparison with the {ref} group on {criterion}."
        return Headline(criterion, judge, ref, "insufficient data", text)
    if not math.isfinite(overall.human_agreement):
        return _without_ceiling(criterion, judge, ref, overall, slices)
    return _with_ceiling(criterion, judge, ref, overall, slices)


def _with_ceiling(
    criterion: str, judge: str, ref: str, overall: ShortfallRow, slices: list[ShortfallRow]
) -> Headline:
    gap = f"gap {interval(overall.gap, overall.ci_low, overall.ci_high)}"
    verdict = overall.verdict
    if verdict == "within expert noise":
        start = f"{judge} agrees with the {ref} group as often as they agree with each other"
    elif verdict == "below":
        start = f"{judge} agrees with the {ref} group less often than they agree with each other"
    elif verdict == "above":
        start = f"{judge} agrees with the {ref} group more often than they agree with each other"
    else:
        start = f"Too little data to compare {judge} with the {ref} group's own agreement"
    text = f"{start} on {criterion} overall ({gap}, {overall.n_items} items)"
    notable = sorted((r for r in slices if significant(r)), key=lambda r: r.gap)
    parts = [
        f"{'below' if r.gap < 0 else 'above'} the ceiling on {slice_name(r.slice, r.slice_value)}"
        f" ({interval(r.gap, r.ci_low, r.ci_high)})"
        for r in notable[:MAX_SLICES_NAMED]
    ]
    if len(notable) > MAX_SLICES_NAMED:
        parts.append(f"and {len(notable) - MAX_SLICES_NAMED} more slices")
    if parts:
        text += "; " + "; ".join(parts)
    elif slices:
        text += (
            f"; no slice differs from the ceiling after Benjamini–Hochberg across"
            f" {len(slices)} slices"
        )
    return Headline(criterion, judge, ref, verdict, text + ".")


def _without_ceiling(
    criterion: str, judge: str, ref: str, overall: ShortfallRow, slices: list[ShortfallRow]
) -> Headline:
    agreement = interval(overall.judge_agreement, overall.ci_low + 1, overall.ci_high + 1)
    text = (
        f"{judge} agrees with the single {ref} rater on {criterion} at {agreement} overall"
        f" ({overall.n_items} items)"
    )
    ranked = sorted(
        (r for r in slices if math.isfinite(r.judge_agreement) and not r.small_slice),
        key=lambda r: r.judge_agreement,
    )
    if ranked and ranked[0].judge_agreement < overall.judge_agreement:
        low = ranked[0]
        text += (
            f"; lowest on {slice_name(low.slice, low.slice_value)} "
            f"({interval(low.judge_agreement, low.ci_low + 1, low.ci_high + 1)})"
        )
    text += (
        f". No gap to a ceiling: the {ref} group has one rater here, so there is no"
        " human-vs-human agreement to compare with."
    )
    return Headline(criterion, judge, ref, "no ceiling", text)


def _overall_scores(results: Iterable[ResultRow]) -> list[ResultRow]:
    return [r for r in results if r.metric == SCORE_METRIC and r.slice == "all"]


def _score_judge(row: ResultRow) -> Headline:
    auc = interval(row.estimate, row.ci_low, row.ci_high)
    text = (
        f"{row.group_b} separates correct from wrong targets of {row.criterion} (by the "
        f"{row.group_a} group's labels) with ROC-AUC {auc} on the held-out half"
        f" ({row.n_items} targets)."
    )
    return Headline(row.criterion, row.group_b, row.group_a, "score", text)


def headlines(run) -> list[Headline]:
    """The headlines of a stored, finished run (see `headline_texts`)."""
    return headline_texts(*selectors.headline_inputs(run_ids=[run.pk])[run.pk])
