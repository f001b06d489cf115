"""The target list: consensus as the report computes it, agree/disagree on a hand-built study,
slices named as the report names them, parameters validated, a fixed number of queries."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import stats
from annotations.models import Item, Judgement
from annotations.review.filters import ItemFilter, TargetFilter
from annotations.review.slices import Slice
from annotations.review.targets import plain_consensus, targets_list
from tests.annotations.review.conftest import EXPECTED_EXPERT_MODEL, STEPS

pytestmark = pytest.mark.django_db


def listed(project, **params):
    filters = TargetFilter({k: str(v) for k, v in params.items()}, project=project)
    assert filters.is_valid(), filters.form.errors
    return targets_list(project=project, judgements=filters.qs, query=filters.query()).rows


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=1, max_size=6),
        min_size=1,
        max_size=20,
    )
)
def test_it_finds_the_consensus_the_report_finds(rows):
    """plain_consensus on counts == analysis.stats.consensus on the (targets, raters) matrix."""
    width = max(map(len, rows))
    codes = np.full((len(rows), width), np.nan)
    for t, row in enumerate(rows):
        for r, code in enumerate(row):
            codes[t, r] = np.nan if code is None else code
    reference = stats.consensus(codes, n_categories=4)
    for t, row in enumerate(rows):
        mine = plain_consensus(Counter(float(c) for c in row if c is not None))
        expected = None if np.isnan(reference[t]) else float(reference[t])
        assert mine == expected, row


def test_it_lists_where_two_groups_agree_and_disagree(study):
    def keys(rows):
        return {(r.external_id, r.step) for r in rows}

    base = {"criterion": "validity", "group_a": "expert", "group_b": "gpt-4"}
    assert keys(listed(study, **base, agree=0)) == {
        k for k, v in EXPECTED_EXPERT_MODEL.items() if v is False
    }
    assert keys(listed(study, **base, agree=1)) == {
        k for k, v in EXPECTED_EXPERT_MODEL.items() if v is True
    }
    every = listed(study, **base)
    assert {(r.external_id, r.step): r.agree for r in every} == EXPECTED_EXPERT_MODEL
    split = next(r for r in every if (r.external_id, r.step) == ("s1", 2))
    assert split.verdicts["expert"].consensus is None
    assert dict(split.verdicts["expert"].counts) == {"correct": 1, "incorrect": 1}
    assert set(split.verdicts) == {"expert", "gpt-4"}  # only the two groups compared are read


def test_it_compares_any_two_groups_by_an_explicit_loop(study):
    def majority(values):
        values = [v for v in values if v is not None]
        top = Counter(values).most_common()
        return top[0][0] if len(top) == 1 or top[0][1] > top[1][1] else None

    expected = {}
    for name, steps in STEPS.items():
        for step, (experts, crowd, _model) in enumerate(steps):
            a, b = majority(crowd), majority(experts)
            expected[(name, step)] = None if a is None or b is None else a == b
    rows = listed(study, criterion="validity", group_a="crowd", group_b="expert")
    assert {(r.external_id, r.step): r.agree for r in rows} == expected
    assert len(listed(study, criterion="validity", group_a="crowd", group_b="expert", agree=0)) == (
        sum(v is False for v in expected.values())
    )


def test_it_lists_every_target_with_every_group_in_item_and_step_order(study):
    rows = listed(study)
    assert len(rows) == 4 * 3 + 4  # steps on validity, items on solution_correct
    assert [(r.external_id, r.step) for r in rows][:4] == [
        ("s0", 0),
        ("s0", 1),
        ("s0", 2),
        ("s0", None),
    ]
    whole = next(r for r in rows if r.step is None and r.external_id == "s2")
    assert whole.criterion == "solution_correct"
    assert whole.verdicts["expert"].consensus == "yes"
    assert whole.verdicts["answer-check"].consensus == "no"


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("subset=math", {"s1", "s3"}),
        ("turn=2", {"s1", "s2"}),  # the report reads meta 2 and "2" both as "2"
        ("turn=1", {"s0"}),
        ("flag=True", {"s3"}),
        ("all=all", {"s0", "s1", "s2", "s3"}),
        ("nope=1", set()),
        ("solution_length=1-3", {"s0", "s1", "s2", "s3"}),
        ("solution_length=4+", set()),
    ],
)
def test_it_slices_items_as_the_report_names_slices(study, text, items):
    assert {r.external_id for r in listed(study, slice=text)} == items


def test_it_slices_steps_by_position_bins(study):
    rows = listed(study, criterion="validity", slice="step_position=1-2")
    assert {r.step for r in rows} == {1, 2} and len(rows) == 8


def test_its_meta_slices_match_the_reports_slicing(study):
    """Every (key, value) slice the report makes of the items' meta selects the same items."""
    from analysis.engine.slicing import _meta_slices  # the report's own rule

    class Data:
        item_meta = [i.meta for i in Item.objects.filter(project=study).order_by("pk")]
        target_item = np.arange(4)

    ids = list(
        Item.objects.filter(project=study).order_by("pk").values_list("external_id", flat=True)
    )
    for key in ("subset", "turn", "flag"):
        for _, value, mask in _meta_slices(Data, key):
            expected = {ids[i] for i in np.flatnonzero(mask)}
            got = set(
                Item.objects.filter(project=study)
                .filter(Slice(key, value).q(item="", step=None))
                .values_list("external_id", flat=True)
            )
            assert got == expected, (key, value)


