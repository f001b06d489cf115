"""The report's charts as Vega-Lite specs, built with Altair from the stored rows.

Each builder is pure: rows in, a `Chart` (a name, a title, a sentence on how to read it, and
the spec as a dict) out. The page embeds the specs with the vendored vega-embed; the
self-contained HTML report renders the same specs to SVG. Data go into the spec inline
(``data.values``), each record carrying ``href``, the drill-down link of its mark.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import altair as alt

from analysis.headline import ALPHA, interval, significant, slice_name
from analysis.links import targets_url
from analysis.schema import ChartRow, ResultRow, ShortfallRow

WIDTH = 560
BH_BELOW = "below the ceiling (BH)"
BH_ABOVE = "above the ceiling (BH)"
BH_NONE = "not significant after BH"
OVERALL_MARK = "overall (unadjusted)"
VERDICT_COLOURS = {
    BH_BELOW: "#d1495b",
    BH_ABOVE: "#2e86ab",
    BH_NONE: "#8d99ae",
    OVERALL_MARK: "#1b1f24",
}
STEP_METRIC = "percent_agreement"
OFFSET_ORDER = (
    "judge too early",
    "exact",
    "judge too late",
    "missed",
    "false alarm",
    "both: no error",
)
OFFSET_COLOURS = ("#e07a5f", "#3d9970", "#f2a541", "#6c757d", "#9c6ade", "#adb5bd")


@dataclass(frozen=True)
class Chart:
    """One chart of a report: `name` is unique in the report (a file name for downloads)."""

    name: str
    title: str
    caption: str
    spec: dict


Link = Callable[..., str]


def _spec(chart: alt.TopLevelMixin) -> dict:
    return chart.to_dict(validate=True)


def _finite(value: float) -> float | None:
    return value if isinstance(value, int | float) and math.isfinite(value) else None


def _safe(*parts: str) -> str:
    text = "-".join(parts).lower()
    return "".join(c if c.isalnum() else "-" for c in text).strip("-")


def _link_for(project_slug: str) -> Link:
    def link(**kwargs) -> str:
        return targets_url(project_slug=project_slug, **kwargs)

    return link


# --- the shortfall forest plot ---------------------------------------------------------


def bh_verdict(row: ShortfallRow) -> str:
    """The colour class of one gap: the overall row, or a slice's verdict after BH."""
    if row.slice == "all":
        return OVERALL_MARK
    if significant(row):
        return BH_BELOW if row.gap < 0 else BH_ABOVE
    return BH_NONE


def forest_chart(rows: Sequence[ShortfallRow], link: Link) -> Chart | None:
    """Gap to the human ceiling per slice with its interval, the zero line, BH verdicts, for
    one (criterion, judge); None when the judge has no ceiling (one reference rater)."""
    rows = [r for r in rows if math.isfinite(r.human_agreement) and math.isfinite(r.gap)]
    if not rows:
        return None
    first = rows[0]
    records = [
        {
            "slice": slice_name(r.slice, r.slice_value) + (" (small)" if r.small_slice else ""),
            "gap": r.gap,
            "ci_low": _finite(r.ci_low),
            "ci_high": _finite(r.ci_high),
            "interval": interval(r.gap, r.ci_low, r.ci_high),
            "p_bh": _finite(r.p_adjusted),
            "verdict": bh_verdict(r),
            "n_items": r.n_items,
            "href": link(
                criterion=r.criterion,
                slice_key=r.slice,
                slice_value=r.slice_value,
                group_a=r.reference_group,
                group_b=r.judge_group,
            ),
        }
        for r in rows
    ]
    order = [rec["slice"] for rec in records]  # overall first, then the engine's gap order
    base = alt.Chart(alt.Data(values=records)).encode(
        y=alt.Y("slice:N", sort=order, title=None),
    )
    colour = alt.Color(
        "verdict:N",
        title=f"Verdict (BH, q = {ALPHA})",
        scale=alt.Scale(domain=list(VERDICT_COLOURS), range=list(VERDICT_COLOURS.values())),
        legend=alt.Legend(orient="bottom", columns=2),
    )
    tooltip = [
        alt.Tooltip("slice:N", title="Slice"),
        alt.Tooltip("interval:N", title="Gap [95% CI]"),
        alt.Tooltip("p_bh:Q", title="p (BH)", format=".3f"),
        alt.Tooltip("n_items:Q", title="Items"),
    ]
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(
            "ci_low:Q", title=f"Gap: {first.judge_group} minus {first.reference_group} ceiling"
        ),
        x2="ci_high:Q",
        color=colour,
    )
    points = base.mark_point(filled=True, size=70, cursor="pointer").encode(
        x="gap:Q", color=colour, tooltip=tooltip, href="href:N"
    )
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(strokeDash=[4, 3]).encode(x="zero:Q")
    chart = (zero + bars + points).properties(
        width=WIDTH, height=alt.Step(18), title=f"{first.criterion}: {first.judge_group}"
    )
    return Chart(
        name=_safe("forest", first.criterion, first.judge_group),
        title=f"Shortfall of {first.judge_group} on {first.criterion}, per slice",
        caption=(
            "Each dot is a slice's gap (judge's agreement with the reference minus the reference "
            "raters' leave-one-out agreement with each other), the line its 95% cluster-bootstrap "
            "interval; left of the dashed zero line the judge falls short. Colour: the verdict "
            "after Benjamini–Hochberg across the judge's slices. Click a dot for its targets."
        ),
        spec=_spec(chart),
    )


