"""The tidy export (Parquet and JSON Lines, with its dataset card), the preference pairs, and
the round trips: judgeapp -> Parquet -> pandas equals the database rows; an export imported
into a fresh project (`--format tidy`) reproduces the project."""

import io
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from annotations import services
from annotations.errors import DomainError
from annotations.exports import project_export_native
from annotations.exports_pairs import PairCounts, preference_pairs
from annotations.exports_tidy import (
    JUDGEMENT_COLUMNS,
    PAIR_COLUMNS,
    SCORE_COLUMNS,
    project_export_tidy,
    rows_write,
)
from annotations.models import Judgement, Project
from tests.annotations.importers.test_import_fuzz import (
    SETTINGS,
    _mutate,
    import_or_line_errors,
    table_counts,
    write,
)
from tests.factories import (
    COHERENCE,
    PREFERENCE,
    good_lines,
    judgement,
    pair,
    write_jsonl,
)

pytestmark = pytest.mark.django_db

SCORE = {"type": "score", "item": "gsm8k-5", "step": 1, "criterion": "validity",
         "rater": "prm", "rater_group": "prm", "score": -1.25, "rater_model": "PRM"}  # fmt: skip


def richer_lines() -> list[dict]:
    """good_lines plus what they lack: an ordinal value, model parameters, time, meta, a score."""
    return [
        *good_lines(),
        COHERENCE,
        judgement("q81-t1", "coherence", 4, time_spent_ms=5400, meta={"source": "x"}),
        judgement(
            "q81-t1",
            "coherence",
            2,
            rater="judge",
            rater_kind="model",
            rater_group="judge",
            rater_model="llama3.1",
            rater_prompt_version="v2",
            rater_parameters={"temperature": 0},
        ),  # fmt: skip
        SCORE,
    ]


def load(tmp_path: Path, project: Project, lines: list[dict]) -> None:
    services.items_import(project=project, paths=[write_jsonl(tmp_path / "in.jsonl", lines)])


def test_it_writes_judgements_that_pandas_reads_back_as_the_database_rows(tmp_path, project):
    load(tmp_path, project, richer_lines())

    project_export_tidy(project=project, directory=tmp_path / "out", format="parquet")
    frame = pd.read_parquet(tmp_path / "out" / "judgements.parquet")

    expected = [
        {
            "item": j.item.external_id,
            "step": j.step.index if j.step else None,
            "criterion": j.criterion.name,
            "rater": j.rater.name,
            "kind": j.rater.kind,
            "group": j.rater.group,
            "value": json.dumps(j.value),
            "rationale": j.rationale,
            "time_spent_ms": j.time_spent_ms,
            "model": j.rater.model_name,
            "prompt_version": j.rater.prompt_version,
            "parameters": j.rater.parameters,
            "meta": j.meta,
            "created": j.created_at,
        }
        for j in Judgement.objects.select_related("item", "step", "criterion", "rater")
    ]
    got = [
        {
            "item": row.item,
            "step": None if pd.isna(row.step) else int(row.step),
            "criterion": row.criterion,
            "rater": row.rater,
            "kind": row.kind,
            "group": row.group,
            "value": row.value_json,
            "rationale": row.rationale,
            "time_spent_ms": None if pd.isna(row.time_spent_ms) else int(row.time_spent_ms),
            "model": row.model,
            "prompt_version": row.prompt_version,
            "parameters": json.loads(row.parameters),
            "meta": json.loads(row.meta),
            "created": row.created.to_pydatetime(),
        }
        for row in frame.itertuples()
    ]
    assert got == expected
    assert len(got) == 7
    # The readable value column: labels as they are, numbers as their text.
    assert set(frame["value"]) == {"correct", "incorrect", "tie", "a", "4", "2"}


@pytest.mark.parametrize("format", ["jsonl", "parquet"])
def test_it_reproduces_a_project_through_a_tidy_export_and_import(tmp_path, project, format):
    load(tmp_path, project, richer_lines())
    first = io.StringIO()
    project_export_native(project=project, out=first)

    project_export_tidy(project=project, directory=tmp_path / "out", format=format)
    copy = Project.objects.create(name="Copy", slug="copy")
    counts = services.items_import(project=copy, paths=[tmp_path / "out"], format="tidy")
    second = io.StringIO()
    project_export_native(project=copy, out=second)

    assert second.getvalue() == first.getvalue()
    assert (counts.judgements_created, counts.scores_created) == (7, 1)


