"""Write a stream of import records into a project: validated, all or nothing, idempotent.

Criteria and raters are few and are written through the ORM as they arrive. Items and their
steps are written in batches of tuples (COPY on PostgreSQL, executemany on SQLite). Judgements
are many (a million in the benchmark), so they are validated line by line in Python, copied into
a temporary staging table, checked there with set-based queries (duplicates inside the file,
conflicts with judgements already stored) and moved into the judgement table with INSERT ...
SELECT. Memory stays flat in the number of judgements; it grows only with the number of items
(one small object each). benchmarks/import_bench.py measures all of this.

Everything runs in one transaction: any error rolls it all back and nothing changes.
"""

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from annotations.importers.records import (
    CriterionRecord,
    ItemRecord,
    JudgementRecord,
    LineError,
    Origin,
    Record,
)
from annotations.models import PAIRWISE_LABELS, Criterion, Item, Project, Rater, Step

MAX_REPORTED_ERRORS = 50
ITEM_BATCH = 2000
STAGING_BATCH = 20_000
PROGRESS_EVERY = 20_000
# Sorts and hashes over the staged rows (a million in the benchmark) stay in memory instead of
# spilling to disk; SET LOCAL, so only this transaction gets it.
POSTGRES_WORK_MEM = "64MB"
SOLUTION, PAIR = Item.Kind.SOLUTION.value, Item.Kind.PAIR.value
ITEM_KINDS = frozenset(Item.Kind.values)  # `.values` builds a new list on every access
# Items and steps are written as tuples, not model instances (which cost more to build than
# to write): a new column without a database default must be added here too.
ITEM_COLUMNS = (
    "project_id, external_id, kind, prompt, response, response_a, response_b, "
    "reference_answer, meta, n_steps, content_hash"
)
STEP_COLUMNS = 'item_id, "index", text'
STAGING_COLUMNS = (
    "line, source, rater_id, item_id, step_index, criterion_id, value, code, "
    "rationale, time_spent_ms, meta"
)

ProgressCallback = Callable[[int], None]


class ImportRejected(Exception):
    """The file had errors; nothing was written."""

    def __init__(self, errors: list[str], error_count: int) -> None:
        super().__init__(f"{error_count} error(s); nothing was imported")
        self.errors = errors
        self.error_count = error_count


@dataclass(slots=True)
class CriterionInfo:
    pk: int
    target: str
    scale: str
    codes: dict[str, int]  # JSON text of a label -> its position
    # The same for labels that are strings or integers, keyed by the value itself, with the
    # JSON text: most values are found here without serialising them.
    exact: dict[str | int, tuple[float, str]]
    min_value: float | None
    max_value: float | None
    definition: dict


@dataclass(slots=True)
class ItemInfo:
    pk: int | None  # None until a new item's batch is written
    kind: str
    n_steps: int


@dataclass
class ImportCounts:
    criteria_created: int = 0
    items_created: int = 0
    steps_created: int = 0
    raters_created: int = 0
    judgements_created: int = 0
    judgements_unchanged: int = 0
    lines: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Errors:
    messages: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, origin: Origin, field_name: str, message: str) -> None:
        self.count += 1
        if len(self.messages) < MAX_REPORTED_ERRORS:
            self.messages.append(str(LineError(origin, field_name, message)))


def criterion_definition(record: CriterionRecord) -> dict:
    """The fields that define a criterion; two definitions are the same criterion iff equal."""
    return {
        "target": record.target,
        "scale": record.scale,
        "labels": record.labels,
        "min": record.min_value,
        "max": record.max_value,
        "error_labels": record.error_labels,
    }


