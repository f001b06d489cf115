"""Items and their steps, written in batches of tuples (COPY on PostgreSQL, executemany on
SQLite) as an import reads them: writing each item with its judgements cost a few round trips
per item. Part of `writer.ImportWriter`'s one transaction."""

import json
from typing import Protocol

from annotations.annotate import openness
from annotations.importers import staging
from annotations.importers.errors import Origin
from annotations.importers.records import ItemRecord
from annotations.importers.rules import ItemInfo, Problem, item_content_hash, item_problems
from annotations.models import Item, Project, Step

ITEM_BATCH = 2000
# Items and steps are written as tuples, not model instances (which cost more to build than
# to write): a new column without a database default must be added here too.
ITEM_COLUMNS = (
    "project_id, external_id, kind, prompt, response, response_a, response_b, "
    "reference_answer, meta, n_steps, content_hash"
)
STEP_COLUMNS = 'item_id, "index", text'


class Errors(Protocol):
    def add(self, origin: Origin, field_name: str, message: str) -> None: ...


class Counts(Protocol):
    items_created: int
    steps_created: int


class ItemWriter:
    """The project's items by external id (`known`: stored ones and those of this import) and
    the batch waiting to be written."""

    def __init__(self, project: Project, errors: Errors, counts: Counts) -> None:
        self.project = project
        self.errors = errors
        self.counts = counts
        self.known: dict[str, ItemInfo] = {}
        self.in_file: set[str] = set()
        self.pending: list[ItemRecord] = []

    def load_existing(self) -> None:
        # One tuple per item: the importer must resolve judgements on items it did not create.
        # iterator(): without it the queryset would also cache every row it read.
        items = Item.objects.filter(project=self.project).values_list(
            "external_id", "pk", "kind", "n_steps"
        )
        for external_id, pk, kind, n_steps in items.iterator(chunk_size=ITEM_BATCH):
            self.known[external_id] = ItemInfo(pk, kind, n_steps)

    def add(self, record: ItemRecord) -> None:
        problems = item_problems(record)
        if record.external_id in self.in_file:
            problems.append(Problem("id", f"item {record.external_id!r} appears twice in the file"))
        for problem in problems:
            self.errors.add(record.origin, *problem)
        if problems:
            return
        self.in_file.add(record.external_id)
        if record.external_id not in self.known:
            # Judgements on a new item are checked against it at once; its id is filled in when
            # its batch is written, before any of their rows. Writing items one at a time,
            # when each is followed by its judgements, cost a few round trips per item.
            self.known[record.external_id] = ItemInfo(None, record.kind, len(record.steps))
        self.pending.append(record)
        if len(self.pending) >= ITEM_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        hashes = {r.external_id: item_content_hash(r) for r in batch}
        new = self._new(batch, hashes)
        if not new:
            return
        staging.write_rows(Item._meta.db_table, ITEM_COLUMNS, self._rows(new, hashes))
        # The ids, through the (project, external_id) unique index: one query for the batch.
        ids = dict(
            Item.objects.filter(
                project=self.project, external_id__in=[r.external_id for r in new]
            ).values_list("external_id", "pk")
        )
        steps = []
        for record in new:
            pk = ids[record.external_id]
            info = self.known.get(record.external_id)
            if info is not None and info.pk is None:
                info.pk = pk
            else:
                self.known[record.external_id] = ItemInfo(pk, record.kind, len(record.steps))
            steps.extend((pk, i, text) for i, text in enumerate(record.steps))
        staging.write_rows(Step._meta.db_table, STEP_COLUMNS, steps)
        # New items are open: the project's count of open items grows with them.
        openness.project_items_added(project_id=self.project.pk, n=len(new))
        self.counts.items_created += len(new)
        self.counts.steps_created += len(steps)

    def _new(self, batch: list[ItemRecord], hashes: dict[str, str]) -> list[ItemRecord]:
        """The items of the batch not stored yet; a stored one must have the same content."""
        stored = dict(
            Item.objects.filter(
                project=self.project, external_id__in=[r.external_id for r in batch]
            ).values_list("external_id", "content_hash")
        )
        new = []
        for record in batch:
            known = stored.get(record.external_id)
            if known is None:
                new.append(record)
            elif known != hashes[record.external_id]:
                message = f"item {record.external_id!r} already exists with other content"
                self.errors.add(record.origin, "id", message)
        return new

    def _rows(self, records: list[ItemRecord], hashes: dict[str, str]) -> list[tuple]:
        project_id = self.project.pk
        return [
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
            for r in records
        ]
