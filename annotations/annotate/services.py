"""Writes for the annotator interface: claiming items, submitting, skipping, gold, settings.

The queue's two busy calls, next and submit, choose their engine here; nothing else does.

Every rule that must hold under concurrency is a database constraint (see `Assignment` and
`Judgement`); the code here chooses what to write and lets the database refuse a duplicate.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from annotations import services as core_services
from annotations.annotate import openness, queue_orm, queue_sql, rules, selectors
from annotations.annotate.rules import MAX_RATIONALE, Submission, SubmitResult
from annotations.annotate.sheet import ItemSheet
from annotations.audit import AuditAction, audit_record
from annotations.errors import DomainError
from annotations.models import Assignment, Criterion, GoldItem, Item, Membership, Project

# ---- the queue: one seam, two engines --------------------------------------------------------


def _sql_engine() -> bool:
    """Whether the queue runs on `queue_sql` (PostgreSQL statements) rather than the ORM.

    Both follow the same rules (`test_queue_contract.py` runs against each); the statements
    exist because building the ORM's queries cost more CPU than running them.
    """
    return connection.vendor == "postgresql" and settings.ANNOTATE_SQL_QUEUE


def assignment_next(
    *, user: AbstractBaseUser, slug: str, start: int | None = None, prefetched: object = None
) -> ItemSheet | None:
    """The user's open item, or a newly claimed one; None when nothing is left for them.
    Http404 when the user may not annotate the project.

    `start` is where the claim starts in the scatter order (random by default);
    `prefetched` is what token authentication read for the call (`request.auth`).
    """
    if _sql_engine():
        return queue_sql.assignment_next(user=user, slug=slug, start=start, prefetched=prefetched)
    return queue_orm.assignment_next(user=user, slug=slug, start=start)


def assignment_submit(
    *,
    user: AbstractBaseUser,
    slug: str,
    item_id: int,
    submission: Submission,
    prefetched: object = None,
) -> SubmitResult:
    """Record the user's answers to an item of their queue (see `queue_orm.assignment_submit`
    for the rules). Http404 outside their queue, DomainError for an invalid submission."""
    if _sql_engine():
        return queue_sql.assignment_submit(
            user=user, slug=slug, item_id=item_id, submission=submission, prefetched=prefetched
        )
    return queue_orm.assignment_submit(user=user, slug=slug, item_id=item_id, submission=submission)


# ---- lead settings ---------------------------------------------------------------------------


def project_annotation_set(
    *,
    project: Project,
    overlap: int,
    error_ends_solution: bool,
    annotator_group: str | None = None,
) -> Project:
    """Set k (annotators per item), whether an error step ends a solution and the group new
    annotators' judgements go into (members already added keep theirs: move them one by one).

    Lowering k never takes items away from annotators who already hold them.
    """
    if not 1 <= overlap <= 100:
        raise DomainError("Overlap must be between 1 and 100 annotators per item.")
    project.overlap = overlap
    project.error_ends_solution = error_ends_solution
    fields = ["overlap", "error_ends_solution"]
    if annotator_group is not None:
        project.annotator_group = core_services.rater_group_clean(annotator_group)
        fields.append("annotator_group")
    with transaction.atomic():
        changed = Project.objects.filter(pk=project.pk).exclude(overlap=overlap).exists()
        project.save(update_fields=fields)
        if changed:
            # Every item's free slots follow k: recounted set-based (a lead's rare change).
            openness.queue_counters_refresh(project_id=project.pk)
    return project


def annotator_add(
    *,
    project: Project,
    username: str,
    rater_group: str = "",
    actor: AbstractBaseUser | None = None,
) -> Membership:
    """Add a user to the project as an annotator (a lead stays a lead). A blank group means
    the project's annotator group for a new member and no change for an existing one; another
    group moves an existing member there with their judgements."""
    user = get_user_model().objects.filter(username=username.strip()).first()
    if user is None:
        raise DomainError(f"There is no user called {username.strip()!r}.")
    existing = Membership.objects.filter(project=project, user=user).first()
    role = existing.role if existing else Membership.Role.ANNOTATOR
    return core_services.membership_set(
        project=project,
        user=user,
        role=role,
        rater_group=rater_group.strip() or None,
        actor=actor,
        audit_action=AuditAction.ANNOTATOR_ADD,
    )


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
        held_slot = locked.slot is not None
        locked.status = Assignment.Status.FLAGGED if flag else Assignment.Status.SKIPPED
        locked.slot = None
        locked.reason = reason[:MAX_RATIONALE]
        locked.save(update_fields=["status", "slot", "reason"])
        if held_slot:
            openness.item_slots_change(item_id=locked.item_id, delta=1)
        if flag:
            openness.item_flags_change(item_id=locked.item_id, delta=1)
    return locked


def assignment_release_flag(
    *, assignment: Assignment, actor: AbstractBaseUser | None = None
) -> Assignment:
    """A lead returns a flagged item to the queue (the flagging annotator won't get it again)."""
    with transaction.atomic():
        updated = Assignment.objects.filter(
            pk=assignment.pk, status=Assignment.Status.FLAGGED
        ).update(status=Assignment.Status.SKIPPED)
        if not updated:
            raise DomainError("This item is not flagged.")
        openness.item_flags_change(item_id=assignment.item_id, delta=-1)
        audit_record(
            actor=actor,
            project=assignment.project,
            action=AuditAction.FLAG_RELEASE,
            target=assignment,
            detail={"item": assignment.item.external_id, "reason": assignment.reason},
        )
    assignment.refresh_from_db()
    return assignment


def assignments_release_stale(*, older_than: timedelta) -> int:
    """Give back the slots of items claimed longer ago than `older_than` and never submitted.

    An annotator who opens an item and walks away would otherwise hold one of its k slots for
    ever. Only unsubmitted claims are released (nothing submitted is touched); the item goes
    back to the pool, and to the same annotator too, since they never judged it.
    """
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        # Locked, so a submission racing the reaper either lands first (and the row is no
        # longer open) or waits and finds the row gone.
        stale = list(
            Assignment.objects.select_for_update()
            .filter(status=Assignment.Status.ASSIGNED, is_gold=False, created_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", "item_id", "slot")
        )
        Assignment.objects.filter(pk__in=[pk for pk, _, _ in stale]).delete()
        for _, item_id, slot in stale:
            if slot is not None:
                openness.item_slots_change(item_id=item_id, delta=1)
    return len(stale)


# ---- gold ------------------------------------------------------------------------------------


def gold_expected_check(*, item: Item, expected: object) -> None:
    """Raise DomainError unless `expected` is a valid gold answer for the item: an object of
    its criteria's names, a label list with one entry per step (null: any) for a step
    criterion, one value (or null) for an item criterion."""
    if not isinstance(expected, dict) or not expected:
        raise DomainError('Expected labels must be a JSON object like {"validity": [...]}.')
    criteria = {
        c.name: c
        for c in rules.criteria_for_item(
            kind=item.kind, criteria=selectors.project_criteria(project_id=item.project_id)
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
                    rules.value_code(criterion, entry)
        elif value is not None:
            rules.value_code(criterion, value)


def gold_set(*, item: Item, expected: dict, user: AbstractBaseUser | None) -> GoldItem:
    """Mark an item as gold with its expected values (validated against its criteria)."""
    gold_expected_check(item=item, expected=expected)
    with transaction.atomic():
        gold, created = GoldItem.objects.update_or_create(
            item=item, defaults={"expected": expected, "created_by": user}
        )
        if created:
            openness.item_gold_made(item_id=item.pk)
        audit_record(
            actor=user,
            project=item.project,
            action=AuditAction.GOLD_SET,
            target=item,
            detail={"item": item.external_id, "created": created, "expected": expected},
        )
    return gold