def item_content_hash(record: ItemRecord) -> str:
    content = [
        record.kind,
        record.prompt,
        record.steps,
        record.response,
        record.response_a,
        record.response_b,
        record.reference_answer,
        record.meta,
    ]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _criterion_problems(record: CriterionRecord) -> list[tuple[str, str]]:
    problems = []
    if record.target not in Criterion.Target.values:
        problems.append(("target", f"must be step or item, got {record.target!r}"))
    if record.scale not in Criterion.Scale.values:
        problems.append(
            ("scale", f"must be nominal, ordinal, interval or pairwise, got {record.scale!r}")
        )
    if record.scale in ("nominal", "ordinal"):
        if len(record.labels) < 2:
            problems.append(("labels", "a nominal or ordinal criterion needs at least 2 labels"))
        elif not all(_is_scalar(label) for label in record.labels):
            problems.append(("labels", "labels must be JSON scalars"))
        elif len({json.dumps(label) for label in record.labels}) != len(record.labels):
            problems.append(("labels", "labels must be distinct"))
    if record.scale == "interval":
        if record.min_value is None or record.max_value is None:
            problems.append(("min", "an interval criterion needs min and max"))
        elif record.min_value >= record.max_value:
            problems.append(("max", "must be greater than min"))
    if record.scale == "pairwise" and record.target != "item":
        problems.append(("target", "a pairwise criterion judges whole items"))
    allowed = {json.dumps(v) for v in record.labels}
    if record.scale == "pairwise":
        allowed = {json.dumps(v) for v in PAIRWISE_LABELS}
    for label in record.error_labels:
        if json.dumps(label) not in allowed:
            problems.append(("error_labels", f"{label!r} is not one of the labels"))
    return problems


def _item_problems(record: ItemRecord) -> list[tuple[str, str]]:
    if not record.external_id:
        return [("id", "must not be empty")]
    if record.kind not in ITEM_KINDS:
        return [("kind", f"must be solution, response or pair, got {record.kind!r}")]
    if record.kind == Item.Kind.SOLUTION and not record.steps:
        return [("steps", "a solution needs at least one step")]
    if record.kind != Item.Kind.SOLUTION and record.steps:
        return [("steps", f"only solutions have steps, this item is a {record.kind}")]
    if record.kind == Item.Kind.RESPONSE and record.response is None:
        return [("response", "a response item needs its response")]
    return []


