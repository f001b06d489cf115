"""The native parser's short cut for well-formed judgement lines builds exactly the record
(or raises exactly the error) that the field-by-field path does."""

from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.importers.native import FieldError, _checked_judgement, _judgement
from annotations.importers.records import Origin

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=4)
)
small_dicts = st.dictionaries(st.text(max_size=3), scalars, max_size=2)
values = st.one_of(scalars, st.lists(scalars, max_size=2), small_dicts)
FIELDS = [
    "item", "criterion", "rater", "rater_kind", "rater_group", "value", "step", "rationale",
    "time_spent_ms", "meta", "rater_model", "rater_prompt_version", "rater_parameters",
]  # fmt: skip
lines = st.dictionaries(st.sampled_from(FIELDS), values, max_size=len(FIELDS))
good_line = st.fixed_dictionaries(
    {
        "item": st.text(max_size=4),
        "criterion": st.text(max_size=4),
        "rater": st.text(max_size=4),
        "value": scalars,
    },
    optional={
        "step": st.integers(0, 9),
        "rationale": st.text(max_size=4),
        "time_spent_ms": st.integers(0, 10),
        "meta": small_dicts,
    },
)


def outcome(build, obj):
    try:
        return ("record", build(obj, Origin("f", 1)))
    except FieldError as exc:
        return ("error", exc.field, exc.message)


@settings(max_examples=300, deadline=None)
@given(st.one_of(lines, good_line))
def test_the_short_cut_agrees_with_the_field_by_field_path(obj):
    assert outcome(_judgement, obj) == outcome(_checked_judgement, obj)