def test_it_writes_parquet_in_row_groups_of_the_size_given(tmp_path):
    rows = [(f"i{n}", None, "c", "p", "r", "m", float(n)) for n in range(5)]

    n = rows_write(
        rows=iter(rows), columns=SCORE_COLUMNS, path=tmp_path / "s.parquet", format="parquet",
        row_group=2,
    )  # fmt: skip

    assert n == 5
    assert pq.ParquetFile(tmp_path / "s.parquet").metadata.num_row_groups == 3
    assert pd.read_parquet(tmp_path / "s.parquet")["score"].tolist() == [0.0, 1, 2, 3, 4]


def test_it_writes_an_empty_table_with_its_columns(tmp_path):
    rows_write(rows=[], columns=JUDGEMENT_COLUMNS, path=tmp_path / "j.parquet", format="parquet")

    frame = pd.read_parquet(tmp_path / "j.parquet")
    assert (len(frame), list(frame.columns)) == (0, [c.name for c in JUDGEMENT_COLUMNS])


def test_it_writes_a_dataset_card_with_fields_counts_and_licences(tmp_path, project):
    load(tmp_path, project, richer_lines())
    project.name = "MT-bench"  # a demo project: its sources' licences are known
    project.save()

    project_export_tidy(project=project, directory=tmp_path / "out", format="jsonl")
    card = (tmp_path / "out" / "README.md").read_text()

    assert "license: other" in card
    assert "- config_name: judgements\n  data_files: judgements.jsonl\n  default: true" in card
    assert "| judgements.jsonl | 7 |" in card
    assert "| validity | human | expert | 3 |" in card
    assert "| coherence | model | judge | 1 |" in card
    assert "CC BY 4.0" in card and "Apache-2.0" in card
    for column in JUDGEMENT_COLUMNS:
        assert f"| {column.name} | {column.type} |" in card


def test_it_says_so_when_no_licence_is_known(tmp_path, project):
    load(tmp_path, project, good_lines())

    project_export_tidy(
        project=project, directory=tmp_path / "a", format="parquet", licence="CC BY 4.0"
    )
    project_export_tidy(project=project, directory=tmp_path / "b", format="parquet")

    assert "license: cc-by-4.0" in (tmp_path / "a" / "README.md").read_text()
    assert "Not stated." in (tmp_path / "b" / "README.md").read_text()


# ---- preference pairs ---------------------------------------------------------------------------


def votes_lines() -> list[dict]:
    """Four pairs: q1 a,a,b (majority a); q2 b,b (unanimous b); q3 a,tie (no majority);
    q4 a with no answer texts. A model and a crowd vote that must not count."""
    lines = [
        PREFERENCE,
        pair("q1"),
        pair("q2") | {"response_a": "short", "response_b": "long"},
        pair("q3"),
        {"type": "item", "id": "q4", "kind": "pair", "prompt": "?"},
    ]
    for item, values in {"q1": "aab", "q2": "bb", "q3": ["a", "tie"], "q4": "a"}.items():
        for n, value in enumerate(values):
            lines.append(judgement(item, "preference", value, rater=f"expert_{n}"))
    lines.append(judgement("q3", "preference", "a", rater="m", rater_kind="model"))
    lines.append(judgement("q3", "preference", "a", rater="c", rater_group="crowd"))
    return lines


def pairs(project, **options) -> tuple[dict[str, dict], PairCounts]:
    counts = PairCounts()
    names = [
        "item", "criterion", "prompt", "chosen", "rejected", "chosen_side", "votes_for",
        "votes_against", "votes_tie", "votes_total", "agreement", "group", "meta",
    ]  # fmt: skip
    rows = preference_pairs(project=project, group="expert", counts=counts, **options)
    return {row[0]: dict(zip(names, row, strict=True)) for row in rows}, counts


