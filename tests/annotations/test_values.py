"""The one rule for which value fits which criterion (import, gold and submit all use it)."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.models import Criterion
from annotations.values import ValueRejected, ValueRule

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)


def rule(scale="nominal", labels=(), low=None, high=None) -> ValueRule:
    return ValueRule.of(Criterion(scale=scale, labels=list(labels), min_value=low, max_value=high))


def test_it_codes_a_label_by_its_position():
    validity = rule(labels=["correct", "incorrect"])
    assert validity.check("incorrect") == (1.0, '"incorrect"')
    assert validity.code("correct") == 0.0


def test_it_compares_labels_as_json():
    scores = rule("ordinal", [1, 2, 3, "4"])
    assert scores.code(2) == 1.0
    assert scores.code("4") == 3.0
    for value in ("2", 4, True, 1.5, None, [1]):
        with pytest.raises(ValueRejected, match='is not one of 1, 2, 3, "4"'):
            scores.code(value)


def test_it_keeps_true_and_one_apart():
    flags = rule(labels=[True, False, 1])
    assert flags.code(True) == 0.0
    assert flags.code(1) == 2.0
    with pytest.raises(ValueRejected):
        flags.code(1.0)  # compared as JSON text: 1.0 is not 1


def test_it_gives_pairwise_criteria_a_b_and_tie():
    preference = rule("pairwise")
    assert [preference.code(v) for v in ("a", "b", "tie")] == [0.0, 1.0, 2.0]
    with pytest.raises(ValueRejected, match='"A" is not one of "a", "b", "tie"'):
        preference.code("A")


def test_it_takes_interval_values_within_the_bounds():
    score = rule("interval", low=0, high=10)
    assert score.check(7) == (7.0, "7")
    assert score.check(2.5) == (2.5, "2.5")
    assert score.code(0) == 0.0 and score.code(10) == 10.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (11, "11 is outside 0 to 10"),
        (-0.5, "-0.5 is outside 0 to 10"),
        (math.nan, "NaN is outside 0 to 10"),
        (math.inf, "Infinity is outside 0 to 10"),
        (True, "true is not a number"),
        ("7", '"7" is not a number'),
        (None, "null is not a number"),
    ],
)
def test_it_rejects_interval_values_that_are_not_finite_numbers_in_range(value, message):
    with pytest.raises(ValueRejected) as exc:
        rule("interval", low=0, high=10).code(value)
    assert exc.value.message == message


@given(
    labels=st.lists(json_scalars, min_size=2, max_size=6, unique_by=json.dumps), value=json_scalars
)
def test_a_value_fits_exactly_when_its_json_is_a_labels_json(labels, value):
    nominal = rule(labels=labels)
    texts = [json.dumps(label) for label in labels]
    try:
        code = nominal.code(value)
    except ValueRejected:
        assert json.dumps(value) not in texts
    else:
        assert texts[int(code)] == json.dumps(value)


def test_it_says_whether_two_answers_are_the_same():
    score = rule("interval", low=0, high=10)
    assert score.same(5, 5.0)
    assert not score.same(True, 1)
    validity = rule(labels=["correct", "incorrect"])
    assert validity.same("correct", "correct")
    assert not validity.same("correct", "incorrect")


def test_it_builds_the_same_rule_from_fields_as_from_a_criterion():
    for scale, labels, low, high in [
        ("nominal", ["correct", "incorrect"], None, None),
        ("pairwise", [], None, None),
        ("interval", [], 0, 10),
    ]:
        fields = {"scale": scale, "labels": labels, "min_value": low, "max_value": high}
        assert ValueRule.build(**fields) == rule(scale, labels, low, high)