# --- judge vs ceiling, and judge vs judge ------------------------------------------------


def _agreement_records(
    results: Iterable[ResultRow], ref: str, criterion: str, slice_keys: Sequence[str], link: Link
) -> list[dict]:
    """Pairwise percent agreement within `ref` (the ceiling) and of every other group with
    `ref`, per slice of the given keys, each with its interval."""
    out = []
    for r in results:
        if r.criterion != criterion or r.metric != STEP_METRIC or r.group_a != ref:
            continue
        if r.slice not in slice_keys or not math.isfinite(r.estimate):
            continue
        within = r.group_b == ref
        out.append(
            {
                "slice": slice_name(r.slice, r.slice_value),
                "slice_key": r.slice,
                "group": f"{ref} with each other" if within else f"{r.group_b} with {ref}",
                "judge": r.group_b,
                "agreement": r.estimate,
                "ci_low": _finite(r.ci_low),
                "ci_high": _finite(r.ci_high),
                "interval": interval(r.estimate, r.ci_low, r.ci_high),
                "n_items": r.n_items,
                "href": link(
                    criterion=r.criterion,
                    slice_key=r.slice,
                    slice_value=r.slice_value,
                    group_a=r.group_a,
                    group_b=r.group_b,
                ),
            }
        )
    return out


def _dot_whisker(records: list[dict], y_title: str, colour_title: str) -> alt.LayerChart:
    order = list(dict.fromkeys(rec["slice"] for rec in records))
    base = alt.Chart(alt.Data(values=records)).encode(
        y=alt.Y("slice:N", sort=order, title=y_title),
        yOffset=alt.YOffset("group:N"),
        color=alt.Color("group:N", title=colour_title, legend=alt.Legend(orient="bottom")),
    )
    tooltip = [
        alt.Tooltip("group:N", title="Who"),
        alt.Tooltip("slice:N", title="Slice"),
        alt.Tooltip("interval:N", title="Agreement [95% CI]"),
        alt.Tooltip("n_items:Q", title="Items"),
    ]
    whiskers = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", title="Pairwise percent agreement", scale=alt.Scale(zero=False)),
        x2="ci_high:Q",
    )
    dots = base.mark_point(filled=True, size=60, cursor="pointer").encode(
        x="agreement:Q", tooltip=tooltip, href="href:N"
    )
    return (whiskers + dots).properties(width=WIDTH, height=alt.Step(14))


def ceiling_chart(
    results: Sequence[ResultRow], ref: str, criteria: Sequence[str], link: Link
) -> Chart | None:
    """Per criterion, overall: the reference raters' agreement with each other (the ceiling)
    and each other group's agreement with them, with 95% intervals as error bars."""
    records = []
    for criterion in criteria:
        for rec in _agreement_records(results, ref, criterion, ("all",), link):
            records.append(rec | {"slice": criterion})
    if not records:
        return None
    chart = _dot_whisker(records, "Criterion", "Agreement").properties(
        title=f"Judges vs the {ref} ceiling"
    )
    return Chart(
        name=_safe("ceiling", ref),
        title=f"Judges against the {ref} ceiling, per criterion",
        caption=(
            f"Dots: pairwise percent agreement of the {ref} raters with each other (the ceiling) "
            f"and of each other group with them; whiskers: 95% intervals. A judge whose dot sits "
            f"left of the ceiling agrees with the {ref} group less than its raters agree with "
            "each other."
        ),
        spec=_spec(chart),
    )


