"""Write a stream of import records into a project: validated, all or nothing, idempotent.

Criteria and raters are few and are written through the ORM as they arrive. Items and their
steps are written in batches of tuples (`items.py`). Judgements
are checked line by line (`rules.py` for their targets, `annotations.values` for their values)
and go through the staging table (`staging.py`), where duplicates and conflicts are found by
SQL. Memory stays flat in the number of judgements; it grows only with the number of items (one
small object each). benchmarks/import_bench.py measures all of this.

Everything runs in one transaction: any error rolls it all back and nothing changes.
"""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from annotations.importers import staging
from annotations.importers.errors import LineError, Note, Origin
from annotations.importers.items import ItemWriter
from annotations.importers.records import (
    CriterionRecord,
    ItemRecord,
    JudgementRecord,
    Record,
    ScoreRecord,
    Supersede,
    Supersedes,
)
from annotations.importers.rules import (
    CriterionInfo,
    ItemInfo,
    criterion_problems,
    judgement_problem,
    rater_problems,
    record_definition_key,
    target_problem,
)
from annotations.importers.score_rows import ScoreRows, score_problem
from annotations.models import Criterion, Project, Rater
from annotations.values import ValueRejected

MAX_REPORTED_ERRORS = 50
STAGING_BATCH = 20_000
PROGRESS_EVERY = 20_000

ProgressCallback = Callable[[int], None]


class ImportRejected(Exception):
    """The file had errors; nothing was written. `errors` are the first errors as text,
    `details` the same errors as they were found (for callers that word them their own way)."""

    def __init__(
        self, errors: list[str], error_count: int, details: list[LineError] | None = None
    ) -> None:
        super().__init__(f"{error_count} error(s); nothing was imported")
        self.errors = errors
        self.error_count = error_count
        self.details = details or []


@dataclass
class ImportCounts:
    criteria_created: int = 0
    items_created: int = 0
    steps_created: int = 0
    raters_created: int = 0
    judgements_created: int = 0
    judgements_unchanged: int = 0
    scores_created: int = 0
    scores_unchanged: int = 0
    lines: int = 0
    # What a format adds (labelstudio: skipped annotations, judgements updated), and what its
    # parser says to the reader (`Note`s): shown with the counts, never instead of an error.
    extra: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        counts = {k: v for k, v in self.__dict__.items() if k not in ("extra", "notes")}
        return counts | self.extra

    def note(self, note: Note) -> None:
        if note.text:
            self.notes.append(note.text)
        for name, n in note.counts:
            self.extra[name] = self.extra.get(name, 0) + n


@dataclass(frozen=True, slots=True)
class RaterInfo:
    pk: int
    kind: str
    group: str


@dataclass
class _Errors:
    messages: list[str] = field(default_factory=list)
    details: list[LineError] = field(default_factory=list)
    count: int = 0

    def add(self, origin: Origin, field_name: str, message: str) -> None:
        self.report(LineError(origin, field_name, message))

    def report(self, error: LineError) -> None:
        self.count += 1
        if len(self.messages) < MAX_REPORTED_ERRORS:
            self.messages.append(str(error))
            self.details.append(error)


