"""Reads for the annotator interface. Access checks start from the user and raise Http404.

Nothing here that builds an annotator-facing view reads another rater's judgement, an item's
`meta` (imported datasets keep labels there) or a gold item's expected values.
"""

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Mod
from django.http import Http404

from annotations.models import (
    SCATTER_SPAN,
    Assignment,
    Criterion,
    GoldItem,
    Item,
    Judgement,
    Membership,
    Project,
    Step,
)

# The queue's order. Items sit in a fixed scatter order (`Item.scatter`, Fibonacci hashing
# of the id, indexed per project); every claim starts at a fresh random point of it and takes
# the first item the user may have, wrapping around. So each annotator's sequence is a random
# draw without replacement, different for every annotator and unrelated to the import order,
# and an item's chance to come next is nearly the same for all (the scatter leaves only three
# gap sizes between neighbours), which also keeps annotators off each other's items.
ANNOTATOR_STATUSES = (Assignment.Status.ASSIGNED, Assignment.Status.SUBMITTED)
_claim_random = random.SystemRandom()


def claim_start() -> int:
    """A random point of the scatter order, where the next claim starts looking."""
    return _claim_random.randrange(SCATTER_SPAN)


def _digest(*parts: object) -> int:
    text = ":".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def pair_swapped(*, user_id: int, item_id: int) -> bool:
    """Whether this annotator sees answer B first: fixed per (annotator, item), 50/50."""
    return _digest("swap", user_id, item_id) % 2 == 1


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


def project_criteria(*, project: Project) -> list[Criterion]:
    """The project's criteria in order, read once per Project instance (that is, per request).

    Ordered by position within the project: `Criterion.Meta.ordering` starts with the project
    and so would join it only to sort by its name.
    """
    cached = getattr(project, "_annotate_criteria", None)
    if cached is None:
        cached = list(Criterion.objects.filter(project_id=project.pk).order_by("position", "id"))
        project._annotate_criteria = cached
    return cached


# ---- the queue -------------------------------------------------------------------------------


def _claimable(*, user: AbstractBaseUser, project: Project) -> QuerySet[Item]:
    """Items the user may take now: not theirs before, not flagged, a slot free (or gold)."""
    seen_or_flagged = Assignment.objects.filter(item=OuterRef("pk")).filter(
        Q(user=user) | Q(status=Assignment.Status.FLAGGED)
    )
    # A count per item (not a join and GROUP BY over the project), so a LIMIT can stop early.
    taken = (
        Assignment.objects.filter(item=OuterRef("pk"), slot__isnull=False)
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Item.objects.filter(project=project)
        .exclude(Exists(seen_or_flagged))
        .annotate(
            n_taken=Coalesce(Subquery(taken), 0),
            gold_item=Exists(GoldItem.objects.filter(item=OuterRef("pk"))),
        )
        .filter(Q(gold_item=True) | Q(n_taken__lt=project.overlap))
    )


@dataclass(frozen=True)
class Candidate:
    item_id: int
    is_gold: bool
    taken: frozenset[int] | None = None  # the slots held when it was read (None: not read)


CLAIM_WINDOW = 64


def items_claimable(
    *, user: AbstractBaseUser, project: Project, limit: int, start: int | None = None
) -> list[Candidate]:
    """The next `limit` items the user may take, from `start` (random by default) on in the
    scatter order, wrapping around.

    Counting the holders of every item is the expensive part, so it is first done only for
    the user's next CLAIM_WINDOW unseen items (usually some are still open): two or three small
    queries (the window with gold flags, after and then before `start`; the window's
    assignments, judged here with the rules of `_claimable`), which also give each candidate's
    taken slots. Only when the whole window is full does the query over the whole project run.
    """
    start = claim_start() if start is None else start
    unseen = Item.objects.filter(project=project).exclude(
        Exists(Assignment.objects.filter(item=OuterRef("pk"), user=user))
    )
    window = list(
        unseen.filter(scatter__gte=start)
        .order_by("scatter")
        .values_list("pk", "gold__pk")[:CLAIM_WINDOW]
    )
    if len(window) < CLAIM_WINDOW:
        window += (
            unseen.filter(scatter__lt=start)
            .order_by("scatter")
            .values_list("pk", "gold__pk")[: CLAIM_WINDOW - len(window)]
        )
    held: dict[int, set[int]] = {pk: set() for pk, _ in window}
    assignments = (
        Assignment.objects.filter(item_id__in=list(held))
        .order_by()
        .values_list("item_id", "user_id", "slot", "status")
    )
    for item_id, user_id, slot, status in assignments:
        if user_id == user.pk or status == Assignment.Status.FLAGGED:
            held.pop(item_id, None)  # seen meanwhile, or held back for everyone
        elif slot is not None and item_id in held:
            held[item_id].add(slot)
    candidates = [
        Candidate(pk, gold is not None, frozenset(held[pk]))
        for pk, gold in window
        if pk in held and (gold is not None or len(held[pk]) < project.overlap)
    ]
    if candidates or len(window) < CLAIM_WINDOW:
        return candidates[:limit]
    order = Mod(F("scatter") - start + SCATTER_SPAN, SCATTER_SPAN)
    claimable = _claimable(user=user, project=project).annotate(order=order).order_by("order")
    return [
        Candidate(pk, is_gold) for pk, is_gold in claimable.values_list("pk", "gold_item")[:limit]
    ]