def judges_chart(
    results: Sequence[ResultRow],
    ref: str,
    criterion: str,
    judges: Sequence[str],
    slice_keys: Sequence[str],
    link: Link,
) -> Chart | None:
    """Several judges side by side on the same slices of one criterion (at least two)."""
    if len(judges) < 2:
        return None
    records = [
        rec
        for rec in _agreement_records(results, ref, criterion, ("all", *slice_keys), link)
        if rec["judge"] in judges or rec["judge"] == ref
    ]
    chart = _dot_whisker(records, "Slice", "Judge").properties(
        title=f"{criterion}: judges side by side"
    )
    return Chart(
        name=_safe("judges", criterion),
        title=f"Judges side by side on {criterion}",
        caption=(
            f"Each judge's pairwise percent agreement with the {ref} group on the same slices, "
            "with 95% intervals; the ceiling where the group has two raters or more."
        ),
        spec=_spec(chart),
    )


def step_chart(results: Sequence[ResultRow], ref: str, criterion: str, link: Link) -> Chart | None:
    """Agreement by step position (step criteria), per group, with 95% intervals."""
    records = _agreement_records(results, ref, criterion, ("step_position",), link)
    if not records:
        return None
    order = list(dict.fromkeys(rec["slice"] for rec in records))
    base = alt.Chart(alt.Data(values=records)).encode(
        x=alt.X("slice:N", sort=order, title="Step position (0 = first step)"),
        color=alt.Color("group:N", title="Agreement", legend=alt.Legend(orient="bottom")),
    )
    band = base.mark_errorbar(ticks=True).encode(
        y=alt.Y("ci_low:Q", title="Pairwise percent agreement", scale=alt.Scale(zero=False)),
        y2="ci_high:Q",
    )
    line = base.mark_line(point=alt.OverlayMarkDef(filled=True, size=50, cursor="pointer")).encode(
        y="agreement:Q",
        href="href:N",
        tooltip=[
            alt.Tooltip("group:N", title="Who"),
            alt.Tooltip("slice:N", title="Step position"),
            alt.Tooltip("interval:N", title="Agreement [95% CI]"),
            alt.Tooltip("n_items:Q", title="Items"),
        ],
    )
    chart = (band + line).properties(width=WIDTH, height=240, title=f"{criterion} by step")
    return Chart(
        name=_safe("steps", criterion),
        title=f"Agreement on {criterion} by step position",
        caption=(
            f"Pairwise percent agreement with the {ref} group on the steps at each position, "
            "with 95% intervals (items resampled)."
        ),
        spec=_spec(chart),
    )


# --- confusion, earliest-error offsets, score curves ---------------------------------


