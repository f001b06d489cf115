"""RunConfig: the one place run settings are validated; the schema the result tables share."""

import dataclasses

import pytest

from analysis.config import MAX_BOOT, RunConfig, RunConfigError
from analysis.exports import AGREEMENT_COLUMNS, DISAGREEMENT_COLUMNS, SHORTFALL_COLUMNS
from analysis.models import AgreementResult, Disagreement, ShortfallResult
from analysis.schema import DisagreementRow, ResultRow, ShortfallRow, column_names


def test_it_fills_defaults_and_normalises_loose_input():
    config = RunConfig.from_input(
        {"slice_keys": [" turn", "", "category "], "reference_group": "", "n_boot": "50"}
    )

    assert config == RunConfig(slice_keys=("turn", "category"), n_boot=50)
    assert config.reference_group is None and config.min_slice_items == 30


def test_it_round_trips_through_the_stored_json():
    config = RunConfig(criteria=("preference",), slice_keys=("turn",), n_boot=0, seed=4)

    assert RunConfig.from_input(config.as_dict()) == config
    assert config.as_dict()["slice_keys"] == ["turn"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"n_boot": -1}, "n_boot"),
        ({"n_boot": MAX_BOOT + 1}, "n_boot"),
        ({"n_boot": "many"}, "n_boot"),
        ({"n_boot": True}, "n_boot"),
        ({"seed": -3}, "seed"),
        ({"min_slice_items": -1}, "min_slice_items"),
        ({"min_slice_items": 2.5}, "min_slice_items"),
        ({"slice_keys": "turn"}, "slice_keys"),
    ],
)
def test_it_rejects_a_bad_setting_and_names_it(data, field):
    with pytest.raises(RunConfigError) as raised:
        RunConfig.from_input(data)

    assert raised.value.field == field


def test_it_accepts_the_bootstrap_cap_and_validates_direct_construction_too():
    assert RunConfig(n_boot=MAX_BOOT).n_boot == MAX_BOOT
    with pytest.raises(RunConfigError, match="between 0 and 20000"):
        RunConfig(n_boot=MAX_BOOT + 1)


@pytest.mark.parametrize(
    ("row_type", "model", "extra"),
    [(ResultRow, AgreementResult, []), (ShortfallRow, ShortfallResult, ["rank"]),
     (DisagreementRow, Disagreement, [])],
)  # fmt: skip
def test_the_tables_have_exactly_the_schema_columns(row_type, model, extra):
    stored = {f.name for f in model._meta.concrete_fields} - {"id", "run"}

    assert stored == {*column_names(row_type), *extra}


def test_the_csv_columns_follow_the_schema_and_include_the_method():
    assert [f.name for f in dataclasses.fields(ResultRow)] == AGREEMENT_COLUMNS
    assert AGREEMENT_COLUMNS[-1] == "method"
    assert ["rank", *column_names(ShortfallRow)] == SHORTFALL_COLUMNS
    assert column_names(DisagreementRow) == DISAGREEMENT_COLUMNS
