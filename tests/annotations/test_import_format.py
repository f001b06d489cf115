"""README's "Import format" section documents the format that records.py defines."""

from pathlib import Path

import msgspec
import pytest

from annotations.importers.records import (
    CriterionRecord,
    ItemRecord,
    JudgementRecord,
    ScoreRecord,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def import_format_section() -> str:
    text = README.read_text()
    start = text.index("## Import format")
    return text[start : text.index("\n## ", start + 1)]


@pytest.mark.parametrize("record_type", [CriterionRecord, ItemRecord, JudgementRecord, ScoreRecord])
def test_it_names_every_field_of_every_line_type(record_type):
    section = import_format_section()
    tag = record_type.__struct_config__.tag
    names = [f.encode_name for f in msgspec.structs.fields(record_type) if f.name != "origin"]

    assert f'"type": "{tag}"' in section
    assert [name for name in names if f"`{name}`" not in section] == []


@pytest.mark.parametrize("record_type", [CriterionRecord, ItemRecord, JudgementRecord, ScoreRecord])
def test_it_describes_every_field_for_the_parser_errors(record_type):
    names = {f.encode_name for f in msgspec.structs.fields(record_type) if f.name != "origin"}
    assert names - {"value"} == set(record_type.DESCRIPTIONS)
