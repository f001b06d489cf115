"""Writes for external judges: a model rater's API token, and the judgements and scores it
posts in bulk.

A posted judgement or score becomes a native import record (`judgement` or `score`) of the
token's rater and goes through the importer (`annotations.importers`), so the API accepts
exactly what an import file would, all or nothing, by the same rules (a score's are
`score_rows.score_problem`); it only never creates items or criteria, since it sends no such
records. A batch is idempotent by the client's id: the `RaterBatch` row is inserted first, in
the batch's transaction, so a second post of the same id (a retry, or the same post twice at
once, which waits on the unique index) finds the first and writes nothing.
"""

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotations.audit import AuditAction, audit_record
from annotations.errors import DomainError
from annotations.importers import native
from annotations.importers.errors import LineError, Origin
from annotations.importers.records import Record
from annotations.importers.writer import ImportRejected, ImportWriter
from annotations.judges.tokens import RaterBatch, RaterToken
from annotations.models import Project, Rater

KEY_PREFIX = "jr_"
MAX_ENTRIES = 10_000  # judgements and scores of one post, together
# What the client may not say: the token says which rater it is.
RATER_FIELDS = (
    "rater",
    "rater_kind",
    "rater_group",
    "rater_model",
    "rater_prompt_version",
    "rater_parameters",
)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its key: the only time the key exists outside the client."""

    token: RaterToken
    key: str
    replaced: bool  # the rater had a key before, which no longer works


def rater_token_create(
    *,
    project: Project,
    name: str,
    group: str,
    model_name: str = "",
    user: AbstractBaseUser | None,
) -> IssuedToken:
    """A key for the model rater `name`, created if it does not exist. A rater has one key:
    a new one replaces the old. A human rater gets none (people sign in)."""
    name, group, model_name = name.strip(), group.strip(), model_name.strip()
    if not 1 <= len(name) <= 200:
        raise DomainError("Give the rater a name (up to 200 characters).")
    if not 1 <= len(group) <= 64:
        raise DomainError("Give the rater a group (up to 64 characters).")
    if len(model_name) > 200:
        raise DomainError("The model name is longer than 200 characters.")
    try:
        with transaction.atomic():
            rater = _model_rater(project, name, group, model_name)
            replaced, _ = RaterToken.objects.filter(rater=rater).delete()
            key = KEY_PREFIX + secrets.token_urlsafe(32)
            token = RaterToken.objects.create(
                rater=rater, key_hash=key_hash(key), key_prefix=key[:10], created_by=user
            )
            audit_record(
                actor=user,
                project=project,
                action=AuditAction.RATER_TOKEN_CREATE,
                target=rater,
                detail={"key_prefix": token.key_prefix, "replaced": bool(replaced)},
            )
    except IntegrityError:
        raise DomainError(f"Rater {name!r} was just created or given a key; try again.") from None
    return IssuedToken(token=token, key=key, replaced=bool(replaced))


def _model_rater(project: Project, name: str, group: str, model_name: str) -> Rater:
    # Locked, so two leads making keys for one rater at once get one key each, in turn.
    rater = Rater.objects.select_for_update().filter(project=project, name=name).first()
    if rater is None:
        return Rater.objects.create(
            project=project, name=name, kind=Rater.Kind.MODEL, group=group, model_name=model_name
        )
    if rater.kind != Rater.Kind.MODEL:
        raise DomainError(f"{name!r} is a human rater; API keys are for model raters only.")
    if rater.group != group:
        raise DomainError(f"Rater {name!r} exists in group {rater.group!r}, not {group!r}.")
    if model_name and rater.model_name != model_name:
        raise DomainError(f"Rater {name!r} exists with model {rater.model_name!r}.")
    return rater


def rater_token_authenticate(*, key: str) -> RaterToken | None:
    """The token with this key (noting that it was used), or None."""
    token = (
        RaterToken.objects.select_related("rater__project").filter(key_hash=key_hash(key)).first()
    )
    if token is not None:
        token.last_used_at = timezone.now()
        RaterToken.objects.filter(pk=token.pk).update(last_used_at=token.last_used_at)
    return token


# ---- bulk judgements ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkEntry(Origin):
    """An entry of the posted judgements: `line` is its position from 1, as the importer
    counts."""

    def __str__(self) -> str:
        return f"judgements[{self.line - 1}]"


@dataclass(frozen=True, slots=True)
class ScoreEntry(Origin):
    """An entry of the posted scores, counted as `BulkEntry`."""

    def __str__(self) -> str:
        return f"scores[{self.line - 1}]"


def entry_error_text(error: LineError) -> str:
    """`judgements[3].value: "maybe" is not one of ...`: the entry and field, as in the body."""
    where = f"{error.origin}.{error.field}" if error.field else str(error.origin)
    return f"{where}: {error.message}"


@dataclass(frozen=True)
class BatchResult:
    """What a batch stored: judgements and scores together."""

    batch_id: str
    created: int
    unchanged: int
    repeated: bool  # the batch id was posted before: these are that post's counts

    @classmethod
    def of(cls, batch: RaterBatch, *, repeated: bool) -> "BatchResult":
        return cls(batch.batch_id, batch.created, batch.unchanged, repeated)


def judgements_bulk_record(
    *, rater: Rater, batch_id: str, judgements: list[Any], scores: list[Any] | None = None
) -> BatchResult:
    """Store a batch of a model rater's judgements and scores, all or nothing, once per batch
    id.

    Raises DomainError naming each bad entry and field (`judgements[i].field`,
    `scores[i].field`). A batch id posted before is answered with its first counts and nothing
    is written, whatever the body.
    """
    scores = scores or []
    if len(judgements) + len(scores) > MAX_ENTRIES:
        raise DomainError(f"At most {MAX_ENTRIES:,} judgements and scores per request.")
    stored = RaterBatch.objects.filter(rater=rater, batch_id=batch_id).first()
    if stored is not None:
        return BatchResult.of(stored, repeated=True)
    records = [
        _record(rater, BulkEntry("", i + 1), "judgement", e) for i, e in enumerate(judgements)
    ]
    records += [_record(rater, ScoreEntry("", i + 1), "score", e) for i, e in enumerate(scores)]
    try:
        return _batch_write(rater, batch_id, records)
    except IntegrityError:
        # Another post of this batch id committed first (we waited on the unique index), or
        # another batch wrote some of these rows between our check and our insert.
        stored = RaterBatch.objects.filter(rater=rater, batch_id=batch_id).first()
        if stored is not None:
            return BatchResult.of(stored, repeated=True)
    # Once more: the importer now sees the other batch's rows (unchanged or conflicting).
    try:
        return _batch_write(rater, batch_id, records)
    except IntegrityError:
        raise DomainError(
            "Other posts are writing these judgements right now; post again."
        ) from None


def _record(rater: Rater, origin: Origin, kind: str, entry: Any) -> Record:
    """An entry as a native record (`judgement` or `score`) of the token's rater, or its
    error."""
    if isinstance(entry, dict):
        given = next((name for name in RATER_FIELDS if name in entry), None)
        if given is not None:
            return LineError(origin, given, "the rater is the token's; leave this field out")
        entry = {
            **entry,
            "type": kind,
            "rater": rater.name,
            "rater_group": rater.group,
            "rater_model": rater.model_name,
        }
        if kind == "judgement":
            entry["rater_kind"] = Rater.Kind.MODEL.value
    return native.read_object(entry, origin)


def _batch_write(rater: Rater, batch_id: str, records: list[Record]) -> BatchResult:
    with transaction.atomic():
        # First, so that a second post of this id waits here, not after all the work.
        batch = RaterBatch.objects.create(rater=rater, batch_id=batch_id)
        writer = ImportWriter(rater.project, origin_type=BulkEntry)
        try:
            counts = writer.run(records)
        except ImportRejected as exc:
            raise DomainError(
                f"{exc.error_count} error(s) in the batch; nothing was stored.",
                [entry_error_text(error) for error in exc.details],
                exc.error_count,
            ) from None
        batch.created = counts.judgements_created + counts.scores_created
        batch.unchanged = counts.judgements_unchanged + counts.scores_unchanged
        batch.save(update_fields=["created", "unchanged"])
    return BatchResult.of(batch, repeated=False)
