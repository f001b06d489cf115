"""Reads for the annotator interface. Access checks start from the user and raise Http404.

Nothing here that builds an annotator-facing view reads another rater's judgement, an item's
`meta` (imported datasets keep labels there) or a gold item's expected values.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from annotations.annotate.openness import OPEN
from annotations.annotate.rules import ANNOTATOR_STATUSES, Claim, ItemText
from annotations.annotate.sheet import ItemSheet, OwnAnswer, item_sheet_build
from annotations.models import (
    Assignment,
    Criterion,
    GoldItem,
    Item,
    Judgement,
    Membership,
    Project,
    QueueCounter,
    Step,
)

# ---- access ----------------------------------------------------------------------------------


def membership_get_for_annotator(*, user: AbstractBaseUser, slug: str) -> Membership:
    """The user's membership of the project (any role may annotate); 404 otherwise."""
    if not user.is_authenticated:
        raise Http404("No such project.")
    membership = (
        Membership.objects.select_related("project").filter(user=user, project__slug=slug).first()
    )
    if membership is None:
        raise Http404("No such project.")
    return membership


def assignment_get_for_annotator(*, user: AbstractBaseUser, slug: str, item_id: int) -> Assignment:
    """The user's own open or submitted assignment of the item; 404 for anything else.

    Another annotator's item, an item of another project, an item never assigned to the user,
    one they skipped and one of a project they are no longer a member of all look the same
    from outside: not found. One query: the membership is checked by a join.
    """
    if not user.is_authenticated:
        raise Http404("This item is not in your queue.")
    assignment = (
        Assignment.objects.select_related("item", "project")
        .filter(
            user=user,
            project__slug=slug,
            project__memberships__user=user,
            item_id=item_id,
            status__in=ANNOTATOR_STATUSES,
        )
        .order_by()
        .first()
    )
    if assignment is None:
        raise Http404("This item is not in your queue.")
    return assignment


def assignment_open(*, user: AbstractBaseUser, project: Project) -> Assignment | None:
    # No ordering: there is at most one open item per (project, user).
    return (
        Assignment.objects.select_related("item", "project")
        .filter(user=user, project=project, status=Assignment.Status.ASSIGNED)
        .order_by()
        .first()
    )


def assignment_last_submitted(*, user: AbstractBaseUser, project: Project) -> Assignment | None:
    return (
        Assignment.objects.filter(user=user, project=project, status=Assignment.Status.SUBMITTED)
        .order_by("-submitted_at", "-pk")
        .first()
    )


def project_criteria(*, project_id: int) -> list[Criterion]:
    """The project's criteria in order.

    Ordered by position within the project: `Criterion.Meta.ordering` starts with the project
    and so would join it only to sort by its name.
    """
    return list(Criterion.objects.filter(project_id=project_id).order_by("position", "id"))


# OPEN seen from an assignment (the rule on its item).
OPEN_VIA_ITEM = Q(item__flags=0) & (Q(item__open_slots__isnull=True) | Q(item__open_slots__gt=0))

# ---- the queue -------------------------------------------------------------------------------


def items_claimable(*, user_id: int, project: Project) -> QuerySet[Item]:
    """Items the user may take now, with `is_gold` and `n_taken` (slots held) annotated.

    An item is claimable when it is open (`openness.OPEN`: nobody flagged it, held back from
    everyone until a lead releases it, and it is gold, shown to everyone and taking no slot,
    or fewer than k annotators hold a slot of it) and the user never had it (whatever became
    of it). Openness is kept on the item, so this reads the partial index of open items and
    asks per item only whether the user had it: a LIMIT stops early at any progress.
    """
    taken = (
        Assignment.objects.filter(item=OuterRef("pk"), slot__isnull=False)
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Item.objects.filter(project=project)
        .filter(OPEN)
        .exclude(Exists(Assignment.objects.filter(item=OuterRef("pk"), user_id=user_id)))
        .annotate(
            n_taken=Coalesce(Subquery(taken), 0),
            is_gold=Exists(GoldItem.objects.filter(item=OuterRef("pk"))),
        )
    )


def claimable_from(*, user_id: int, project: Project, start: int, limit: int) -> list[Item]:
    """The next `limit` claimable items from `start` on in the scatter order, wrapping around:
    two index scans of (project, scatter) that stop at the limit."""
    claimable = items_claimable(user_id=user_id, project=project).order_by("scatter")
    found = list(claimable.filter(scatter__gte=start).only("pk")[:limit])
    if len(found) < limit:
        found += claimable.filter(scatter__lt=start).only("pk")[: limit - len(found)]
    return found


@dataclass(frozen=True)
class Progress:
    done: int
    remaining: int
    position: int