def test_it_makes_preference_pairs_where_the_majority_is_clear(tmp_path, project):
    load(tmp_path, project, votes_lines())

    rows, counts = pairs(project, consensus="majority")

    assert sorted(rows) == ["q1", "q2"]
    q1, q2 = rows["q1"], rows["q2"]
    assert (q1["chosen"], q1["rejected"], q1["chosen_side"], q1["prompt"]) == (
        "A", "B", "a", "Write a haiku.",
    )  # fmt: skip
    assert (q1["votes_for"], q1["votes_against"], q1["votes_tie"], q1["votes_total"]) == (
        2,
        1,
        0,
        3,
    )
    assert q1["agreement"] == pytest.approx(2 / 3)
    assert (q2["chosen"], q2["rejected"], q2["chosen_side"], q2["agreement"]) == (
        "long", "short", "b", 1.0,
    )  # fmt: skip
    assert json.loads(q1["meta"]) == {"turn": 1}
    assert (counts.written, counts.unclear, counts.without_texts) == (2, 1, 1)


def test_it_keeps_only_unanimous_pairs_when_asked(tmp_path, project):
    load(tmp_path, project, votes_lines())

    rows, counts = pairs(project, consensus="unanimous")

    assert sorted(rows) == ["q2"]
    assert counts.unclear == 2


def test_it_leaves_out_pairs_with_fewer_votes_than_asked(tmp_path, project):
    load(tmp_path, project, votes_lines())

    rows, counts = pairs(project, consensus="majority", min_votes=3)

    assert sorted(rows) == ["q1"]
    assert counts.too_few_votes == 3


def test_it_exports_pairs_from_the_command_line(tmp_path, project):
    load(tmp_path, project, votes_lines())
    out = io.StringIO()

    call_command(
        "export_data", project=project.name, format="jsonl", out=str(tmp_path / "d"),
        pairs=True, consensus="unanimous", stdout=out,
    )  # fmt: skip

    lines = (tmp_path / "d" / "preference_pairs.jsonl").read_text().splitlines()
    assert [json.loads(line)["item"] for line in lines] == ["q2"]
    assert "2 without a unanimous verdict" in out.getvalue()


def test_it_asks_for_a_directory_for_a_tidy_export(project):
    with pytest.raises(CommandError, match="give --out DIR"):
        call_command("export_data", project=project.name, format="parquet")


# ---- the tidy import refuses what it cannot read ------------------------------------------------


def test_it_refuses_a_tidy_row_naming_file_line_and_column(tmp_path, project):
    load(tmp_path, project, good_lines())
    project_export_tidy(project=project, directory=tmp_path / "out", format="jsonl")
    path = tmp_path / "out" / "judgements.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[1]["value_json"] = "not json"
    rows[2]["value_json"] = json.dumps("maybe")
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    copy = Project.objects.create(name="Copy", slug="copy")
    before = table_counts()

    with pytest.raises(DomainError) as caught:
        services.items_import(project=copy, paths=[tmp_path / "out"], format="tidy")

    assert caught.value.errors == [
        "judgements.jsonl line 2, field 'value_json': is not valid JSON text",
        'judgements.jsonl line 3, field \'value\': "maybe" is not one of "correct", "incorrect"',
    ]
    assert table_counts() == before


@SETTINGS
@given(data=st.data())
def test_a_mutated_tidy_export_imports_or_names_its_lines(tmp_path_factory, project, data):
    source = tmp_path_factory.mktemp("source")
    directory = tmp_path_factory.mktemp("tidy")
    if not Judgement.objects.filter(criterion__project=project).exists():
        load(source, project, richer_lines())
    project_export_tidy(project=project, directory=source / "out", format="jsonl")
    files = {
        path.name: ("jsonl", [json.loads(line) for line in path.read_text().splitlines()])
        for path in (source / "out").glob("*.jsonl")
    }
    for _ in range(data.draw(st.integers(1, 3))):
        files = _mutate(data, files)
    copy, _ = Project.objects.get_or_create(name="Copy", slug="copy")

    import_or_line_errors(write(directory, files), "tidy", copy)


def test_the_readme_names_every_column_of_the_judgements_and_the_pairs():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("### Export: a tidy data set")
    section = readme[start : readme.index("\n## ", start)]

    for column in (*JUDGEMENT_COLUMNS, *PAIR_COLUMNS):
        assert column.name in section, column.name
