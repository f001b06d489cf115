"""The Label Studio import floor: any export, labeling config or option either imports or
fails with errors naming the task (or the file's line, or the config's tag), never a
traceback, and a failed import leaves every annotations table as it was.

Hypothesis mutates real tasks of the three projects (snapshot JSON and CSV) with the import
fuzzer's hostile values (`test_import_fuzz`), mutates the labeling config's attributes and
text, and draws the user's options (mapping, group, item id field).
"""

import json
import re
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations import services
from annotations.errors import DomainError
from annotations.importers import labelstudio
from annotations.models import Project
from tests.annotations.importers.test_import_fuzz import (
    HOSTILE_CELLS,
    SETTINGS,
    SPECIALS,
    _mutate,
    assert_texts_fit_their_columns,
    table_counts,
    write,
)

DATA = Path(__file__).parent / "data" / "labelstudio"
NAMED = re.compile(
    r"\b(task|line|entry) \d+\b|^labeling config|^results of|^\S+\.(json|csv): a \w+ export"
)
PROJECTS = ("pairwise", "rubric", "steps")
# Fewer examples than the import fuzzer's: each one imports a few tasks with their judgements.
SETTINGS = settings(SETTINGS, max_examples=15)


def sample(name: str, n: int = 3) -> list:
    """The first n tasks of the project's snapshot (its predictions, the skip, the edit)."""
    tasks = json.loads((DATA / f"{name}.snapshot.json").read_text(encoding="utf-8"))
    return tasks[:n] if name != "rubric" else tasks[:3] + [tasks[6]]  # task 37: Carol's skip


def config(name: str) -> str:
    return (DATA / f"{name}.xml").read_text(encoding="utf-8")


def import_or_task_errors(paths: list[Path], options: dict) -> None:
    project = Project.objects.create(name=f"fuzz {uuid.uuid4().hex}", slug=uuid.uuid4().hex)
    before = table_counts()
    try:
        services.items_import(project=project, paths=paths, format="labelstudio", options=options)
    except DomainError as exc:
        assert exc.errors, exc.message
        for message in exc.errors:
            assert NAMED.search(message), message
        assert table_counts() == before
    else:
        assert_texts_fit_their_columns()


def test_every_sample_imports_unmutated(tmp_path, db):
    for name in PROJECTS:
        paths = write(tmp_path, {f"{name}.json": ("json", sample(name))})
        services.items_import(
            project=services.project_get_or_create(name=name),
            paths=paths,
            format="labelstudio",
            options={"config": config(name)},
        )
    assert table_counts()["Judgement"] > 0


@pytest.mark.django_db
@pytest.mark.parametrize("name", PROJECTS)
@SETTINGS
@given(data=st.data())
def test_a_mutated_export_imports_or_names_its_tasks(tmp_path_factory, name, data):
    directory = tmp_path_factory.mktemp(name)
    files = {f"{name}.json": ("json", sample(name))}
    for _ in range(data.draw(st.integers(1, 3))):
        files = _mutate(data, files)
    options = {"config": config(name)} if data.draw(st.booleans()) else {}

    import_or_task_errors(write(directory, files), options)


@pytest.mark.django_db
@SETTINGS
@given(data=st.data())
def test_a_mutated_csv_export_imports_or_names_its_tasks(tmp_path_factory, data):
    directory = tmp_path_factory.mktemp("csv")
    rows = [
        {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()}
        for row in json.loads((DATA / "rubric.min.json").read_text(encoding="utf-8"))[:4]
    ]
    row = data.draw(st.sampled_from(rows))
    row[data.draw(st.sampled_from(sorted(row)))] = data.draw(HOSTILE_CELLS)

    import_or_task_errors(
        write(directory, {"rubric.csv": ("csv", rows)}), {"config": config("rubric")}
    )


ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


@pytest.mark.django_db
@pytest.mark.parametrize("name", PROJECTS)
@SETTINGS
@given(data=st.data())
def test_a_mutated_labeling_config_imports_or_names_its_tag(tmp_path_factory, name, data):
    directory = tmp_path_factory.mktemp(name)
    xml = config(name)
    attributes = list(ATTRIBUTE.finditer(xml))
    match = data.draw(st.sampled_from(attributes))
    hostile = str(data.draw(st.one_of(SPECIALS, st.text(max_size=10))))
    value = hostile.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    xml = xml[: match.start(2)] + value + xml[match.end(2) :]
    if data.draw(st.integers(0, 4)) == 0:  # now and then not XML at all
        xml = data.draw(st.sampled_from(["", "<View>", '<!DOCTYPE x [<!ENTITY a "b">]><View/>',
                                         "<View><Rating/></View>", hostile]))  # fmt: skip
    paths = write(directory, {f"{name}.json": ("json", sample(name))})

    try:
        options = labelstudio.options_clean(config=xml)
    except ValueError:
        return  # refused before any import, with a message (the NUL case)
    import_or_task_errors(paths, options)


@pytest.mark.django_db
@SETTINGS
@given(
    mapping=st.lists(st.text(max_size=20), max_size=3),
    group=st.one_of(st.none(), st.text(max_size=70), SPECIALS.map(str)),
    item_id_field=st.one_of(st.none(), st.sampled_from(["question_id", "category", "nope"])),
)
def test_any_options_are_refused_or_import(tmp_path_factory, mapping, group, item_id_field):
    directory = tmp_path_factory.mktemp("options")
    try:
        options = labelstudio.options_clean(
            mapping=mapping, human_group=group, item_id_field=item_id_field
        )
    except ValueError as exc:
        assert str(exc)
        return
    paths = write(directory, {"pairwise.json": ("json", sample("pairwise"))})

    import_or_task_errors(paths, options)