@pytest.mark.parametrize(
    "params",
    [
        {"criterion": "nope"},
        {"group_a": "nobody", "group_b": "expert"},
        {"agree": "1"},  # agree needs two groups
        {"agree": "yes", "group_a": "expert", "group_b": "gpt-4"},
        {"group_a": "expert", "group_b": "expert"},
        {"slice": "no-equals-sign"},
        {"slice": "step_position=first"},
        {"slice": "x" * 600 + "=1"},
    ],
)
def test_it_rejects_parameters_that_do_not_fit_with_a_message(study, params):
    filters = TargetFilter(params, project=study)
    assert not filters.is_valid()
    assert filters.form.errors


def test_it_browses_items_by_text_meta_and_status(study, lead):
    from annotations.models import Assignment, GoldItem

    def found(**params):
        filters = ItemFilter(params, project=study)
        assert filters.is_valid(), filters.form.errors
        return set(filters.qs.values_list("external_id", flat=True))

    s1 = Item.objects.get(project=study, external_id="s1")
    s2 = Item.objects.get(project=study, external_id="s2")
    GoldItem.objects.create(item=s1, expected={})
    Assignment.objects.create(project=study, item=s2, user=lead, status="flagged", reason="x")
    assert found(q="s3") == {"s3"}
    assert found(q="step 2") == {"s0", "s1", "s2", "s3"}  # the steps' text
    assert found(meta="subset=gsm8k") == {"s0", "s2"}
    assert found(status="gold") == {"s1"}
    assert found(status="flagged") == {"s2"}
    assert found(status="judged", group="crowd") == {"s0", "s1", "s2", "s3"}
    assert found(status="unjudged", group="crowd") == set()
    assert not ItemFilter({"group": "crowd"}, project=study).is_valid()  # group needs a status


def test_it_finds_the_items_behind_a_qc_number(study, lead, django_user_model):
    """The QC page links here with rater, criterion and status: the items a rater judged (on
    a criterion), the gold items they judged, the items in their queue with a status."""
    from annotations.models import Assignment, GoldItem, Rater  # noqa: PLC0415

    def found(**params):
        filters = ItemFilter(params, project=study)
        assert filters.is_valid(), filters.form.errors
        return set(filters.qs.values_list("external_id", flat=True))

    items = {i.external_id: i for i in Item.objects.filter(project=study)}
    Judgement.objects.filter(rater__name="crowd_1", item__external_id="s3").delete()
    GoldItem.objects.create(item=items["s0"], expected={})
    GoldItem.objects.create(item=items["s3"], expected={})
    assert found(rater="crowd_1") == {"s0", "s1", "s2"}
    assert found(rater="crowd_1", status="gold") == {"s0"}
    assert found(criterion="solution_correct") == {"s0", "s1", "s2", "s3"}
    assert found(rater="crowd_0", criterion="solution_correct") == set()  # validity only

    carol = django_user_model.objects.create_user(username="carol", password="pw")
    Rater.objects.filter(project=study, name="crowd_0").update(user=carol)
    for name, status in (("s0", "skipped"), ("s1", "submitted"), ("s2", "flagged")):
        Assignment.objects.create(project=study, item=items[name], user=carol, status=status)
    Assignment.objects.create(project=study, item=items["s3"], user=lead, status="skipped")
    assert found(rater="crowd_0", status="skipped") == {"s0"}
    assert found(rater="crowd_0", status="submitted") == {"s1"}
    assert found(status="skipped") == {"s0", "s3"}
    assert not ItemFilter({"rater": "nobody"}, project=study).is_valid()
