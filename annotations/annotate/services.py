"""Writes for the annotator interface: claiming items, submitting, skipping, gold, settings.

Every rule that must hold under concurrency is a database constraint (see `Assignment` and
`Judgement`); the code here chooses what to write and lets the database refuse a duplicate.
"""

import json
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotations import services as core_services
from annotations.annotate import selectors
from annotations.errors import DomainError
from annotations.models import (
    Assignment,
    Criterion,
    GoldItem,
    Item,
    Judgement,
    Membership,
    Project,
    Rater,
    Step,
)
from annotations.values import ValueRejected, ValueRule, describe

CANDIDATES_PER_ROUND = 8
CLAIM_ROUNDS = 5
MAX_TIME_PER_SUBMISSION_MS = 6 * 3600 * 1000
MAX_RATIONALE = 10_000


# ---- lead settings ---------------------------------------------------------------------------


def project_annotation_set(*, project: Project, overlap: int, error_ends_solution: bool) -> Project:
    """Set k (annotators per item) and whether an error step ends a solution.

    Lowering k never takes items away from annotators who already hold them.
    """
    if not 1 <= overlap <= 100:
        raise DomainError("Overlap must be between 1 and 100 annotators per item.")
    project.overlap = overlap
    project.error_ends_solution = error_ends_solution
    project.save(update_fields=["overlap", "error_ends_solution"])
    return project


def annotator_add(*, project: Project, username: str, rater_group: str) -> Membership:
    """Add a user to the project as an annotator (a lead stays a lead; the group is updated)."""
    user = get_user_model().objects.filter(username=username.strip()).first()
    if user is None:
        raise DomainError(f"There is no user called {username.strip()!r}.")
    rater_group = rater_group.strip() or "expert"
    existing = Membership.objects.filter(project=project, user=user).first()
    role = existing.role if existing else Membership.Role.ANNOTATOR
    return core_services.membership_set(
        project=project, user=user, role=role, rater_group=rater_group
    )


# ---- the queue -------------------------------------------------------------------------------


def assignment_next(*, user: AbstractBaseUser, project: Project) -> Assignment | None:
    """The user's open item, or a newly claimed one; None when nothing is left for them.

    Claiming is a plain INSERT that the database may refuse: (item, slot) is unique and slots
    run 0..k-1, so at most k annotators hold an item however many ask at once; (item, user) is
    unique, so nobody gets an item twice; one open item per (project, user), so two tabs asking
    together end up on the same item. A refused insert moves on to the next candidate.
    """
    for _ in range(CLAIM_ROUNDS):
        current = selectors.assignment_open(user=user, project=project)
        if current is not None:
            return current
        candidates = selectors.items_claimable(
            user=user, project=project, limit=CANDIDATES_PER_ROUND
        )
        if not candidates:
            return None
        for candidate in candidates:
            assignment = _claim(user=user, project=project, candidate=candidate)
            if assignment is not None:
                return assignment
    # Every candidate went to someone else between our read and our insert, five times over.
    raise DomainError("Many annotators are asking for items right now; please try again.")


def _claim(
    *, user: AbstractBaseUser, project: Project, candidate: selectors.Candidate
) -> Assignment | None:
    taken = candidate.taken
    for _ in range(project.overlap + 1):
        slot = None
        if not candidate.is_gold:
            if taken is None:
                taken = frozenset(
                    Assignment.objects.filter(item_id=candidate.item_id, slot__isnull=False)
                    .order_by()
                    .values_list("slot", flat=True)
                )
            free = [s for s in range(project.overlap) if s not in taken]
            if not free:
                return None
            slot = free[0]
        try:
            with _savepoint_if_nested():
                return Assignment.objects.create(
                    project=project,
                    item_id=candidate.item_id,
                    user=user,
                    slot=slot,
                    is_gold=candidate.is_gold,
                    swapped=selectors.pair_swapped(user_id=user.pk, item_id=candidate.item_id),
                )
        except IntegrityError:
            # Another tab of the same user claimed first, or another annotator took the slot.
            current = selectors.assignment_open(user=user, project=project)
            if current is not None:
                return current
            if Assignment.objects.filter(item_id=candidate.item_id, user=user).exists():
                return None
            taken = None  # read the slots again
    return None