@dataclass(frozen=True)
class Progress:
    done: int
    remaining: int
    position: int
    more: bool = False  # more than `remaining` are left ("1000+")


# Every annotator page shows the count; counting all that is left reads the whole project
# (about 3 µs an item on PostgreSQL), so the count stops here.
PROGRESS_CAP = 1000


def queue_progress(*, user: AbstractBaseUser, project: Project) -> Progress:
    """How many items the user has submitted and how many are left for them (up to
    PROGRESS_CAP)."""
    counts = Assignment.objects.filter(user=user, project=project).aggregate(
        done=Count("pk", filter=Q(status=Assignment.Status.SUBMITTED)),
        open=Count("pk", filter=Q(status=Assignment.Status.ASSIGNED)),
    )
    left = _claimable(user=user, project=project).order_by()[: PROGRESS_CAP + 1].count()
    return Progress(
        done=counts["done"],
        remaining=min(left, PROGRESS_CAP) + counts["open"],
        position=counts["done"] + 1,
        more=left > PROGRESS_CAP,
    )


# ---- the item page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str  # what the form sends: the label's position, or the answer's side for pairs
    label: str
    keys: tuple[str, ...]  # keyboard shortcuts, the first one printed on the button
    is_error: bool = False


@dataclass
class Group:
    """One radio group (or number field): a criterion on one step or on the whole item."""

    name: str
    criterion: Criterion
    step: int | None
    legend: str
    choices: list[Choice]
    current: str = ""

    @property
    def is_number(self) -> bool:
        return self.criterion.scale == Criterion.Scale.INTERVAL

    @property
    def error_values(self) -> list[str]:
        return [c.value for c in self.choices if c.is_error]


@dataclass
class StepView:
    index: int
    text: str
    groups: list[Group] = field(default_factory=list)


@dataclass
class Answer:
    side: str  # "a" or "b": the item's orientation
    title: str  # "A" or "B": what the annotator sees, left to right
    text: str


@dataclass
class ItemSheet:
    """Everything the item page and the API show an annotator: the item and their own work."""

    assignment: Assignment
    item: Item
    steps: list[StepView]
    item_groups: list[Group]
    answers: list[Answer]
    rationale: str
    error_ends_solution: bool
    stored: dict[str, Any] = field(default_factory=dict)  # own stored values by group name

    @property
    def groups(self) -> list[Group]:
        return [g for s in self.steps for g in s.groups] + self.item_groups


def criteria_for_item(*, item: Item, criteria: list[Criterion]) -> list[Criterion]:
    """The criteria an item is judged on.

    Solutions: the step criteria and the non-pairwise item criteria. Responses: the
    non-pairwise item criteria. Pairs: the pairwise criteria (or, if the project has none, the
    other item criteria).
    """
    step = [c for c in criteria if c.target == Criterion.Target.STEP]
    pairwise = [c for c in criteria if c.scale == Criterion.Scale.PAIRWISE]
    other = [
        c
        for c in criteria
        if c.target == Criterion.Target.ITEM and c.scale != Criterion.Scale.PAIRWISE
    ]
    if item.kind == Item.Kind.SOLUTION:
        return step + other
    if item.kind == Item.Kind.PAIR:
        return pairwise or other
    return other


def _label_text(label: Any) -> str:
    return label if isinstance(label, str) else json.dumps(label)


