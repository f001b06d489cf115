"""The annotator queue through the ORM: claim the next item, store a submission.

The engine for SQLite and the one `queue_sql` falls back to in the rare cases it leaves to
this one (a resumed item, races). Every rule that must hold under concurrency is a database
constraint (see `Assignment` and `Judgement`); the code here chooses what to write and lets
the database refuse a duplicate.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotations.annotate import openness, rules, selectors
from annotations.annotate.raters import rater_for_user
from annotations.annotate.rules import JudgementRow, Submission, SubmissionConflict, SubmitResult
from annotations.annotate.sheet import ItemSheet
from annotations.audit import AuditAction, audit_record
from annotations.errors import DomainError
from annotations.models import Assignment, GoldItem, Item, Judgement, Project, Rater, Step

CANDIDATES_PER_ROUND = 8
CLAIM_ROUNDS = 5


# ---- next ------------------------------------------------------------------------------------


def assignment_next(
    *, user: AbstractBaseUser, slug: str, start: int | None = None
) -> ItemSheet | None:
    """The user's open item, or a newly claimed one; None when nothing is left for them.

    `start` is where the claim starts in the scatter order (`rules.claim_start`, random by
    default). Http404 when the user is not a member of the project.
    """
    project = selectors.membership_get_for_annotator(user=user, slug=slug).project
    assignment = assignment_claim(user=user, project=project, start=start)
    return None if assignment is None else selectors.item_sheet_get(assignment=assignment)


def assignment_claim(
    *, user: AbstractBaseUser, project: Project, start: int | None = None
) -> Assignment | None:
    """Claiming is a plain INSERT that the database may refuse: (item, slot) is unique and
    slots run 0..k-1, so at most k annotators hold an item however many ask at once; (item,
    user) is unique, so nobody gets an item twice; one open item per (project, user), so two
    tabs asking together end up on the same item. A refused insert moves on to the next
    candidate."""
    for _ in range(CLAIM_ROUNDS):
        current = selectors.assignment_open(user=user, project=project)
        if current is not None:
            return current
        candidates = selectors.claimable_from(
            user_id=user.pk,
            project=project,
            start=rules.claim_start() if start is None else start,
            limit=CANDIDATES_PER_ROUND,
        )
        if not candidates:
            return None
        for item in candidates:
            assignment = _claim(user=user, project=project, item=item)
            if assignment is not None:
                return assignment
        start = None  # every candidate went to someone else: look elsewhere
    raise DomainError("Many annotators are asking for items right now; please try again.")


def _free_slot(*, item: Item, overlap: int) -> int | None:
    taken = set(
        Assignment.objects.filter(item_id=item.pk, slot__isnull=False)
        .order_by()
        .values_list("slot", flat=True)
    )
    return next((s for s in range(overlap) if s not in taken), None)


def _claim(*, user: AbstractBaseUser, project: Project, item: Item) -> Assignment | None:
    for _ in range(project.overlap + 1):
        slot = None if item.is_gold else _free_slot(item=item, overlap=project.overlap)
        if slot is None and not item.is_gold:
            return None
        try:
            with transaction.atomic():
                assignment = Assignment.objects.create(
                    project=project, item=item, user=user, slot=slot, is_gold=item.is_gold
                )
                if slot is not None:
                    openness.item_slots_change(item_id=item.pk, delta=-1)
            return Assignment.objects.select_related("item", "project").get(pk=assignment.pk)
        except IntegrityError:
            # Another tab of the same user claimed first, or another annotator took the slot.
            current = selectors.assignment_open(user=user, project=project)
            if current is not None:
                return current
            if Assignment.objects.filter(item_id=item.pk, user=user).exists():
                return None
    return None


# ---- submit ----------------------------------------------------------------------------------


def _judgements_write(*, rater: Rater, item: Item, rows: list[JudgementRow], fields: dict) -> int:
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


def _stored_count(assignment: Assignment) -> int:
    return Judgement.objects.filter(
        item_id=assignment.item_id,
        rater__project_id=assignment.project_id,
        rater__user_id=assignment.user_id,
    ).count()


def _repeated(assignment: Assignment) -> SubmitResult:
    return SubmitResult(assignment.item_id, assignment.status, _stored_count(assignment), True)


def _changes(assignment: Assignment, submission: Submission, rows: list[JudgementRow]) -> dict:
    changes: dict[str, Any] = {
        "status": Assignment.Status.SUBMITTED,
        "submission_id": submission.submission_id,
        "submitted_at": timezone.now(),
        "time_spent_ms": rules.time_total(assignment.time_spent_ms, submission.time_spent_ms),
    }
    gold = GoldItem.objects.filter(item_id=assignment.item_id).order_by().first()
    if gold is not None:
        changes["gold_correct"], changes["gold_total"] = rules.gold_score(gold.expected, rows)
    return changes


def _conflict_check(
    assignment: Assignment, submission: Submission, rows: list[JudgementRow]
) -> SubmitResult | None:
    """None when the submission may be written over what is stored (`rules.submission_conflict`);
    a repeat when it stores what is stored already; SubmissionConflict otherwise."""
    if not rules.submission_conflict(
        stored_version=assignment.submission_id, submission=submission
    ):
        return None
    stored = selectors.own_answers_described(assignment=assignment)
    if rules.same_answers(rows, stored, submission.rationale):
        return _repeated(assignment)
    rationale = stored[0]["rationale"] if stored else ""
    raise SubmissionConflict(version=assignment.submission_id, stored=stored, rationale=rationale)


def _overwrite_record(
    user: AbstractBaseUser, assignment: Assignment, submission: Submission, replaced: object
) -> None:
    """The audit event of a confirmed overwrite of the stored version `replaced` (inside the
    submit's transaction); nothing for a submission made against that version."""
    if submission.base is rules.UNCHECKED or submission.base == replaced:
        return
    audit_record(
        actor=user,
        project=assignment.project,
        action=AuditAction.ANSWERS_OVERWRITE,
        target=assignment.item,
        detail={
            "item": assignment.item_id,
            "replaced": str(submission.overwrite),
            "by": str(submission.submission_id),
        },
    )


def assignment_submit(
    *, user: AbstractBaseUser, slug: str, item_id: int, submission: Submission
) -> SubmitResult:
    """Record the annotator's judgements of an item of their queue, replacing their earlier
    ones. Http404 outside their queue, DomainError for an invalid submission.

    Idempotent: a repeated submission id is a no-op, a new one updates the rows in place, and
    the (rater, target, criterion) unique constraints refuse any second row; so a double
    click, a retry or two tabs leave one judgement per target. Writes to the assignment are
    serialised by its row lock, taken by a conditional UPDATE that matches only the state
    the assignment was read in (status, submission id, time spent). If that state has moved
    on (a retry racing its original, another tab), the UPDATE matches nothing and the checks
    are made again on the row locked with SELECT ... FOR UPDATE.

    A submission that says which stored answers it was made against (`Submission.base`) is
    refused with SubmissionConflict when other answers were stored since, unless it stores
    the same answers (a repeat) or its author confirmed replacing them (`overwrite`; audited).
    """
    assignment = selectors.assignment_get_for_annotator(user=user, slug=slug, item_id=item_id)
    if assignment.submission_id == submission.submission_id:
        return _repeated(assignment)
    item, project = assignment.item, assignment.project
    rows = rules.submission_rows(
        kind=item.kind,
        n_steps=item.n_steps,
        criteria=selectors.project_criteria(project_id=project.pk),
        labels=submission.labels,
        error_ends_solution=project.error_ends_solution,
        rationale=submission.rationale,
        asked=submission.criteria,
    )
    if (answered := _conflict_check(assignment, submission, rows)) is not None:
        return answered
    rater = rater_for_user(user_id=assignment.user_id, project_id=project.pk)
    changes = _changes(assignment, submission, rows)
    meta = rules.judgement_meta(
        submission_id=submission.submission_id, kind=item.kind, swapped=assignment.swapped
    )
    with transaction.atomic():
        updated = Assignment.objects.filter(
            pk=assignment.pk,
            status__in=rules.ANNOTATOR_STATUSES,
            submission_id=assignment.submission_id,
            time_spent_ms=assignment.time_spent_ms,
        ).update(**changes)
        replaced = assignment.submission_id
        if not updated:
            # Lock only the assignment row, and without blocking the key-share locks that
            # every insert referencing the item or project takes.
            locked = Assignment.objects.select_for_update(no_key=True).get(pk=assignment.pk)
            if locked.status not in rules.ANNOTATOR_STATUSES:
                raise DomainError("This item is no longer in your queue.")
            if locked.submission_id == submission.submission_id:
                return _repeated(locked)
            if (answered := _conflict_check(locked, submission, rows)) is not None:
                return answered
            replaced = locked.submission_id
            changes["time_spent_ms"] = rules.time_total(
                locked.time_spent_ms, submission.time_spent_ms
            )
            Assignment.objects.filter(pk=locked.pk).update(**changes)
        _overwrite_record(user, assignment, submission, replaced)
        fields = {
            "rationale": submission.rationale,
            "time_spent_ms": changes["time_spent_ms"],
            "meta": meta,
        }
        stored = _judgements_write(rater=rater, item=item, rows=rows, fields=fields)
    return SubmitResult(item.pk, Assignment.Status.SUBMITTED, stored, repeated=False)
