"""The charts' Vega-Lite specs: which data each mark plots and from which column, so a chart
cannot silently plot the wrong one."""

import math
from urllib.parse import parse_qs, urlsplit

from analysis import charts
from analysis.schema import ChartRow, ResultRow, ShortfallRow

NAN = math.nan


def link(**kw) -> str:
    return charts.targets_url(project_slug="p", **kw)


def shortfall(slice_, value, gap, low, high, p_adj, human=0.65) -> ShortfallRow:
    return ShortfallRow("preference", slice_, value, "expert", "gpt-4", 0.6, human, gap, low,
                        high, p_adj, p_adj, "x", 100, False)  # fmt: skip


def layers(spec: dict) -> list[dict]:
    """The spec's layers, each with its data (Altair lifts data shared by all layers)."""
    return [
        {"data": spec.get("data"), **layer} if "data" not in layer else layer
        for layer in spec.get("layer", [spec])
    ]


def mark_type(layer: dict) -> str:
    mark = layer["mark"]
    return mark["type"] if isinstance(mark, dict) else mark


def test_it_plots_each_slices_gap_with_its_interval_and_bh_verdict():
    rows = [
        shortfall("all", "all", -0.023, -0.06, 0.012, 0.24),
        shortfall("turn", "2", -0.058, -0.107, -0.003, 0.01),
        shortfall("turn", "1", 0.011, -0.04, 0.06, 0.7),
    ]

    chart = charts.forest_chart(rows, link)

    zero, bars, points = layers(chart.spec)
    assert zero["data"]["values"] == [{"zero": 0}]
    assert zero["encoding"]["x"]["field"] == "zero"
    assert mark_type(bars) == "rule"
    assert (bars["encoding"]["x"]["field"], bars["encoding"]["x2"]["field"]) == (
        "ci_low",
        "ci_high",
    )
    assert points["encoding"]["x"]["field"] == "gap"
    assert points["encoding"]["color"]["field"] == "verdict"
    assert points["encoding"]["href"]["field"] == "href"
    values = {v["slice"]: v for v in points["data"]["values"]}
    assert values["turn 2"]["gap"] == -0.058 and values["turn 2"]["ci_low"] == -0.107
    assert values["turn 2"]["verdict"] == charts.BH_BELOW
    assert values["turn 1"]["verdict"] == charts.BH_NONE
    assert values["overall"]["verdict"] == charts.OVERALL_MARK
    assert parse_qs(urlsplit(values["turn 2"]["href"]).query)["slice"] == ["turn=2"]
    assert points["encoding"]["y"]["sort"] == ["overall", "turn 2", "turn 1"]


def test_it_draws_no_forest_without_a_ceiling():
    rows = [shortfall("all", "all", -0.14, -0.18, -0.1, NAN, human=NAN)]
    assert charts.forest_chart(rows, link) is None


def result(group_b, estimate, low, high, slice_="all", value="all", metric="percent_agreement"):
    return ResultRow("validity", slice_, value, "expert", group_b, metric, estimate, low, high,
                     40, 80, "")  # fmt: skip


def test_it_puts_the_ceiling_and_each_judge_with_error_bars():
    rows = [result("expert", 0.9, 0.85, 0.95), result("prm", 0.7, 0.6, 0.8),
            result("prm", 0.1, 0.0, 0.2, metric="cohen_kappa")]  # fmt: skip

    chart = charts.ceiling_chart(rows, "expert", ["validity"], link)

    whiskers, dots = layers(chart.spec)
    assert (whiskers["encoding"]["x"]["field"], whiskers["encoding"]["x2"]["field"]) == (
        "ci_low",
        "ci_high",
    )
    assert dots["encoding"]["x"]["field"] == "agreement"
    values = {
        (v["group"], v["agreement"], v["ci_low"], v["ci_high"]) for v in dots["data"]["values"]
    }
    assert values == {
        ("expert with each other", 0.9, 0.85, 0.95),
        ("prm with expert", 0.7, 0.6, 0.8),
    }


def test_it_orders_step_positions_as_the_slices_come():
    rows = [result("prm", 0.9, 0.8, 1.0, "step_position", "0"),
            result("prm", 0.8, 0.7, 0.9, "step_position", "3-4"),
            result("prm", 0.5, 0.4, 0.6, "step_position", "12+"),
            result("prm", 0.1, 0.0, 0.2, "subset", "math")]  # fmt: skip

    chart = charts.step_chart(rows, "expert", "validity", link)

    band, line = layers(chart.spec)
    assert line["encoding"]["x"]["sort"] == [
        "step position 0",
        "step position 3-4",
        "step position 12+",
    ]
    assert line["encoding"]["y"]["field"] == "agreement"
    assert (band["encoding"]["y"]["field"], band["encoding"]["y2"]["field"]) == (
        "ci_low",
        "ci_high",
    )
    assert [v["agreement"] for v in line["data"]["values"]] == [0.9, 0.8, 0.5]


