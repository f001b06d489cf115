"""What a report page and the self-contained HTML report show, built once from the stored
rows: the headlines, the charts, and the tables with readable names and drill-down links."""

import math
from dataclasses import dataclass

from analysis import charts, selectors
from analysis.headline import Headline, headline_texts, interval, slice_name
from analysis.links import targets_url
from analysis.models import AgreementRun
from analysis.schema import ResultRow, ShortfallRow

METRIC_NAMES = {
    "percent_agreement": "Percent agreement",
    "percent_agreement_no_ties": "Percent agreement, ties left out",
    "fleiss_kappa": "Fleiss' kappa",
    "gwet_ac1": "Gwet's AC1",
    "krippendorff_alpha": "Krippendorff's alpha",
    "cohen_kappa": "Cohen's kappa",
    "cohen_kappa_linear": "Cohen's kappa, linear weights",
    "cohen_kappa_quadratic": "Cohen's kappa, quadratic weights",
    "gap": "Gap to the ceiling",
    "position_consistency": "Position consistency",
    "longer_answer_wins": "Longer answer wins",
    "first_error_accuracy": "First error step: accuracy",
    "error_accuracy": "First error, erroneous solutions",
    "correct_accuracy": "No error found, correct solutions",
    "processbench_f1": "ProcessBench F1",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
    "threshold_accuracy": "Accuracy at the chosen threshold",
    "spearman": "Spearman's rho",
    "kendall_tau": "Kendall's tau",
    "pearson": "Pearson's r",
}
# The statistics' method texts name the pairwise scale's tie by its code; a reader knows ties.
METHOD_WORDS = {"pairs with code 2 dropped": "ties left out"}


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def method_text(method: str) -> str:
    for code_words, words in METHOD_WORDS.items():
        method = method.replace(code_words, words)
    return method


@dataclass(frozen=True)
class ShortfallLine:
    row: ShortfallRow
    slice_label: str
    has_ceiling: bool
    gap_text: str
    agreement_text: str
    href: str


@dataclass(frozen=True)
class ResultLine:
    row: ResultRow
    slice_label: str
    groups: str
    metric: str
    method: str
    estimate_text: str
    note: str
    href: str


def shortfall_line(row: ShortfallRow, slug: str) -> ShortfallLine:
    has_ceiling = math.isfinite(row.human_agreement)
    return ShortfallLine(
        row=row,
        slice_label=slice_name(row.slice, row.slice_value),
        has_ceiling=has_ceiling,
        gap_text=interval(row.gap, row.ci_low, row.ci_high) if has_ceiling else "no gap",
        agreement_text=interval(row.judge_agreement, row.ci_low + 1, row.ci_high + 1),
        href=targets_url(
            project_slug=slug,
            criterion=row.criterion,
            slice_key=row.slice,
            slice_value=row.slice_value,
            group_a=row.reference_group,
            group_b=row.judge_group,
        ),
    )


def result_line(row: ResultRow, slug: str) -> ResultLine:
    within = row.group_a == row.group_b
    return ResultLine(
        row=row,
        slice_label=slice_name(row.slice, row.slice_value),
        groups=f"{row.group_a} with each other" if within else f"{row.group_b} with {row.group_a}",
        metric=metric_name(row.metric),
        method=method_text(row.method),
        estimate_text=interval(row.estimate, row.ci_low, row.ci_high),
        note=result_note(row),
        href=targets_url(
            project_slug=slug,
            criterion=row.criterion,
            slice_key=row.slice,
            slice_value=row.slice_value,
            group_a=row.group_a,
            group_b=row.group_b,
        ),
    )


def result_note(row: ResultRow) -> str:
    """Why a value may surprise, from the row itself."""
    if not math.isfinite(row.estimate):
        return "not defined here: " + _undefined_reason(row)
    return ""


def _undefined_reason(row: ResultRow) -> str:
    if row.n_items == 0:
        return "no target was judged by both sides"
    if "kappa" in row.metric or "alpha" in row.metric or "ac1" in row.metric:
        return "every paired label is the same, so chance agreement is total"
    return "too little data"


@dataclass(frozen=True)
class ChartItem:
    """A chart as a page shows it: the spec for the browser, or its SVG for the file."""

    title: str
    caption: str
    name: str
    spec: dict
    script_id: str
    svg: str = ""


@dataclass(frozen=True)
class ReportView:
    headlines: list[Headline]
    charts: list[ChartItem]
    shortfall: list[ShortfallLine]
    overall: list[ResultLine]
    reference_groups: list[str]
    no_ceiling: bool


def report_view(run: AgreementRun, *, max_shortfall: int = 50) -> ReportView:
    """Everything a finished run's page (or HTML file) shows, from its stored rows."""
    slug = run.project.slug
    results = selectors.result_rows(run=run)
    shortfall = selectors.shortfall_rows(run=run)
    overall = [r for r in results if r.slice == "all"]
    refs = list(dict.fromkeys(r.reference_group for r in shortfall))
    return ReportView(
        headlines=headline_texts(shortfall, overall),
        charts=[
            ChartItem(c.title, c.caption, c.name, c.spec, f"chart-spec-{i}")
            for i, c in enumerate(
                charts.report_charts(
                    project_slug=slug,
                    results=results,
                    shortfall=shortfall,
                    chart_rows=selectors.chart_rows(run=run),
                    labels=selectors.criterion_labels(run=run),
                    slice_keys=run.config.get("slice_keys", []),
                ),
                start=1,
            )
        ],
        shortfall=[shortfall_line(r, slug) for r in shortfall[:max_shortfall]],
        overall=[result_line(r, slug) for r in overall],
        reference_groups=refs,
        no_ceiling=any(not math.isfinite(r.human_agreement) for r in shortfall),
    )