def confusion_chart(rows: Sequence[ChartRow], labels: Sequence[str], link: Link) -> Chart | None:
    """Reference consensus × judge consensus for one (criterion, judge): counts and row
    percentages (the share of the reference label's targets the judge gave each label)."""
    rows = [r for r in rows if r.chart == "confusion"]
    if not rows:
        return None
    first = rows[0]
    totals: dict[str, int] = {}
    for r in rows:
        totals[r.x_label] = totals.get(r.x_label, 0) + r.count
    records = []
    for r in rows:
        share = r.count / totals[r.x_label] if totals[r.x_label] else 0.0
        records.append(
            {
                "reference": r.x_label,
                "judge": r.y_label,
                "count": r.count,
                "row_share": share,
                "text": f"{r.count} ({share:.0%})",
                "agree": r.x_label == r.y_label,
                "href": link(
                    criterion=r.criterion,
                    group_a=r.group_a,
                    group_b=r.group_b,
                    agree=r.x_label == r.y_label,
                ),
            }
        )
    order = [str(label) for label in labels] or list(totals)
    base = alt.Chart(alt.Data(values=records)).encode(
        x=alt.X("judge:N", sort=order, title=f"{first.group_b} says", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("reference:N", sort=order, title=f"{first.group_a} consensus says"),
    )
    cells = base.mark_rect(cursor="pointer").encode(
        color=alt.Color(
            "row_share:Q", title="Row %", scale=alt.Scale(scheme="blues", domain=[0, 1])
        ),
        href="href:N",
        tooltip=[
            alt.Tooltip("reference:N", title=f"{first.group_a}"),
            alt.Tooltip("judge:N", title=f"{first.group_b}"),
            alt.Tooltip("count:Q", title="Targets"),
            alt.Tooltip("row_share:Q", title="Row %", format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=13).encode(
        text="text:N",
        color=alt.condition(alt.datum.row_share > 0.5, alt.value("white"), alt.value("black")),
    )
    side = max(60, 300 // max(len(order), 1))
    chart = (cells + text).properties(
        width=alt.Step(side), height=alt.Step(side), title=f"{first.criterion}: {first.group_b}"
    )
    return Chart(
        name=_safe("confusion", first.criterion, first.group_b),
        title=f"{first.group_a} consensus × {first.group_b} on {first.criterion}",
        caption=(
            f"Targets where both have a consensus label: rows are the {first.group_a} "
            f"consensus, columns {first.group_b}'s; each cell the count and the row "
            "percentage. The diagonal is agreement. Click a cell for its targets."
        ),
        spec=_spec(chart),
    )


def offset_label(category: str, offset: float) -> str:
    """The x label of one histogram bar: a signed offset, or the category without one."""
    if math.isfinite(offset):
        return "0" if offset == 0 else f"{int(offset):+d}".replace("-", "−")
    return category


def offset_chart(rows: Sequence[ChartRow], link: Link) -> Chart | None:
    """Histogram of where the judge puts each solution's first error relative to the
    reference: too early (negative offsets), exact, too late, missed, false alarm."""
    rows = [r for r in rows if r.chart == "first_error_offset"]
    if not rows:
        return None
    first = rows[0]
    rank = {name: i for i, name in enumerate(OFFSET_ORDER)}
    rows = sorted(rows, key=lambda r: (rank.get(r.x_label, 99), _finite(r.x) or 0.0))
    records = [
        {
            "bar": offset_label(r.x_label, r.x),
            "category": r.x_label,
            "offset": _finite(r.x),
            "solutions": r.count,
            "href": link(
                criterion=r.criterion,
                group_a=r.group_a,
                group_b=r.group_b,
                agree=r.x_label in ("exact", "both: no error"),
            ),
        }
        for r in rows
    ]
    order = [rec["bar"] for rec in records]
    chart = (
        alt.Chart(alt.Data(values=records))
        .mark_bar(cursor="pointer")
        .encode(
            x=alt.X(
                "bar:N",
                sort=order,
                title="Judge's first error step minus the reference's",
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("solutions:Q", title="Solutions"),
            color=alt.Color(
                "category:N",
                title=None,
                scale=alt.Scale(domain=list(OFFSET_ORDER), range=list(OFFSET_COLOURS)),
                legend=alt.Legend(orient="bottom", columns=3),
            ),
            href="href:N",
            tooltip=[
                alt.Tooltip("category:N", title="Where"),
                alt.Tooltip("offset:Q", title="Offset (steps)"),
                alt.Tooltip("solutions:Q", title="Solutions"),
            ],
        )
        .properties(width=WIDTH, height=220, title=f"{first.criterion}: {first.group_b}")
    )
    return Chart(
        name=_safe("first-error", first.criterion, first.group_b),
        title=f"Earliest error: {first.group_b} against {first.group_a} on {first.criterion}",
        caption=(
            "Per solution, the judge's first wrong step minus the reference consensus's: "
            "negative = the judge flags an error too early, 0 = the same step, positive = too "
            "late; 'missed' = the judge finds no error where the reference does, 'false alarm' "
            "the reverse."
        ),
        spec=_spec(chart),
    )


def curve_chart(rows: Sequence[ChartRow], curve: str) -> Chart | None:
    """A score judge's ROC or PR curve on the held-out half, with the chosen threshold."""
    rows = [r for r in rows if r.chart == curve]
    if not rows:
        return None
    first = rows[0]
    records = [
        {
            "x": r.x,
            "y": r.y,
            "threshold": _finite(r.threshold),
            "chosen": r.x_label == "chosen",
        }
        for r in rows
    ]
    x_title, y_title = ("False positive rate", "True positive rate")
    if curve == "pr":
        x_title, y_title = ("Recall", "Precision")
    unit = alt.Scale(domain=[0, 1])
    line_data = [rec for rec in records if not rec["chosen"]]
    chosen = [rec for rec in records if rec["chosen"]]
    tooltip = [
        alt.Tooltip("threshold:Q", title="Threshold", format=".4g"),
        alt.Tooltip("x:Q", title=x_title, format=".3f"),
        alt.Tooltip("y:Q", title=y_title, format=".3f"),
    ]
    line = (
        alt.Chart(alt.Data(values=line_data))
        .mark_line(interpolate="step-after" if curve == "pr" else "linear")
        .encode(
            x=alt.X("x:Q", title=x_title, scale=unit),
            y=alt.Y("y:Q", title=y_title, scale=unit),
            order=alt.Order("threshold:Q", sort="descending"),
            tooltip=tooltip,
        )
    )
    point = (
        alt.Chart(alt.Data(values=chosen))
        .mark_point(filled=True, size=110, shape="diamond", color="#d1495b")
        .encode(x="x:Q", y="y:Q", tooltip=tooltip)
    )
    layers = [line, point]
    if curve == "roc":
        diagonal = [{"x": 0, "y": 0}, {"x": 1, "y": 1}]
        layers.insert(
            0,
            alt.Chart(alt.Data(values=diagonal))
            .mark_line(strokeDash=[4, 3], color="#8d99ae")
            .encode(x="x:Q", y="y:Q"),
        )
    name = "ROC" if curve == "roc" else "Precision–recall"
    chart = alt.layer(*layers).properties(
        width=300, height=300, title=f"{name}: {first.group_b} on {first.criterion}"
    )
    return Chart(
        name=_safe(curve, first.criterion, first.group_b),
        title=f"{name} curve of {first.group_b} on {first.criterion}",
        caption=(
            f"On the held-out half of the items, against the {first.group_a} group's labels "
            "(positive = not an error). The diamond is the threshold chosen on the other half."
        ),
        spec=_spec(chart),
    )


# --- all charts of a report -------------------------------------------------------------


def report_charts(
    *,
    project_slug: str,
    results: Sequence[ResultRow],
    shortfall: Sequence[ShortfallRow],
    chart_rows: Sequence[ChartRow],
    labels: dict[str, list[str]] | None = None,
    slice_keys: Sequence[str] = (),
) -> list[Chart]:
    """Every chart of a report, in reading order; `labels` orders each criterion's labels."""
    link = _link_for(project_slug)
    labels = labels or {}
    charts: list[Chart | None] = []
    families: dict[tuple[str, str], list[ShortfallRow]] = {}
    for r in shortfall:
        families.setdefault((r.criterion, r.judge_group), []).append(r)
    charts.extend(forest_chart(rows, link) for rows in families.values())
    criteria = list(dict.fromkeys(r.criterion for r in results))
    refs = list(dict.fromkeys(r.reference_group for r in shortfall)) or list(
        dict.fromkeys(r.group_a for r in chart_rows)
    )
    for ref in refs:
        charts.append(ceiling_chart(results, ref, criteria, link))
    for criterion in criteria:
        judges = sorted({r.judge_group for r in shortfall if r.criterion == criterion})
        for ref in refs:
            charts.append(judges_chart(results, ref, criterion, judges, slice_keys, link))
            charts.append(step_chart(results, ref, criterion, link))
    groups: dict[tuple[str, str, str], list[ChartRow]] = {}
    for r in chart_rows:
        groups.setdefault((r.criterion, r.group_b, r.chart), []).append(r)
    for (criterion, _, chart), rows in groups.items():
        if chart == "confusion":
            charts.append(confusion_chart(rows, labels.get(criterion, []), link))
        elif chart == "first_error_offset":
            charts.append(offset_chart(rows, link))
        else:
            charts.append(curve_chart(rows, chart))
    return [c for c in charts if c is not None]