def test_it_sets_judges_side_by_side_only_with_two_of_them():
    rows = [result("a", 0.9, 0.8, 1.0), result("b", 0.7, 0.6, 0.8)]
    assert charts.judges_chart(rows, "expert", "validity", ["a"], (), link) is None
    chart = charts.judges_chart(rows, "expert", "validity", ["a", "b"], (), link)
    _, dots = layers(chart.spec)
    assert dots["encoding"]["yOffset"]["field"] == "group"
    assert {v["judge"] for v in dots["data"]["values"]} == {"a", "b"}


def cell(ref, judge, count) -> ChartRow:
    return ChartRow("preference", "all", "all", "expert", "gpt-4", "confusion", ref, judge, NAN,
                    NAN, NAN, count)  # fmt: skip


def test_it_shows_confusion_counts_with_row_percentages():
    rows = [cell("a", "a", 6), cell("a", "b", 2), cell("b", "a", 0), cell("b", "b", 5)]

    chart = charts.confusion_chart(rows, ["a", "b"], link)

    cells, text = layers(chart.spec)
    assert cells["encoding"]["x"]["field"] == "judge"
    assert cells["encoding"]["y"]["field"] == "reference"
    assert cells["encoding"]["color"]["field"] == "row_share"
    assert text["encoding"]["text"]["field"] == "text"
    values = {(v["reference"], v["judge"]): v for v in cells["data"]["values"]}
    assert values[("a", "b")]["count"] == 2 and values[("a", "b")]["row_share"] == 0.25
    assert values[("a", "b")]["text"] == "2 (25%)"
    assert values[("b", "a")]["row_share"] == 0
    assert parse_qs(urlsplit(values[("a", "a")]["href"]).query)["agree"] == ["1"]


def offset(category, x, count) -> ChartRow:
    return ChartRow("validity", "all", "all", "expert", "prm", "first_error_offset", category, "",
                    x, NAN, NAN, count)  # fmt: skip


def test_it_orders_the_offset_histogram_from_too_early_to_missed():
    rows = [offset("missed", NAN, 4), offset("judge too late", 2, 1), offset("exact", 0, 7),
            offset("judge too early", -1, 3), offset("judge too early", -3, 2)]  # fmt: skip

    chart = charts.offset_chart(rows, link)

    spec = chart.spec
    assert spec["encoding"]["x"]["field"] == "bar"
    assert spec["encoding"]["y"]["field"] == "solutions"
    assert spec["encoding"]["x"]["sort"] == ["−3", "−1", "0", "+2", "missed"]
    assert [v["solutions"] for v in spec["data"]["values"]] == [2, 3, 7, 1, 4]


def point(curve, x, y, t, chosen=False) -> ChartRow:
    return ChartRow("validity", "all", "all", "expert", "prm", curve, "chosen" if chosen else "",
                    "", x, y, t, 0)  # fmt: skip


def test_it_draws_the_roc_curve_its_diagonal_and_the_chosen_threshold():
    rows = [point("roc", 0, 0, math.inf), point("roc", 0.2, 0.7, 0.5), point("roc", 1, 1, 0.1),
            point("roc", 0.2, 0.7, 0.45, chosen=True)]  # fmt: skip

    chart = charts.curve_chart(rows, "roc")

    diagonal, line, chosen = layers(chart.spec)
    assert diagonal["data"]["values"] == [{"x": 0, "y": 0}, {"x": 1, "y": 1}]
    assert (line["encoding"]["x"]["field"], line["encoding"]["y"]["field"]) == ("x", "y")
    assert line["encoding"]["x"]["title"] == "False positive rate"
    assert [v["y"] for v in line["data"]["values"]] == [0, 0.7, 1]
    assert line["data"]["values"][0]["threshold"] is None  # infinity is not JSON
    assert chosen["data"]["values"] == [{"x": 0.2, "y": 0.7, "threshold": 0.45, "chosen": True}]


def test_it_titles_the_pr_curve_with_recall_and_precision():
    rows = [point("pr", 0.5, 0.9, 0.5), point("pr", 1, 0.6, 0.1)]
    line, _ = layers(charts.curve_chart(rows, "pr").spec)
    assert (line["encoding"]["x"]["title"], line["encoding"]["y"]["title"]) == (
        "Recall",
        "Precision",
    )


def test_it_makes_every_chart_of_a_report_with_unique_names():
    shortfall_rows = [shortfall("all", "all", -0.02, -0.06, 0.01, 0.2),
                      shortfall("turn", "2", -0.06, -0.1, -0.01, 0.01)]  # fmt: skip
    results = [
        ResultRow("preference", "all", "all", "expert", "expert", "percent_agreement", 0.65, 0.6,
                  0.7, 700, 1400, ""),
        ResultRow("preference", "all", "all", "expert", "gpt-4", "percent_agreement", 0.66, 0.64,
                  0.68, 1600, 2600, ""),
    ]  # fmt: skip
    cells = [cell("a", "a", 3), cell("a", "b", 1), cell("b", "a", 1), cell("b", "b", 3)]

    made = charts.report_charts(project_slug="mt", results=results, shortfall=shortfall_rows,
                                chart_rows=cells,
                                labels={"preference": ["a", "b", "tie"]})  # fmt: skip

    names = [c.name for c in made]
    assert names == ["forest-preference-gpt-4", "ceiling-expert", "confusion-preference-gpt-4"]
    assert all(
        c.spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6") for c in made
    )
