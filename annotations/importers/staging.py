"""The import's SQL: rows appended in bulk, and the staging table judgements pass through.

Judgements are many (a million in the benchmark), so after they are checked line by line they
are copied into a temporary staging table, checked there with set-based queries (duplicates
inside the file, conflicts with judgements already stored) and moved into the judgement table
with INSERT ... SELECT. Everything here runs inside the writer's transaction.
"""

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection

from annotations.importers.errors import LineError, Origin

# Sorts and hashes over the staged rows (a million in the benchmark) stay in memory instead of
# spilling to disk; SET LOCAL, so only this transaction gets it.
POSTGRES_WORK_MEM = "64MB"
STAGING_COLUMNS = (
    "line, source, rater_id, item_id, step_index, criterion_id, value, code, "
    "rationale, time_spent_ms, meta"
)
ITEM_ID = 3  # the position of item_id in a staged row


class Changed(NamedTuple):
    """A staged row on a target that holds a stored judgement with another code or meta."""

    line: int
    source: str
    judgement_id: int
    stored_code: float
    stored_meta: dict
    code: float
    meta: dict
    stored_value: str  # as JSON text


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def tune_transaction() -> None:
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{POSTGRES_WORK_MEM}'")


def write_rows(table: str, columns: str, rows: list[tuple] | list[list]) -> None:
    """Append rows: COPY on PostgreSQL (one stream per batch), executemany on SQLite."""
    with connection.cursor() as cursor:
        if is_postgres():
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * (columns.count(",") + 1))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608 - our table name


def fk_checks_skippable() -> bool:
    """Whether this connection may turn the judgement table's foreign-key triggers off for a
    statement: the user may set session_replication_role (a superuser, or granted SET on it),
    and the table has no trigger of its own that `replica` would silence as well."""
    if not is_postgres():
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (current_setting('is_superuser') = 'on'"
            " OR has_parameter_privilege('session_replication_role', 'SET'))"
            " AND NOT EXISTS (SELECT 1 FROM pg_trigger"
            " WHERE tgrelid = 'annotations_judgement'::regclass AND NOT tgisinternal)"
        )
        return bool(cursor.fetchone()[0])