def _savepoint_if_nested() -> AbstractContextManager:
    """A savepoint inside a transaction, so a refused INSERT does not break it; nothing in
    autocommit mode, where the refused statement rolls back on its own (and BEGIN and COMMIT
    would cost two more round trips on every claim)."""
    return transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()


def assignment_skip(*, assignment: Assignment, reason: str, flag: bool = False) -> Assignment:
    """Give the item back: it leaves the user's queue for good and its slot goes to another.

    A flagged item (broken: unreadable, wrong, duplicate) is also held back from everyone
    until a lead releases it.
    """
    reason = reason.strip()
    if flag and not reason:
        raise DomainError("Say what is wrong with the item.")
    with transaction.atomic():
        locked = Assignment.objects.select_for_update(no_key=True).get(pk=assignment.pk)
        if locked.status != Assignment.Status.ASSIGNED:
            raise DomainError("Only an item you have not submitted can be skipped.")
        locked.status = Assignment.Status.FLAGGED if flag else Assignment.Status.SKIPPED
        locked.slot = None
        locked.reason = reason[:MAX_RATIONALE]
        locked.save(update_fields=["status", "slot", "reason"])
    return locked


def assignment_release_flag(*, assignment: Assignment) -> Assignment:
    """A lead returns a flagged item to the queue (the flagging annotator won't get it again)."""
    updated = Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.FLAGGED).update(
        status=Assignment.Status.SKIPPED
    )
    if not updated:
        raise DomainError("This item is not flagged.")
    assignment.refresh_from_db()
    return assignment


# ---- submissions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelInput:
    """One answer: a criterion, a step index (None for item criteria) and the value.

    Pairwise values are always in the item's orientation ("a" is the item's response_a).
    """

    criterion_id: int
    step: int | None
    value: Any


@dataclass(frozen=True)
class _Row:
    criterion: Criterion
    step: int | None
    value: Any
    code: float


def assignments_release_stale(*, older_than: timedelta) -> int:
    """Give back the slots of items claimed longer ago than `older_than` and never submitted.

    An annotator who opens an item and walks away would otherwise hold one of its k slots for
    ever. Only unsubmitted claims are released (nothing submitted is touched); the item goes
    back to the pool, and to the same annotator too, since they never judged it.
    """
    cutoff = timezone.now() - older_than
    released, _ = Assignment.objects.filter(
        status=Assignment.Status.ASSIGNED, is_gold=False, created_at__lt=cutoff
    ).delete()
    return released


def rater_for_user(*, user_id: int, project: Project) -> Rater:
    """The user's human rater in the project, created on first use in their membership group."""
    raters = Rater.objects.filter(project=project, user_id=user_id).order_by()
    rater = raters.first()
    if rater is not None:
        return rater
    user = get_user_model().objects.get(pk=user_id)
    membership = Membership.objects.get(project=project, user=user)
    username = user.get_username()
    for name in (username, f"{username} (user {user.pk})"):
        try:
            with transaction.atomic():
                return Rater.objects.create(
                    project=project,
                    user=user,
                    name=name,
                    kind=Rater.Kind.HUMAN,
                    group=membership.rater_group,
                )
        except IntegrityError:
            # The name belongs to an imported rater, or our own rater was created meanwhile.
            rater = raters.first()
            if rater is not None:
                return rater
    raise DomainError("Your rater could not be created; ask a project lead.")


def _check_value(criterion: Criterion, value: Any) -> float:
    """The value's code; the error message names only the submitted value and the labels."""
    try:
        return ValueRule.of(criterion).code(value)
    except ValueRejected as exc:
        raise DomainError(f"{criterion.name}: {exc.message}.") from None


