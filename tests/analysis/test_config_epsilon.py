"""The alternative annotator test's epsilon in RunConfig: a default and per-group overrides."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.config import RunConfig, RunConfigError


def test_it_defaults_to_the_papers_epsilon_for_experts_and_overrides_per_group() -> None:
    config = RunConfig.from_input({"epsilon": "0.15", "group_epsilons": ["crowd=0.1"]})

    assert RunConfig().epsilon == 0.2
    assert config.epsilon_for("crowd") == 0.1
    assert config.epsilon_for("expert") == 0.15


@pytest.mark.parametrize(
    "given_pairs",
    [{"expert": "0.1", "crowd": 0}, [["expert", 0.1], ["crowd", 0]], ["expert=0.1", "crowd=0"]],
)
def test_it_reads_group_epsilons_from_a_mapping_pairs_or_cli_text(given_pairs) -> None:
    config = RunConfig.from_input({"group_epsilons": given_pairs})

    assert config.group_epsilons == (("crowd", 0.0), ("expert", 0.1))
    assert RunConfig.from_input(config.as_dict()) == config


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"epsilon": 1.5}, "epsilon"),
        ({"epsilon": -0.1}, "epsilon"),
        ({"epsilon": "nan"}, "epsilon"),
        ({"epsilon": "lots"}, "epsilon"),
        ({"epsilon": True}, "epsilon"),
        ({"group_epsilons": ["expert"]}, "group_epsilons"),
        ({"group_epsilons": ["expert=0.1", "expert=0.2"]}, "group_epsilons"),
        ({"group_epsilons": ["=0.1"]}, "group_epsilons"),
        ({"group_epsilons": "expert=0.1"}, "group_epsilons"),
        ({"group_epsilons": {"expert": "inf"}}, "group_epsilons"),
    ],
)
def test_it_rejects_a_bad_epsilon_and_names_the_setting(data: dict, field: str) -> None:
    with pytest.raises(RunConfigError) as raised:
        RunConfig.from_input(data)

    assert raised.value.field == field


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(RunConfigError, match="from 0 to 1"):
        RunConfig(epsilon=2.0)
    with pytest.raises(RunConfigError, match="pairs"):
        RunConfig(group_epsilons=(("expert",),))


LOOSE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(
        st.one_of(st.text(max_size=12), st.tuples(st.text(max_size=5), st.floats())), max_size=4
    ),
    st.dictionaries(st.text(max_size=5), st.one_of(st.floats(), st.text(max_size=5)), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(epsilon=LOOSE, group_epsilons=LOOSE)
def test_any_input_gives_a_valid_config_or_a_named_error(epsilon, group_epsilons) -> None:
    try:
        config = RunConfig.from_input({"epsilon": epsilon, "group_epsilons": group_epsilons})
    except RunConfigError as exc:
        assert exc.field in ("epsilon", "group_epsilons")
        return
    assert 0.0 <= config.epsilon <= 1.0
    assert all(0.0 <= value <= 1.0 for _, value in config.group_epsilons)
    assert RunConfig.from_input(config.as_dict()) == config