def queue_progress(*, user: AbstractBaseUser, project: Project) -> Progress:
    """How many items the user has submitted and how many are left for them.

    Exact, and without reading the project: the items left are the project's open items
    (`QueueCounter`, kept by `openness`) less those the user already had; the second
    term reads only the user's own rows.
    """
    counts = Assignment.objects.filter(user=user, project=project).aggregate(
        done=Count("pk", filter=Q(status=Assignment.Status.SUBMITTED)),
        open=Count("pk", filter=Q(status=Assignment.Status.ASSIGNED)),
        had_open_items=Count("pk", filter=OPEN_VIA_ITEM),
    )
    counter = QueueCounter.objects.filter(project=project).values_list("items_open", flat=True)
    items_open = counter[0] if counter else 0
    left = max(items_open - counts["had_open_items"], 0)
    return Progress(
        done=counts["done"],
        remaining=left + counts["open"],
        position=counts["done"] + 1,
    )


# ---- the item page ---------------------------------------------------------------------------


def item_text(item: Item) -> ItemText:
    return ItemText(
        pk=item.pk,
        kind=item.kind,
        prompt=item.prompt,
        response=item.response,
        response_a=item.response_a,
        response_b=item.response_b,
        reference_answer=item.reference_answer,
        n_steps=item.n_steps,
    )


def claim_of(assignment: Assignment) -> Claim:
    """The record of an assignment read with its project."""
    return Claim(
        pk=assignment.pk,
        item_id=assignment.item_id,
        project_slug=assignment.project.slug,
        slot=assignment.slot,
        status=assignment.status,
        is_gold=assignment.is_gold,
        swapped=assignment.swapped,
        submitted_at=assignment.submitted_at,
        submission_id=assignment.submission_id,
    )


def _own_answers(assignment: Assignment) -> list[OwnAnswer]:
    """The assignment's user's judgements of its item: the only judgements shown to them."""
    rows = Judgement.objects.filter(
        item_id=assignment.item_id,
        rater__project_id=assignment.project_id,
        rater__user_id=assignment.user_id,
    ).values_list("criterion_id", "step__index", "value", "rationale")
    return [OwnAnswer(*row) for row in rows]


@dataclass(frozen=True)
class FirstTurn:
    """A second-turn pair's first turn: both assistants' answers to the turn-1 question, left
    to right as this annotator sees the pair (the turn-1 question is in the item's prompt)."""

    answers: tuple[str, str]


def item_first_turn(*, assignment: Assignment) -> FirstTurn | None:
    """The turn-1 answers the MT-bench importer keeps in a turn-2 pair's meta; None for any
    other item. Only these two keys are read: the rest of the meta (models' names, labels)
    never reaches an annotator."""
    meta = assignment.item.meta or {}
    first = (meta.get("turn1_answer_a"), meta.get("turn1_answer_b"))
    if assignment.item.kind != Item.Kind.PAIR or not all(isinstance(a, str) for a in first):
        return None
    return FirstTurn(answers=first[::-1] if assignment.swapped else first)


def own_answers_described(*, assignment: Assignment) -> list[dict]:
    """The assignment's user's stored answers to its item, as an edit conflict shows them:
    criterion name, step (0-based, None for the whole item), value and rationale."""
    rows = (
        Judgement.objects.filter(
            item_id=assignment.item_id,
            rater__project_id=assignment.project_id,
            rater__user_id=assignment.user_id,
        )
        .order_by("criterion__position", "criterion_id", "step__index")
        .values("criterion__name", "step__index", "value", "rationale")
    )
    return [
        {
            "criterion": r["criterion__name"],
            "step": r["step__index"],
            "value": r["value"],
            "rationale": r["rationale"],
        }
        for r in rows
    ]


def item_sheet_get(
    *,
    assignment: Assignment,
    posted: dict[str, str] | None = None,
    asked: frozenset[int] | None = None,
) -> ItemSheet:
    """The annotator's view of an assignment (read with its item and project), filled with
    their own earlier judgements; `posted` form values take precedence; `asked` limits it to
    the criteria a form was rendered with."""
    # A just-claimed item has no judgements of this user yet: skip the query.
    own = _own_answers(assignment) if assignment.submitted_at else []
    steps = list(
        Step.objects.filter(item_id=assignment.item_id)
        .order_by("index")
        .values_list("index", "text")
    )
    return item_sheet_build(
        claim=claim_of(assignment),
        item=item_text(assignment.item),
        criteria=project_criteria(project_id=assignment.project_id),
        steps=steps,
        error_ends_solution=assignment.project.error_ends_solution,
        own=own,
        posted=posted,
        asked=asked,
    )
