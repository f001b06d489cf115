"""The import proves each staged reference once and may then skip the per-row FK checks
(PostgreSQL): what it locks, when it refuses to skip, and that the result is the same."""

import threading

import pytest
from django.db import OperationalError, connection, transaction

from annotations.importers import staging
from annotations.models import Judgement, Project
from annotations.services import items_import
from tests.factories import VALIDITY, judgement, solution, write_jsonl

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _lines() -> list:
    lines = [VALIDITY, solution("s0", n_steps=2), solution("s1", n_steps=2)]
    for item in ("s0", "s1"):
        for step in range(2):
            for rater in ("ann", "bo"):
                lines.append(judgement(item, "validity", "correct", step=step, rater=rater))
    return lines


def _staged(project: Project, rows: list[list]) -> staging.StagingTable:
    table = staging.StagingTable()
    table.create()
    table.write(rows)
    return table


def test_it_imports_the_same_judgements_with_the_fk_checks_skipped(tmp_path):
    assert staging.fk_checks_skippable()  # the test database's user is a superuser
    project = Project.objects.create(name="Refs", slug="refs")
    items_import(project=project, paths=[write_jsonl(tmp_path / "a.jsonl", _lines())])
    stored = set(Judgement.objects.values_list("item__external_id", "step__index", "rater__name"))
    assert len(stored) == 8
    with connection.cursor() as cursor:  # nothing left deferred or turned off afterwards
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"


def test_it_proves_and_locks_each_reference_once(tmp_path):
    project = Project.objects.create(name="Refs", slug="refs")
    items_import(project=project, paths=[write_jsonl(tmp_path / "a.jsonl", _lines()[:3])])
    item = project.items.get(external_id="s0")
    criterion = project.criteria.get()
    rater = project.raters.create(name="r", kind="human", group="g")
    row = [1, "", rater.pk, item.pk, 0, criterion.pk, '"correct"', 0.0, "", None, "{}"]
    with transaction.atomic():
        table = _staged(project, [row, [2, *row[1:4], 1, *row[5:]]])
        assert table.lock_references()
        # Another transaction cannot delete the referenced item (nor its step) until we end.
        assert _delete_from_elsewhere("annotations_step", "item_id", item.pk) == "blocked"
        assert _delete_from_elsewhere("annotations_item", "id", item.pk) == "blocked"
        transaction.set_rollback(True)
    assert _delete_from_elsewhere("annotations_step", "item_id", item.pk) == "deleted"


def _delete_from_elsewhere(table: str, column: str, pk: int) -> str:
    """Try the delete on another connection, giving up after a short lock wait."""
    outcome: list[str] = []

    def work() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
                cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", [pk])  # noqa: S608
            outcome.append("deleted")
        except OperationalError:
            outcome.append("blocked")
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=30)
    return outcome[0]


@pytest.mark.parametrize(
    "broken", ["rater", "item", "criterion", "step"], ids=lambda b: f"missing-{b}"
)
def test_it_keeps_the_fk_checks_when_a_reference_is_not_there(tmp_path, broken):
    project = Project.objects.create(name="Refs", slug="refs")
    items_import(project=project, paths=[write_jsonl(tmp_path / "a.jsonl", _lines()[:3])])
    item = project.items.get(external_id="s0")
    criterion = project.criteria.get()
    rater = project.raters.create(name="r", kind="human", group="g")
    row = [1, "", rater.pk, item.pk, 0, criterion.pk, '"correct"', 0.0, "", None, "{}"]
    position = {"rater": 2, "item": 3, "step": 4, "criterion": 5}[broken]
    row[position] = 999_999
    with transaction.atomic():
        table = _staged(project, [row])
        assert not table.lock_references()
        transaction.set_rollback(True)