class ImportWriter:
    """Validates and writes one import. Use `run()` once."""

    def __init__(self, project: Project, progress: ProgressCallback | None = None) -> None:
        self.project = project
        self.progress = progress
        self.errors = _Errors()
        self.counts = ImportCounts()
        self.criteria: dict[str, CriterionInfo] = {}
        self.raters: dict[str, tuple[int, str, str]] = {}
        self.items: dict[str, ItemInfo] = {}
        self.items_in_file: set[str] = set()
        self.pending_items: list[ItemRecord] = []
        # Lists, not tuples: a row on an item not written yet gets the item's id put in later.
        self.staged: list[list] = []
        # Those rows: (position in self.staged, the item's info).
        self.unresolved: list[tuple[int, ItemInfo]] = []
        self.n_staged = 0
        self.staging_table = f"judgeapp_staging_{uuid.uuid4().hex[:12]}"
        self.is_postgres = connection.vendor == "postgresql"
        self.now = timezone.now()

    # ---- entry point -------------------------------------------------------------------------

    def run(self, records: Iterable[Record]) -> ImportCounts:
        with transaction.atomic():
            if self.is_postgres:
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL work_mem = '{POSTGRES_WORK_MEM}'")
            self._load_existing()
            self._create_staging()
            for record in records:
                self.counts.lines += 1
                if type(record) is JudgementRecord:
                    self._judgement(record)
                elif type(record) is ItemRecord:
                    self._item(record)
                elif type(record) is CriterionRecord:
                    self._criterion(record)
                else:
                    assert isinstance(record, LineError)
                    self.errors.add(record.origin, record.field, record.message)
                if self.progress and self.counts.lines % PROGRESS_EVERY == 0:
                    self.progress(self.counts.lines)
            self._flush_items()
            self._flush_staged()
            self._check_staged()
            if self.errors.count:
                raise ImportRejected(self.errors.messages, self.errors.count)
            self._insert_staged()
            self._drop_staging()
        if self.progress:
            self.progress(self.counts.lines)
        return self.counts

    # ---- criteria, raters, items -------------------------------------------------------------

    def _load_existing(self) -> None:
        for criterion in Criterion.objects.filter(project=self.project):
            self._remember_criterion(criterion)
        for pk, name, kind, group in Rater.objects.filter(project=self.project).values_list(
            "pk", "name", "kind", "group"
        ):
            self.raters[name] = (pk, kind, group)
        # One tuple per item: the importer must resolve judgements on items it did not create.
        # iterator(): without it the queryset would also cache every row it read.
        items = Item.objects.filter(project=self.project).values_list(
            "external_id", "pk", "kind", "n_steps"
        )
        for external_id, pk, kind, n_steps in items.iterator(chunk_size=ITEM_BATCH):
            self.items[external_id] = ItemInfo(pk, kind, n_steps)

    def _remember_criterion(self, criterion: Criterion) -> None:
        labels = criterion.value_labels
        self.criteria[criterion.name] = CriterionInfo(
            pk=criterion.pk,
            target=criterion.target,
            scale=criterion.scale,
            codes={json.dumps(label): i for i, label in enumerate(labels)},
            exact={
                label: (float(i), json.dumps(label))
                for i, label in enumerate(labels)
                if type(label) is str or type(label) is int  # not bool, not float
            },
            min_value=criterion.min_value,
            max_value=criterion.max_value,
            definition={
                "target": criterion.target,
                "scale": criterion.scale,
                "labels": criterion.labels,
                "min": criterion.min_value,
                "max": criterion.max_value,
                "error_labels": criterion.error_labels,
            },
        )

    def _criterion(self, record: CriterionRecord) -> None:
        problems = _criterion_problems(record)
        for field_name, message in problems:
            self.errors.add(record.origin, field_name, message)
        if problems:
            return
        existing = self.criteria.get(record.name)
        definition = criterion_definition(record)
        if existing is not None:
            if _normalised(existing.definition) != _normalised(definition):
                self.errors.add(
                    record.origin,
                    "name",
                    f"criterion {record.name!r} already exists with another definition",
                )
            return
        criterion = Criterion.objects.create(
            project=self.project,
            name=record.name,
            target=record.target,
            scale=record.scale,
            labels=record.labels if record.scale != "pairwise" else [],
            min_value=record.min_value,
            max_value=record.max_value,
            error_labels=record.error_labels,
            position=len(self.criteria),
        )
        self.counts.criteria_created += 1
        self._remember_criterion(criterion)

    def _rater(self, record: JudgementRecord) -> int | None:
        known = self.raters.get(record.rater)
        group = record.rater_group or record.rater_kind
        if known is not None:
            pk, kind, known_group = known
            if kind != record.rater_kind or known_group != group:
                self.errors.add(
                    record.origin,
                    "rater",
                    f"rater {record.rater!r} is a {kind} in group {known_group!r}, "
                    f"not a {record.rater_kind} in group {group!r}",
                )
                return None
            return pk
        if record.rater_kind not in Rater.Kind.values:
            self.errors.add(
                record.origin, "rater_kind", f"must be human or model, got {record.rater_kind!r}"
            )
            return None
        rater = Rater.objects.create(
            project=self.project,
            name=record.rater,
            kind=record.rater_kind,
            group=group,
            model_name=record.rater_model,
            prompt_version=record.rater_prompt_version,
            parameters=record.rater_parameters,
        )
        self.counts.raters_created += 1
        self.raters[record.rater] = (rater.pk, rater.kind, rater.group)
        return rater.pk

    def _item(self, record: ItemRecord) -> None:
        problems = _item_problems(record)
        if record.external_id in self.items_in_file:
            problems.append(("id", f"item {record.external_id!r} appears twice in the file"))
        for field_name, message in problems:
            self.errors.add(record.origin, field_name, message)
        if problems:
            return
        self.items_in_file.add(record.external_id)
        if record.external_id not in self.items:
            # Judgements on a new item are checked against it at once; its id is filled in when
            # its batch is written, before any of their rows. Writing items one at a time,
            # when each is followed by its judgements, cost a few round trips per item.
            self.items[record.external_id] = ItemInfo(None, record.kind, len(record.steps))
        self.pending_items.append(record)
        if len(self.pending_items) >= ITEM_BATCH:
            self._flush_items()

    def _flush_items(self) -> None:
        if not self.pending_items:
            return
        batch, self.pending_items = self.pending_items, []
        hashes = {r.external_id: item_content_hash(r) for r in batch}
        existing = dict(
            Item.objects.filter(
                project=self.project, external_id__in=[r.external_id for r in batch]
            ).values_list("external_id", "content_hash")
        )
        new = []
        for record in batch:
            known = existing.get(record.external_id)
            if known is None:
                new.append(record)
            elif known != hashes[record.external_id]:
                self.errors.add(
                    record.origin,
                    "id",
                    f"item {record.external_id!r} already exists with other content",
                )
        if not new:
            return
        project_id = self.project.pk
        self._write_rows(
            Item._meta.db_table,
            ITEM_COLUMNS,
            [
                (
                    project_id,
                    r.external_id,
                    r.kind,
                    r.prompt,
                    r.response,
                    r.response_a,
                    r.response_b,
                    r.reference_answer,
                    json.dumps(r.meta),
                    len(r.steps),
                    hashes[r.external_id],
                )
                for r in new
            ],
        )
        # The ids, through the (project, external_id) unique index: one query for the batch.
        ids = dict(
            Item.objects.filter(
                project=self.project, external_id__in=[r.external_id for r in new]
            ).values_list("external_id", "pk")
        )
        steps = []
        for record in new:
            pk = ids[record.external_id]
            info = self.items.get(record.external_id)
            if info is not None and info.pk is None:
                info.pk = pk
            else:
                self.items[record.external_id] = ItemInfo(pk, record.kind, len(record.steps))
            steps.extend((pk, i, text) for i, text in enumerate(record.steps))
        self._write_rows(Step._meta.db_table, STEP_COLUMNS, steps)
        self.counts.items_created += len(new)
        self.counts.steps_created += len(steps)

    def _write_rows(self, table: str, columns: str, rows: list[tuple] | list[list]) -> None:
        """Append rows: COPY on PostgreSQL (one stream per batch), executemany on SQLite."""
        with connection.cursor() as cursor:
            if self.is_postgres:
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * (columns.count(",") + 1))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    # ---- judgements --------------------------------------------------------------------------

    def _judgement(self, record: JudgementRecord) -> None:
        origin = record.origin
        criterion = self.criteria.get(record.criterion)
        if criterion is None:
            self.errors.add(origin, "criterion", f"unknown criterion {record.criterion!r}")
            return
        item = self.items.get(record.item)
        if item is None:
            self.errors.add(origin, "item", f"unknown item {record.item!r}")
            return
        if not self._target_ok(record, criterion, item):
            return
        value = record.value
        if criterion.scale == "interval":
            if not _is_number(value):
                self.errors.add(origin, "value", f"must be a number, got {json.dumps(value)[:60]}")
                return
            if not criterion.min_value <= value <= criterion.max_value:
                self.errors.add(
                    origin,
                    "value",
                    f"{value} is outside {criterion.min_value}..{criterion.max_value}",
                )
                return
            code = float(value)
            # For a finite int or float, repr is exactly what json.dumps writes.
            value_text = repr(value) if type(value) in (int, float) else json.dumps(value)
        else:
            known = criterion.exact.get(value) if type(value) in (str, int) else None
            if known is not None:
                code, value_text = known
            else:
                value_text = json.dumps(value)
                code = criterion.codes.get(value_text)
                if code is None:
                    allowed = ", ".join(criterion.codes)
                    self.errors.add(
                        origin, "value", f"{value_text[:60]} is not one of the labels ({allowed})"
                    )
                    return
        rater_pk = self._rater(record)
        if rater_pk is None:
            return
        meta = record.meta
        if item.pk is None:
            self.unresolved.append((len(self.staged), item))
        self.staged.append(
            [
                origin.line,
                origin.source,
                rater_pk,
                item.pk,
                record.step,
                criterion.pk,
                value_text,
                float(code),
                record.rationale,
                record.time_spent_ms,
                "{}" if meta == {} else json.dumps(meta),
            ]
        )
        self.n_staged += 1
        if len(self.staged) >= STAGING_BATCH:
            self._flush_staged()

    def _target_ok(self, record: JudgementRecord, criterion: CriterionInfo, item: ItemInfo) -> bool:
        origin = record.origin
        if criterion.target == "step":
            if item.kind != SOLUTION:
                message = f"criterion {record.criterion!r} judges steps; {record.item!r} has none"
                self.errors.add(origin, "criterion", message)
                return False
            if record.step is None:
                self.errors.add(origin, "step", f"criterion {record.criterion!r} needs a step")
                return False
            if not 0 <= record.step < item.n_steps:
                self.errors.add(
                    origin,
                    "step",
                    f"step {record.step} is out of range: {record.item!r} has steps "
                    f"0..{item.n_steps - 1}",
                )
                return False
        elif record.step is not None:
            message = f"criterion {record.criterion!r} judges whole items; leave step out"
            self.errors.add(origin, "step", message)
            return False
        if criterion.scale == "pairwise" and item.kind != PAIR:
            message = (
                f"pairwise criterion {record.criterion!r} needs a pair, {record.item!r} is not"
            )
            self.errors.add(origin, "criterion", message)
            return False
        return True

    # ---- staging table -----------------------------------------------------------------------

    def _create_staging(self) -> None:
        json_type = "jsonb" if self.is_postgres else "text"
        temp = "TEMPORARY" if self.is_postgres else "TEMP"
        on_commit = "ON COMMIT DROP" if self.is_postgres else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE {temp} TABLE {self.staging_table} ("
                "line bigint NOT NULL, source text NOT NULL, rater_id bigint NOT NULL, "
                "item_id bigint NOT NULL, step_index integer NULL, criterion_id bigint NOT NULL, "
                f"value {json_type} NOT NULL, code double precision NOT NULL, "
                f"rationale text NOT NULL, time_spent_ms integer NULL, meta {json_type} NOT NULL"
                f") {on_commit}"
            )

    def _drop_staging(self) -> None:
        if not self.is_postgres:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE {self.staging_table}")

    def _flush_staged(self) -> None:
        if not self.staged:
            return
        if self.pending_items:
            self._flush_items()
        rows, self.staged = self.staged, []
        if self.unresolved:
            rejected = False
            for index, info in self.unresolved:
                rows[index][3] = info.pk
                # No id: the item was rejected when written, and that error is reported.
                rejected = rejected or info.pk is None
            self.unresolved = []
            if rejected:
                rows = [row for row in rows if row[3] is not None]
        self._write_rows(self.staging_table, STAGING_COLUMNS, rows)

    def _check_staged(self) -> None:
        """Duplicates inside the file and conflicts with stored judgements, found by SQL."""
        table = self.staging_table
        with connection.cursor() as cursor:
            if self.is_postgres:
                # Autovacuum never analyses a temporary table; without statistics the planner
                # guesses its size and may pick nested loops over a million rows.
                cursor.execute(f"ANALYZE {table}")
            # Duplicates are rare: a grouping (a hash aggregate on PostgreSQL) finds whether
            # there are any; only then does the window query name their lines.
            cursor.execute(
                f"SELECT 1 FROM {table} GROUP BY rater_id, item_id, step_index, criterion_id"
                " HAVING COUNT(*) > 1 LIMIT 1"
            )
            if cursor.fetchone() is not None:
                self._report_duplicates(cursor)
            self._report_conflicts(cursor)

    def _report_duplicates(self, cursor: Any) -> None:
        cursor.execute(
            "SELECT line, source, first_line, n FROM ("
            "  SELECT line, source,"
            "   MIN(line) OVER w AS first_line, COUNT(*) OVER w AS n"
            f"  FROM {self.staging_table}"
            "  WINDOW w AS (PARTITION BY rater_id, item_id, COALESCE(step_index, -1),"
            "   criterion_id)"
            ") d WHERE n > 1 AND line <> first_line ORDER BY source, line"
        )
        for line, source, first_line, _ in cursor.fetchall():
            self.errors.add(
                Origin(source, line),
                "",
                f"duplicate judgement: same rater, item, step and criterion as line {first_line}",
            )

    def _report_conflicts(self, cursor: Any) -> None:
        # The same two lookups as the final insert, each along one of the unique indexes
        # (rater, step, criterion) and (rater, item, criterion).
        table = self.staging_table
        cursor.execute(
            f"SELECT s.line, s.source, j.value FROM {table} s JOIN annotations_step st"
            ' ON st.item_id = s.item_id AND st."index" = s.step_index'
            " JOIN annotations_judgement j ON j.rater_id = s.rater_id AND j.step_id = st.id"
            " AND j.criterion_id = s.criterion_id"
            " WHERE s.step_index IS NOT NULL AND j.code <> s.code"
            f" UNION ALL SELECT s.line, s.source, j.value FROM {table} s"
            " JOIN annotations_judgement j ON j.rater_id = s.rater_id AND j.item_id = s.item_id"
            " AND j.step_id IS NULL AND j.criterion_id = s.criterion_id"
            " WHERE s.step_index IS NULL AND j.code <> s.code"
            " ORDER BY source, line"
        )
        for line, source, stored in cursor.fetchall():
            stored_text = stored if isinstance(stored, str) else json.dumps(stored)
            self.errors.add(
                Origin(source, line),
                "value",
                f"conflicts with the stored judgement {stored_text}; judgements are never "
                "overwritten by an import",
            )

    def _insert_staged(self) -> None:
        table = self.staging_table
        created_at = self.now if self.is_postgres else self.now.isoformat()
        insert = (
            "INSERT INTO annotations_judgement (rater_id, item_id, step_id, criterion_id, value,"
            " code, rationale, time_spent_ms, meta, created_at) "
        )
        with connection.cursor() as cursor:
            # Step judgements: the step id comes from (item, index); already stored ones stay.
            cursor.execute(
                insert + "SELECT s.rater_id, s.item_id, st.id, s.criterion_id, s.value, s.code,"
                " s.rationale, s.time_spent_ms, s.meta, %s"
                f" FROM {table} s JOIN annotations_step st"
                ' ON st.item_id = s.item_id AND st."index" = s.step_index'
                " WHERE s.step_index IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
                " annotations_judgement j WHERE j.rater_id = s.rater_id AND j.step_id = st.id"
                " AND j.criterion_id = s.criterion_id)",
                [created_at],
            )
            created = cursor.rowcount
            cursor.execute(
                insert + "SELECT s.rater_id, s.item_id, NULL, s.criterion_id, s.value, s.code,"
                " s.rationale, s.time_spent_ms, s.meta, %s"
                f" FROM {table} s WHERE s.step_index IS NULL AND NOT EXISTS (SELECT 1 FROM"
                " annotations_judgement j WHERE j.rater_id = s.rater_id AND j.item_id = s.item_id"
                " AND j.step_id IS NULL AND j.criterion_id = s.criterion_id)",
                [created_at],
            )
            created += cursor.rowcount
        self.counts.judgements_created = created
        self.counts.judgements_unchanged = self.n_staged - created


def _normalised(definition: dict) -> str:
    # 1 and 1.0 are the same bound; compare definitions through JSON with floats for bounds.
    definition = dict(definition)
    for key in ("min", "max"):
        if definition[key] is not None:
            definition[key] = float(definition[key])
    if definition["scale"] == "pairwise":
        definition["labels"] = []
    return json.dumps(definition, sort_keys=True)