def _choices(criterion: Criterion, swapped: bool) -> list[Choice]:
    if criterion.scale == Criterion.Scale.PAIRWISE:
        left, right = ("b", "a") if swapped else ("a", "b")
        return [
            Choice(left, "A is better", ("a", "1")),
            Choice(right, "B is better", ("b", "2")),
            Choice("tie", "Tie", ("t", "3")),
        ]
    if criterion.scale == Criterion.Scale.INTERVAL:
        return []
    errors = {json.dumps(v) for v in criterion.error_labels}
    return [
        Choice(
            value=str(i),
            label=_label_text(label),
            keys=(str(i + 1),) if i < 9 else (),
            is_error=json.dumps(label) in errors,
        )
        for i, label in enumerate(criterion.labels)
    ]


def form_value(criterion: Criterion, value: Any) -> str:
    """A stored judgement value as the form sends it (see `Choice.value`)."""
    if criterion.scale == Criterion.Scale.PAIRWISE:
        return str(value)
    if criterion.scale == Criterion.Scale.INTERVAL:
        return "" if value is None else str(value)
    wanted = json.dumps(value)
    for i, label in enumerate(criterion.labels):
        if json.dumps(label) == wanted:
            return str(i)
    return ""


def group_name(criterion_id: int, step: int | None) -> str:
    return f"c{criterion_id}" if step is None else f"s{step}-c{criterion_id}"


def _own_judgements(assignment: Assignment) -> QuerySet[Judgement]:
    """The assignment's user's judgements of its item: the only judgements shown to them."""
    return Judgement.objects.filter(
        item_id=assignment.item_id,
        rater__project_id=assignment.project_id,
        rater__user_id=assignment.user_id,
    ).select_related("step")


def item_sheet_get(*, assignment: Assignment, posted: dict[str, str] | None = None) -> ItemSheet:
    """The annotator's view of an assigned item, filled with their own earlier judgements.

    `posted` (form values sent back after a rejected submission) takes precedence.
    """
    # A just-claimed item has no judgements of this user yet: skip the query.
    own = list(_own_judgements(assignment)) if assignment.submitted_at else []
    steps = list(
        Step.objects.filter(item_id=assignment.item_id)
        .order_by("index")
        .values_list("index", "text")
    )
    return item_sheet_build(
        assignment=assignment,
        criteria=project_criteria(project=assignment.project),
        steps=steps,
        own=own,
        posted=posted,
    )


def item_sheet_build(
    *,
    assignment: Assignment,
    criteria: list[Criterion],
    steps: list[tuple[int, str]],
    own: list[Judgement] = (),
    posted: dict[str, str] | None = None,
) -> ItemSheet:
    """The item sheet from rows already read: the project's criteria, the item's (index,
    text) steps in order and the user's own judgements (with their steps)."""
    item = assignment.item
    criteria = criteria_for_item(item=item, criteria=criteria)
    by_id = {c.pk: c for c in criteria}
    current: dict[str, str] = {}
    stored: dict[str, Any] = {}
    rationale = ""
    for judgement in own:
        criterion = by_id.get(judgement.criterion_id)
        if criterion is None:
            continue
        name = group_name(criterion.pk, judgement.step.index if judgement.step else None)
        current[name] = form_value(criterion, judgement.value)
        stored[name] = judgement.value
        rationale = rationale or judgement.rationale
    if posted is not None:
        current = {k: v for k, v in posted.items() if isinstance(v, str)}
        rationale = posted.get("rationale", rationale)

    def group(criterion: Criterion, step: int | None) -> Group:
        name = group_name(criterion.pk, step)
        legend = criterion.name.replace("_", " ")
        choices = _choices(criterion, assignment.swapped)
        return Group(name, criterion, step, legend, choices, current.get(name, ""))

    step_views = [StepView(index=index, text=text) for index, text in steps]
    for step in step_views:
        step.groups = [group(c, step.index) for c in criteria if c.target == "step"]
    item_groups = [group(c, None) for c in criteria if c.target == "item"]
    answers = []
    if item.kind == Item.Kind.PAIR:
        answers = [Answer("a", "", item.response_a or ""), Answer("b", "", item.response_b or "")]
        if assignment.swapped:
            answers.reverse()
        answers[0].title, answers[1].title = "A", "B"
    return ItemSheet(
        assignment=assignment,
        item=item,
        steps=step_views,
        item_groups=item_groups,
        answers=answers,
        rationale=rationale,
        error_ends_solution=assignment.project.error_ends_solution,
        stored=stored,
    )