class StagingTable:
    """A temporary table of checked judgement rows (in STAGING_COLUMNS order).

    Its statements interpolate only the table's name (`judgeapp_staging_<uuid hex>`, made
    here) and column constants; every value is a parameter. They run on SQLite and
    PostgreSQL alike, so they cannot use psycopg.sql; each carries `noqa: S608` instead.
    """

    def __init__(self, origin_type: type[Origin] = Origin) -> None:
        self.name = f"judgeapp_staging_{uuid.uuid4().hex[:12]}"
        self.origin_type = origin_type
        self.is_postgres = is_postgres()

    def create(self) -> None:
        json_type = "jsonb" if self.is_postgres else "text"
        temp = "TEMPORARY" if self.is_postgres else "TEMP"
        on_commit = "ON COMMIT DROP" if self.is_postgres else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE {temp} TABLE {self.name} ("
                "line bigint NOT NULL, source text NOT NULL, rater_id bigint NOT NULL, "
                "item_id bigint NOT NULL, step_index integer NULL, criterion_id bigint NOT NULL, "
                f"value {json_type} NOT NULL, code double precision NOT NULL, "
                f"rationale text NOT NULL, time_spent_ms integer NULL, meta {json_type} NOT NULL"
                f") {on_commit}"
            )

    def write(self, rows: list[list]) -> None:
        write_rows(self.name, STAGING_COLUMNS, rows)

    def drop(self) -> None:
        if not self.is_postgres:  # on PostgreSQL it goes with the commit
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE {self.name}")

    def check(self, conflicts: bool = True) -> Iterator[LineError]:
        """Duplicates inside the file and (unless told not to: an updating import decides on
        those itself, see `differing`) conflicts with stored judgements, found by SQL."""
        with connection.cursor() as cursor:
            if self.is_postgres:
                # Autovacuum never analyses a temporary table; without statistics the planner
                # guesses its size and may pick nested loops over a million rows.
                cursor.execute(f"ANALYZE {self.name}")
            # Duplicates are rare: a grouping (a hash aggregate on PostgreSQL) finds whether
            # there are any; only then does the window query name their lines.
            cursor.execute(
                f"SELECT 1 FROM {self.name} GROUP BY rater_id, item_id, step_index, criterion_id"  # noqa: S608 - our table name
                " HAVING COUNT(*) > 1 LIMIT 1"
            )
            if cursor.fetchone() is not None:
                yield from self._duplicates(cursor)
            if conflicts:
                yield from self._conflicts(cursor)

    def _duplicates(self, cursor: Any) -> Iterator[LineError]:
        cursor.execute(
            "SELECT line, source, first_line, n FROM ("  # noqa: S608 - our table name
            "  SELECT line, source,"
            "   MIN(line) OVER w AS first_line, COUNT(*) OVER w AS n"
            f"  FROM {self.name}"
            "  WINDOW w AS (PARTITION BY rater_id, item_id, COALESCE(step_index, -1),"
            "   criterion_id)"
            ") d WHERE n > 1 AND line <> first_line ORDER BY source, line"
        )
        origin = self.origin_type
        for line, source, first_line, _ in cursor.fetchall():
            first = origin("", first_line)  # without the source: "line 3", as before
            message = f"duplicate judgement: same rater, item, step and criterion as {first}"
            yield LineError(origin(source, line), "", message)

    def _conflicts(self, cursor: Any) -> Iterator[LineError]:
        # The same two lookups as the final insert, each along one of the unique indexes
        # (rater, step, criterion) and (rater, item, criterion).
        cursor.execute(
            f"SELECT s.line, s.source, j.value FROM {self.name} s JOIN annotations_step st"  # noqa: S608 - our table name
            ' ON st.item_id = s.item_id AND st."index" = s.step_index'
            " JOIN annotations_judgement j ON j.rater_id = s.rater_id AND j.step_id = st.id"
            " AND j.criterion_id = s.criterion_id"
            " WHERE s.step_index IS NOT NULL AND j.code <> s.code"
            f" UNION ALL SELECT s.line, s.source, j.value FROM {self.name} s"
            " JOIN annotations_judgement j ON j.rater_id = s.rater_id AND j.item_id = s.item_id"
            " AND j.step_id IS NULL AND j.criterion_id = s.criterion_id"
            " WHERE s.step_index IS NULL AND j.code <> s.code"
            " ORDER BY source, line"
        )
        for line, source, stored in cursor.fetchall():
            stored_text = stored if isinstance(stored, str) else json.dumps(stored)
            message = (
                f"conflicts with the stored judgement {stored_text}; judgements are never "
                "overwritten by an import"
            )
            yield LineError(self.origin_type(source, line), "value", message)

    def differing(self) -> list[Changed]:
        """Staged rows whose target already holds a judgement with another code or meta (the
        rows an updating import decides on; see `ImportWriter(supersedes=...)`)."""
        select = (
            "SELECT s.line, s.source, j.id, j.code, CAST(j.meta AS TEXT), s.code,"
            " CAST(s.meta AS TEXT), CAST(j.value AS TEXT)"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                select + f" FROM {self.name} s JOIN annotations_step st"  # noqa: S608 - our table name
                ' ON st.item_id = s.item_id AND st."index" = s.step_index'
                " JOIN annotations_judgement j ON j.rater_id = s.rater_id AND j.step_id = st.id"
                " AND j.criterion_id = s.criterion_id"
                " WHERE s.step_index IS NOT NULL AND (j.code <> s.code OR j.meta <> s.meta)"
                " UNION ALL " + select + f" FROM {self.name} s"  # noqa: S608 - our table name
                " JOIN annotations_judgement j ON j.rater_id = s.rater_id AND j.item_id = s.item_id"
                " AND j.step_id IS NULL AND j.criterion_id = s.criterion_id"
                " WHERE s.step_index IS NULL AND (j.code <> s.code OR j.meta <> s.meta)"
                " ORDER BY 2, 1"
            )
            return [
                Changed(
                    line, source, pk, code, json.loads(meta), new_code, json.loads(new_meta), stored
                )  # fmt: skip
                for line, source, pk, code, meta, new_code, new_meta, stored in cursor.fetchall()
            ]

    def update(self, judgement_ids: list[int]) -> None:
        """Overwrite these stored judgements with the staged row on the same target (value,
        code, rationale, time spent and meta): an updating import's newer values."""
        if not judgement_ids:
            return
        fields = ("value", "code", "rationale", "time_spent_ms", "meta")
        # The staged row on the judgement's target (rater, criterion, and step or item).
        target = (
            f"(SELECT s.{{0}} FROM {self.name} s WHERE s.rater_id = j.rater_id"  # noqa: S608 - our table name
            " AND s.criterion_id = j.criterion_id AND s.item_id = j.item_id"
            " AND ((j.step_id IS NULL AND s.step_index IS NULL) OR s.step_index ="
            ' (SELECT st."index" FROM annotations_step st WHERE st.id = j.step_id)))'
        )
        sets = ", ".join(f"{name} = {target.format(name)}" for name in fields)
        with connection.cursor() as cursor:
            for start in range(0, len(judgement_ids), 500):
                ids = judgement_ids[start : start + 500]
                marks = ", ".join(["%s"] * len(ids))
                cursor.execute(
                    f"UPDATE annotations_judgement AS j SET {sets} WHERE j.id IN ({marks})",  # noqa: S608 - our table name
                    ids,
                )

    def lock_references(self) -> bool:
        """Prove every staged reference once per referenced row, and keep it proven: lock each
        distinct rater, item, step and criterion the rows name FOR KEY SHARE (the lock a
        foreign-key check takes) and check that all of them were found. True when the proof
        is complete, so the insert may skip the per-row foreign-key checks (`insert`).

        What makes skipping safe: the lock stops any other transaction from deleting (or
        changing the key of) a referenced row until our commit, exactly as the per-row checks'
        locks would; and a row deleted before we locked it is not returned, so the counts
        differ and the import is refused. PostgreSQL only (SQLite checks keys per statement
        and at a cost worth keeping).
        """
        if not self.is_postgres:
            return False
        lookups = [
            ("annotations_rater", "id", f"SELECT DISTINCT rater_id FROM {self.name}"),  # noqa: S608
            ("annotations_item", "id", f"SELECT DISTINCT item_id FROM {self.name}"),  # noqa: S608
            ("annotations_criterion", "id", f"SELECT DISTINCT criterion_id FROM {self.name}"),  # noqa: S608
            (
                "annotations_step",
                '(item_id, "index")',
                f"SELECT DISTINCT item_id, step_index FROM {self.name}"  # noqa: S608
                " WHERE step_index IS NOT NULL",
            ),
        ]
        with connection.cursor() as cursor:
            for table, key, wanted in lookups:
                cursor.execute(
                    f"SELECT (SELECT count(*) FROM ({wanted}) w),"  # noqa: S608 - our names
                    f" (SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {key} IN ({wanted})"
                    " FOR KEY SHARE) locked)"
                )
                expected, locked = cursor.fetchone()
                if expected != locked:
                    return False
        return True

    def insert(self, created_at: datetime, references_locked: bool = False) -> int:
        """Move the staged rows that are not stored yet into the judgement table; how many.

        `references_locked` (from `lock_references`): every reference is proven and locked,
        so, where this database user may, the insert runs with the foreign-key triggers off
        (`session_replication_role = replica` for these two statements only). Otherwise the
        deferred checks run as usual at commit: one index probe per row and key.
        """
        skip_checks = references_locked and fk_checks_skippable()
        if skip_checks:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            return self._insert(created_at)
        finally:
            if skip_checks:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL session_replication_role = origin")

    def _insert(self, created_at: datetime) -> int:
        when = created_at if self.is_postgres else created_at.isoformat()
        insert = (
            "INSERT INTO annotations_judgement (rater_id, item_id, step_id, criterion_id, value,"
            " code, rationale, time_spent_ms, meta, created_at) "
        )
        with connection.cursor() as cursor:
            # Step judgements: the step id comes from (item, index); already stored ones stay.
            cursor.execute(
                insert + "SELECT s.rater_id, s.item_id, st.id, s.criterion_id, s.value, s.code,"  # noqa: S608 - our table name
                " s.rationale, s.time_spent_ms, s.meta, %s"
                f" FROM {self.name} s JOIN annotations_step st"
                ' ON st.item_id = s.item_id AND st."index" = s.step_index'
                " WHERE s.step_index IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
                " annotations_judgement j WHERE j.rater_id = s.rater_id AND j.step_id = st.id"
                " AND j.criterion_id = s.criterion_id)",
                [when],
            )
            created = cursor.rowcount
            cursor.execute(
                insert + "SELECT s.rater_id, s.item_id, NULL, s.criterion_id, s.value, s.code,"  # noqa: S608 - our table name
                " s.rationale, s.time_spent_ms, s.meta, %s"
                f" FROM {self.name} s WHERE s.step_index IS NULL AND NOT EXISTS (SELECT 1 FROM"
                " annotations_judgement j WHERE j.rater_id = s.rater_id AND j.item_id = s.item_id"
                " AND j.step_id IS NULL AND j.criterion_id = s.criterion_id)",
                [when],
            )
            return created + cursor.rowcount
