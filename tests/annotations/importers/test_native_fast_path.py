"""The native parser's two ways through a line: where msgspec decodes a line straight into its
record, the careful path (json.loads, then the same record types) builds exactly that record."""

import json

import msgspec
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from annotations.importers.errors import LineError, Origin
from annotations.importers.native import DECODER, parse_lines, read_line
from annotations.importers.records import ItemRecord, JudgementRecord

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


@settings(max_examples=300, deadline=None)
@given(st.one_of(lines, good_line))
def test_the_fast_path_agrees_with_the_careful_path(obj):
    line = json.dumps({"type": "judgement", **obj}, ensure_ascii=False).encode("utf-8", "replace")
    careful = read_line(line, Origin("f", 1))
    # Lines with an escape always take the careful path (it may hide a NUL).
    assume(b"\\u" not in line)
    (record,) = parse_lines([line], source="f")
    assert record == careful
    try:
        DECODER.decode(line)
    except msgspec.DecodeError:
        # What msgspec refuses is a bad line, or one the careful path reads more leniently:
        # nulls as absent fields, numeric ids as text, NaN and Infinity (not JSON) as numbers.
        assert isinstance(careful, LineError) or None in obj.values() or b"Infinity" in line


def test_it_reads_null_as_absent_and_numeric_ids_as_text():
    line = {"type": "judgement", "item": 5, "criterion": "c", "rater": "r", "value": 1}
    line |= {"rationale": None, "meta": None}

    (record,) = parse_lines([json.dumps(line).encode()], source="f")

    assert record == JudgementRecord(
        origin=Origin("f", 1), item="5", criterion="c", rater="r", value=1
    )


def test_it_names_the_field_and_what_it_must_be():
    lines = [
        {"type": "judgement", "item": "i", "criterion": "c", "rater": "r", "value": 1, "step": "2"},
        {"type": "judgement", "item": "i", "criterion": "c", "rater": "r"},
        {"type": "judgement", "item": "i", "criterion": "c", "rater": "r", "value": 1}
        | {"time_spent_ms": -1},
        {"type": "item", "id": "s", "kind": "solution", "steps": ["a", 2]},
        {"type": "item", "id": True, "kind": "pair"},
    ]

    errors = [str(e) for e in parse_lines([json.dumps(line).encode() for line in lines], "f")]

    assert errors == [
        "f line 1, field 'step': must be a 0-based step index, got \"2\"",
        "f line 2, field 'value': is required",
        "f line 3, field 'time_spent_ms': must not be negative",
        "f line 4, field 'steps': step 1 must be a string",
        "f line 5, field 'id': must be a string, got true",
    ]


def test_it_reads_text_lines_and_skips_blank_ones():
    item = {"type": "item", "id": "p", "kind": "pair"}

    records = list(parse_lines(["", json.dumps(item), "   "]))

    assert records == [ItemRecord(origin=Origin("", 2), external_id="p", kind="pair")]