def _validate(
    *, item: Item, project: Project, labels: list[LabelInput]
) -> tuple[list[_Row], list[str]]:
    """Check a submission; return the rows to store and the missing answers."""
    criteria = selectors.criteria_for_item(
        item=item, criteria=selectors.project_criteria(project=project)
    )
    by_id = {c.pk: c for c in criteria}
    given: dict[tuple[int, int | None], _Row] = {}
    for label in labels:
        criterion = by_id.get(label.criterion_id)
        if criterion is None:
            raise DomainError("A label names a criterion this item is not judged on.")
        if criterion.target == Criterion.Target.STEP:
            if label.step is None or not 0 <= label.step < item.n_steps:
                raise DomainError(
                    f"{criterion.name}: this item has steps 1 to {item.n_steps}; "
                    f"got step {describe(label.step)}."
                )
        elif label.step is not None:
            raise DomainError(f"{criterion.name} judges the whole item, not a step.")
        key = (criterion.pk, label.step)
        if key in given:
            raise DomainError(f"{criterion.name}: the same target is labelled twice.")
        code = _check_value(criterion, label.value)
        given[key] = _Row(criterion, label.step, label.value, code)

    end = item.n_steps
    if project.error_ends_solution:
        for row in given.values():
            errors = {json.dumps(v) for v in row.criterion.error_labels}
            if row.step is not None and json.dumps(row.value) in errors:
                end = min(end, row.step + 1)
    missing = []
    for criterion in criteria:
        if criterion.target == Criterion.Target.STEP:
            missing += [
                f"Step {i + 1} needs a label for {criterion.name}."
                for i in range(end)
                if (criterion.pk, i) not in given
            ]
        elif (criterion.pk, None) not in given:
            missing.append(f"{criterion.name} needs an answer.")
    rows = [row for row in given.values() if row.step is None or row.step < end]
    return rows, missing


def _gold_score(gold: GoldItem, rows: list[_Row]) -> tuple[int, int]:
    """Correct and scored answers against the gold item's expected values."""
    correct = total = 0
    for row in rows:
        expected = gold.expected.get(row.criterion.name)
        if row.step is not None:
            in_range = isinstance(expected, list) and row.step < len(expected)
            expected = expected[row.step] if in_range else None
        if expected is None:
            continue
        total += 1
        correct += ValueRule.of(row.criterion).same(expected, row.value)
    return correct, total


def _judgements_write(*, rater: Rater, item: Item, rows: list[_Row], fields: dict) -> int:
    """Make the rater's judgements of the item exactly `rows`: update, insert, delete in bulk.

    The caller holds the assignment's row lock, the only way to write this (rater, item);
    the unique constraints on judgements still refuse a duplicate if that ever failed.
    """
    step_ids = (
        dict(Step.objects.filter(item_id=item.pk).order_by().values_list("index", "pk"))
        if item.n_steps
        else {}
    )
    existing = {
        (j.criterion_id, j.step_id): j
        for j in Judgement.objects.filter(rater=rater, item=item)
        .order_by()
        .only("pk", "criterion_id", "step_id")
    }
    changed, new = [], []
    for row in rows:
        key = (row.criterion.pk, step_ids[row.step] if row.step is not None else None)
        judgement = existing.pop(key, None)
        if judgement is None:
            judgement = Judgement(rater=rater, item=item, step_id=key[1], criterion=row.criterion)
            new.append(judgement)
        else:
            changed.append(judgement)
        judgement.value, judgement.code = row.value, row.code
        for name, value in fields.items():
            setattr(judgement, name, value)
    if changed:
        Judgement.objects.bulk_update(changed, ["value", "code", *fields])
    if new:
        Judgement.objects.bulk_create(new)
    # An edit may answer fewer targets (an earlier error now ends the solution).
    if existing:
        Judgement.objects.filter(pk__in=[j.pk for j in existing.values()]).delete()
    return len(rows)


@dataclass(frozen=True)
class SubmitResult:
    assignment: Assignment
    stored: int
    repeated: bool  # the same submission id was already recorded: nothing was written


def _stored_count(assignment: Assignment) -> int:
    return Judgement.objects.filter(
        item_id=assignment.item_id,
        rater__project_id=assignment.project_id,
        rater__user_id=assignment.user_id,
    ).count()


def _time_total(before: int, added: int) -> int:
    return min(before + max(0, min(added, MAX_TIME_PER_SUBMISSION_MS)), 2**31 - 1)


