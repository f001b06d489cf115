"""The report's headline sentences and drill-down links, from rows made up by hand."""

import math
from urllib.parse import parse_qs, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from analysis.headline import headline_texts, interval, number, slice_name
from analysis.links import targets_url
from analysis.schema import ResultRow, ShortfallRow

NAN = math.nan


def gap_row(slice_="all", value="all", gap=-0.023, low=-0.060, high=0.012, **kw) -> ShortfallRow:
    fields = dict(
        criterion="preference",
        slice=slice_,
        slice_value=value,
        reference_group="expert",
        judge_group="gpt-4",
        judge_agreement=0.63,
        human_agreement=0.653,
        gap=gap,
        ci_low=low,
        ci_high=high,
        p_value=0.2,
        p_adjusted=0.2,
        verdict="within expert noise",
        n_items=734,
        small_slice=False,
    )
    return ShortfallRow(**(fields | kw))


def test_it_prints_numbers_with_a_real_minus_and_an_interval():
    assert number(-0.0234) == "−0.023"
    assert interval(-0.058, -0.107, -0.003) == "−0.058 [−0.107, −0.003]"
    assert interval(0.5, NAN, NAN) == "0.500"
    assert number(NAN) == "n/a"


def test_it_names_slices_in_words():
    assert slice_name("all", "all") == "overall"
    assert slice_name("turn", "2") == "turn 2"
    assert slice_name("step_position", "3-4") == "step position 3-4"


def test_it_says_the_judge_is_at_the_ceiling_and_names_the_slice_below_it_after_bh():
    rows = [
        gap_row(),
        gap_row("turn", "2", -0.058, -0.107, -0.003, p_adjusted=0.01, verdict="below"),
        gap_row("turn", "1", 0.011, -0.04, 0.06, p_adjusted=0.7),
    ]

    (headline,) = headline_texts(rows)

    assert headline.verdict == "within expert noise"
    assert headline.text.startswith(
        "gpt-4 agrees with the expert group as often as they agree with each other on "
        "preference overall (gap −0.023 [−0.060, 0.012], 734 items)"
    )
    assert "below the ceiling on turn 2 (−0.058 [−0.107, −0.003])" in headline.text
    assert "turn 1" not in headline.text


def test_it_does_not_name_a_slice_whose_interval_misses_zero_but_fails_bh():
    rows = [gap_row(), gap_row("turn", "2", -0.058, -0.104, -0.001, p_adjusted=0.1)]

    (headline,) = headline_texts(rows)

    assert "turn 2" not in headline.text
    assert "no slice differs from the ceiling after Benjamini–Hochberg across 1 slices" in (
        headline.text
    )


def test_it_says_below_when_the_overall_gap_is_below_zero():
    (headline,) = headline_texts([gap_row(gap=-0.1, low=-0.15, high=-0.05, verdict="below")])
    assert headline.verdict == "below"
    assert "less often than they agree with each other" in headline.text


def test_it_shows_no_gap_without_a_ceiling_and_says_why():
    rows = [
        gap_row(human_agreement=NAN, judge_agreement=0.8575, gap=-0.1425, low=-0.18, high=-0.107,
                verdict="no human ceiling (one reference rater)", p_value=NAN, p_adjusted=NAN,
                n_items=400),
        gap_row("subset", "math", human_agreement=NAN, judge_agreement=0.76, gap=-0.24,
                low=-0.32, high=-0.15, p_value=NAN, p_adjusted=NAN, n_items=100),
    ]  # fmt: skip

    (headline,) = headline_texts(rows)

    assert headline.verdict == "no ceiling"
    assert "at 0.858 [0.820, 0.893] overall (400 items)" in headline.text
    assert "lowest on subset math (0.760 [0.680, 0.850])" in headline.text
    assert "gap" not in headline.text.split(".")[0]
    assert "one rater here" in headline.text


def test_it_words_a_score_judge_from_its_overall_roc_auc():
    auc = ResultRow("validity", "all", "all", "expert", "prm", "roc_auc", 0.81, 0.75, 0.86, 120,
                    0, "ROC-AUC")  # fmt: skip
    other = ResultRow("validity", "turn", "1", "expert", "prm", "roc_auc", 0.5, 0.4, 0.6, 60, 0, "")

    (headline,) = headline_texts([], [auc, other])

    assert headline.judge == "prm"
    assert "ROC-AUC 0.810 [0.750, 0.860]" in headline.text


def test_it_links_to_the_targets_with_encoded_parameters():
    url = targets_url(project_slug="mt-bench", criterion="pref & co", slice_key="category",
                      slice_value="a=b&c", group_a="expert", group_b="gpt-4",
                      agree=False)  # fmt: skip

    parts = urlsplit(url)
    assert parts.path == "/projects/mt-bench/review/targets/"
    assert parse_qs(parts.query) == {
        "criterion": ["pref & co"],
        "slice": ["category=a=b&c"],
        "group_a": ["expert"],
        "group_b": ["gpt-4"],
        "agree": ["0"],
    }


def test_it_leaves_the_overall_slice_and_agree_out_of_a_link():
    query = parse_qs(urlsplit(targets_url(project_slug="p", criterion="c")).query)
    assert query == {"criterion": ["c"]}


@given(st.text(), st.text(), st.text())
def test_it_keeps_any_slice_value_as_one_parameter(criterion, key, value):
    url = targets_url(
        project_slug="p", criterion=criterion, slice_key=key or "k", slice_value=value
    )
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert query["slice"] == [f"{key or 'k'}={value}"]


def test_it_links_a_within_group_number_to_that_groups_targets():
    url = targets_url(project_slug="p", criterion="c", group_a="expert", group_b="expert")
    assert parse_qs(urlsplit(url).query) == {"criterion": ["c"], "group_a": ["expert"]}