class ImportWriter:
    """Validates and writes one import. Use `run()` once.

    `origin_type` is the type of the records' origins: errors found in the staging table name
    their records through it (the table keeps only an origin's source and number).

    `supersedes` makes the import an updating one (Label Studio's, where an annotation edited
    after an export comes back with another value): a judgement whose target already holds
    another one is not a conflict when `supersedes(stored meta, staged meta)` says it is a
    newer version of the same record (UPDATE: value, rationale, time and meta overwritten) or
    the same or an older one (KEEP). Without it (every other format) a stored judgement is
    never overwritten and another value for it rejects the file.
    """

    def __init__(
        self,
        project: Project,
        progress: ProgressCallback | None = None,
        origin_type: type[Origin] = Origin,
        supersedes: Supersedes | None = None,
    ) -> None:
        self.project = project
        self.supersedes = supersedes
        self.to_update: list[int] = []
        self.progress = progress
        self.errors = _Errors()
        self.counts = ImportCounts()
        self.criteria: dict[str, CriterionInfo] = {}
        self.raters: dict[str, RaterInfo] = {}
        self.item_writer = ItemWriter(project, self.errors, self.counts)
        self.items: dict[str, ItemInfo] = self.item_writer.known
        # Lists, not tuples: a row on an item not written yet gets the item's id put in later.
        self.staged: list[list] = []
        # Those rows: (position in self.staged, the item's info).
        self.unresolved: list[tuple[int, ItemInfo]] = []
        self.n_staged = 0
        self.staging = staging.StagingTable(origin_type)
        self.scores = ScoreRows()
        self.now = timezone.now()

    # ---- entry point -------------------------------------------------------------------------

    def run(self, records: Iterable[Record]) -> ImportCounts:
        with transaction.atomic():
            staging.tune_transaction()
            self._load_existing()
            self.staging.create()
            self._read(records)
            self._flush_items()
            self._flush_staged()
            self._check_staged()
            for error in self.scores.check():
                self.errors.report(error)
            if self.errors.count:
                errors = self.errors
                raise ImportRejected(errors.messages, errors.count, errors.details)
            self._insert_staged()
            self.staging.update(self.to_update)
            self.counts.scores_created = self.scores.insert(self.now)
            self.counts.scores_unchanged = self.scores.unchanged
            self.staging.drop()
        if self.progress:
            self.progress(self.counts.lines)
        return self.counts

    def _read(self, records: Iterable[Record]) -> None:
        counts, progress = self.counts, self.progress
        for record in records:
            counts.lines += 1
            if type(record) is JudgementRecord:
                self._judgement(record)
            elif type(record) is ItemRecord:
                self._item(record)
            elif type(record) is CriterionRecord:
                self._criterion(record)
            elif type(record) is ScoreRecord:
                self._score(record)
            elif type(record) is Note:
                counts.lines -= 1  # not a line of the file
                counts.note(record)
            else:
                assert isinstance(record, LineError)
                self.errors.report(record)
            if progress and counts.lines % PROGRESS_EVERY == 0:
                progress(counts.lines)

    def _load_existing(self) -> None:
        for criterion in Criterion.objects.filter(project=self.project):
            self.criteria[criterion.name] = CriterionInfo.of(criterion)
        raters = Rater.objects.filter(project=self.project)
        for pk, name, kind, group in raters.values_list("pk", "name", "kind", "group"):
            self.raters[name] = RaterInfo(pk, kind, group)
        self.item_writer.load_existing()

    # ---- criteria and raters -----------------------------------------------------------------

    def _criterion(self, record: CriterionRecord) -> None:
        problems = criterion_problems(record)
        for problem in problems:
            self.errors.add(record.origin, *problem)
        if problems:
            return
        existing = self.criteria.get(record.name)
        if existing is not None:
            if existing.definition != record_definition_key(record):
                message = f"criterion {record.name!r} already exists with another definition"
                self.errors.add(record.origin, "name", message)
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
        self.criteria[criterion.name] = CriterionInfo.of(criterion)

    def _rater(self, record: JudgementRecord | ScoreRecord) -> int | None:
        known = self.raters.get(record.rater)
        if known is None:
            return self._new_rater(record)
        group = record.rater_group or record.rater_kind
        if known.kind != record.rater_kind or known.group != group:
            self.errors.add(
                record.origin,
                "rater",
                f"rater {record.rater!r} is a {known.kind} in group {known.group!r}, "
                f"not a {record.rater_kind} in group {group!r}",
            )
            return None
        return known.pk

    def _new_rater(self, record: JudgementRecord | ScoreRecord) -> int | None:
        if record.rater_kind not in Rater.Kind.values:
            message = f"must be human or model, got {record.rater_kind!r}"
            self.errors.add(record.origin, "rater_kind", message)
            return None
        problems = rater_problems(record)
        for problem in problems:
            self.errors.add(record.origin, *problem)
        if problems:
            return None
        rater = Rater.objects.create(
            project=self.project,
            name=record.rater,
            kind=record.rater_kind,
            group=record.rater_group or record.rater_kind,
            model_name=record.rater_model,
            prompt_version=record.rater_prompt_version,
            parameters=record.rater_parameters,
        )
        self.counts.raters_created += 1
        self.raters[record.rater] = RaterInfo(rater.pk, rater.kind, rater.group)
        return rater.pk

    # ---- items (items.py) -------------------------------------------------------------------

    def _item(self, record: ItemRecord) -> None:
        self.item_writer.add(record)

    def _flush_items(self) -> None:
        self.item_writer.flush()

    # ---- scores (score_rows.py) -------------------------------------------------------------

    def _score(self, record: ScoreRecord) -> None:
        criterion = self.criteria.get(record.criterion)
        item = self.items.get(record.item)
        problem = score_problem(record, criterion, item)
        if problem is not None:
            self.errors.add(record.origin, *problem)
            return
        assert criterion is not None and item is not None  # narrowed by score_problem
        rater_pk = self._rater(record)
        if rater_pk is None:
            return
        duplicate = self.scores.add(record, rater_pk, item, criterion.pk)
        if duplicate is not None:
            self.errors.add(record.origin, *duplicate)

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
        problem = target_problem(record, criterion, item)
        # Most judgements carry nothing judgement_problem looks at: skip the call (1M lines).
        if problem is None and (
            record.meta
            or record.rationale
            or record.time_spent_ms is not None
            or type(record.value) in (dict, list)
        ):
            problem = judgement_problem(record)
        if problem is not None:
            self.errors.add(origin, *problem)
            return
        try:
            code, value_text = criterion.rule.check(record.value)
        except ValueRejected as exc:
            self.errors.add(origin, "value", exc.message)
            return
        rater_pk = self._rater(record)
        if rater_pk is not None:
            self._stage(record, item, criterion.pk, rater_pk, code, value_text)

    def _stage(
        self,
        record: JudgementRecord,
        item: ItemInfo,
        criterion_pk: int,
        rater_pk: int,
        code: float,
        value_text: str,
    ) -> None:
        """A checked judgement as a row of the staging table (STAGING_COLUMNS order)."""
        origin, meta = record.origin, record.meta
        if item.pk is None:
            self.unresolved.append((len(self.staged), item))
        self.staged.append(
            [
                origin.line,
                origin.source,
                rater_pk,
                item.pk,
                record.step,
                criterion_pk,
                value_text,
                code,
                record.rationale,
                record.time_spent_ms,
                "{}" if meta == {} else json.dumps(meta),
            ]
        )
        self.n_staged += 1
        if len(self.staged) >= STAGING_BATCH:
            self._flush_staged()

    def _flush_staged(self) -> None:
        if not self.staged:
            return
        if self.item_writer.pending:
            self._flush_items()
        rows, self.staged = self.staged, []
        if self.unresolved:
            rejected = False
            for index, info in self.unresolved:
                rows[index][staging.ITEM_ID] = info.pk
                # No id: the item was rejected when written, and that error is reported.
                rejected = rejected or info.pk is None
            self.unresolved = []
            if rejected:
                rows = [row for row in rows if row[staging.ITEM_ID] is not None]
        self.staging.write(rows)

    def _check_staged(self) -> None:
        if self.supersedes is None:
            for error in self.staging.check():
                self.errors.report(error)
            return
        for error in self.staging.check(conflicts=False):
            self.errors.report(error)
        kept = 0
        for row in self.staging.differing():
            verdict = self.supersedes(row.stored_meta, row.meta)
            if verdict is Supersede.UPDATE:
                self.to_update.append(row.judgement_id)
            elif verdict is Supersede.KEEP:
                kept += row.code != row.stored_code
            elif row.code != row.stored_code:
                message = (
                    f"conflicts with the stored judgement {row.stored_value}, which is not an "
                    "earlier version of this one; judgements are never overwritten by another"
                )
                self.errors.add(self.staging.origin_type(row.source, row.line), "value", message)
        self.counts.extra["judgements_updated"] = len(self.to_update)
        self.counts.extra["judgements_older_than_stored"] = kept

    def _insert_staged(self) -> None:
        locked = self.staging.lock_references()
        created = self.staging.insert(self.now, references_locked=locked)
        self.counts.judgements_created = created
        self.counts.judgements_unchanged = self.n_staged - created - len(self.to_update)