def assignment_submit(
    *,
    assignment: Assignment,
    labels: list[LabelInput],
    rationale: str = "",
    time_spent_ms: int = 0,
    submission_id: uuid.UUID,
) -> SubmitResult:
    """Record the annotator's judgements of an item, replacing their earlier ones.

    Idempotent: a repeated submission id is a no-op, a new one updates the rows in place, and
    the (rater, target, criterion) unique constraints refuse any second row; so a double
    click, a retry or two tabs leave one judgement per target. Writes to the assignment are
    serialised by its row lock, taken by a conditional UPDATE that matches only the state
    `assignment` was read in (status, submission id, time spent). If that state has moved on
    (a retry racing its original, another tab), the UPDATE matches nothing and the checks are
    made again on the row locked with SELECT ... FOR UPDATE. On success `assignment` is
    updated in place.
    """
    if len(rationale) > MAX_RATIONALE:
        raise DomainError(f"The rationale is longer than {MAX_RATIONALE} characters.")
    if assignment.submission_id == submission_id:
        return SubmitResult(assignment, _stored_count(assignment), repeated=True)
    item, project = assignment.item, assignment.project
    rows, missing = _validate(item=item, project=project, labels=labels)
    if missing:
        raise DomainError("Some answers are missing.", missing)
    rater = rater_for_user(user_id=assignment.user_id, project=project)
    changes: dict[str, Any] = {
        "status": Assignment.Status.SUBMITTED,
        "submission_id": submission_id,
        "submitted_at": timezone.now(),
        "time_spent_ms": _time_total(assignment.time_spent_ms, time_spent_ms),
    }
    gold = GoldItem.objects.filter(item_id=item.pk).order_by().first()
    if gold is not None:
        changes["gold_correct"], changes["gold_total"] = _gold_score(gold, rows)
    meta = {"source": "annotate", "submission_id": str(submission_id)}
    if item.kind == Item.Kind.PAIR:
        meta["swapped"] = assignment.swapped
    with transaction.atomic():
        updated = Assignment.objects.filter(
            pk=assignment.pk,
            status__in=selectors.ANNOTATOR_STATUSES,
            submission_id=assignment.submission_id,
            time_spent_ms=assignment.time_spent_ms,
        ).update(**changes)
        if not updated:
            # Lock only the assignment row, and without blocking the key-share locks that
            # every insert referencing the item or project takes.
            locked = Assignment.objects.select_for_update(no_key=True).get(pk=assignment.pk)
            if locked.status not in selectors.ANNOTATOR_STATUSES:
                raise DomainError("This item is no longer in your queue.")
            if locked.submission_id == submission_id:
                return SubmitResult(locked, _stored_count(locked), repeated=True)
            changes["time_spent_ms"] = _time_total(locked.time_spent_ms, time_spent_ms)
            Assignment.objects.filter(pk=locked.pk).update(**changes)
        stored = _judgements_write(
            rater=rater,
            item=item,
            rows=rows,
            fields={
                "rationale": rationale,
                "time_spent_ms": changes["time_spent_ms"],
                "meta": meta,
            },
        )
    for name, value in changes.items():
        setattr(assignment, name, value)
    return SubmitResult(assignment, stored, repeated=False)


# ---- gold ------------------------------------------------------------------------------------


def gold_set(*, item: Item, expected: dict, user: AbstractBaseUser | None) -> GoldItem:
    """Mark an item as gold with its expected values (validated against its criteria)."""
    if not isinstance(expected, dict) or not expected:
        raise DomainError('Expected labels must be a JSON object like {"validity": [...]}.')
    criteria = {
        c.name: c
        for c in selectors.criteria_for_item(
            item=item, criteria=selectors.project_criteria(project=item.project)
        )
    }
    for name, value in expected.items():
        criterion = criteria.get(name)
        if criterion is None:
            raise DomainError(f"{name!r} is not a criterion of this item.")
        if criterion.target == Criterion.Target.STEP:
            if not isinstance(value, list) or len(value) != item.n_steps:
                raise DomainError(f"{name}: give a list of {item.n_steps} labels (null: any).")
            for entry in value:
                if entry is not None:
                    _check_value(criterion, entry)
        elif value is not None:
            _check_value(criterion, value)
    gold, _ = GoldItem.objects.update_or_create(
        item=item, defaults={"expected": expected, "created_by": user}
    )
    return gold


def gold_remove(*, item: Item) -> None:
    GoldItem.objects.filter(item=item).delete()
