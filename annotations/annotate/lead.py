"""Reads for the lead page: queue counts, accuracy on gold items, flags. Leads only.

The views call these after `project_get_for_lead`; nothing here is shown to annotators.
"""

import json
import statistics
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from annotations.annotate import rules
from annotations.annotate.selectors import project_criteria
from annotations.models import Assignment, Criterion, GoldItem, Item, Membership, Project


@dataclass(frozen=True)
class AnnotatorRow:
    membership: Membership
    submitted: int
    skipped: int
    flagged: int
    open: int
    gold_correct: int
    gold_total: int
    time_spent_ms: int

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_total if self.gold_total else None

    @property
    def mean_seconds(self) -> float | None:
        return self.time_spent_ms / self.submitted / 1000 if self.submitted else None


def annotator_rows_for_lead(*, project: Project) -> list[AnnotatorRow]:
    """Per member: queue counts and accuracy on gold items. For leads only."""
    stats = {
        row["user"]: row
        for row in Assignment.objects.filter(project=project)
        .values("user")
        .annotate(
            submitted=Count("pk", filter=Q(status="submitted")),
            skipped=Count("pk", filter=Q(status="skipped")),
            flagged=Count("pk", filter=Q(status="flagged")),
            open=Count("pk", filter=Q(status="assigned")),
            gold_correct=Sum("gold_correct"),
            gold_total=Sum("gold_total"),
            time_spent_ms=Sum("time_spent_ms", filter=Q(status="submitted")),
        )
        .order_by()
    }
    rows = []
    for membership in project.memberships.select_related("user").order_by("user__username"):
        s = stats.get(membership.user_id, {})
        rows.append(
            AnnotatorRow(
                membership=membership,
                submitted=s.get("submitted", 0),
                skipped=s.get("skipped", 0),
                flagged=s.get("flagged", 0),
                open=s.get("open", 0),
                gold_correct=s.get("gold_correct") or 0,
                gold_total=s.get("gold_total") or 0,
                time_spent_ms=s.get("time_spent_ms") or 0,
            )
        )
    return rows


@dataclass(frozen=True)
class MemberActivity:
    """A member's work in the project's queue, for the QC page."""

    membership_id: int
    user_id: int
    username: str
    role: str
    rater_group: str
    submitted: int
    skipped: int
    flagged: int
    gold_correct: int
    gold_total: int
    median_ms: float | None  # median time on a submitted item; None before the first


def member_activity_for_lead(*, project: Project) -> list[MemberActivity]:
    """Every member with their queue counts, gold answers and median time per submitted
    item (three queries). For leads only."""
    counts = {
        row["user"]: row
        for row in Assignment.objects.filter(project=project)
        .values("user")
        .annotate(
            submitted=Count("pk", filter=Q(status="submitted")),
            skipped=Count("pk", filter=Q(status="skipped")),
            flagged=Count("pk", filter=Q(status="flagged")),
            gold_correct=Sum("gold_correct"),
            gold_total=Sum("gold_total"),
        )
        .order_by()
    }
    times: dict[int, list[int]] = {}
    submitted = Assignment.objects.filter(project=project, status=Assignment.Status.SUBMITTED)
    for user_id, ms in submitted.values_list("user_id", "time_spent_ms").order_by():
        times.setdefault(user_id, []).append(ms)
    members = project.memberships.order_by("user__username").values_list(
        "pk", "user_id", "user__username", "role", "rater_group"
    )
    rows = []
    for pk, user_id, username, role, group in members:
        c = counts.get(user_id, {})
        spent = times.get(user_id)
        rows.append(
            MemberActivity(
                membership_id=pk,
                user_id=user_id,
                username=username,
                role=role,
                rater_group=group,
                submitted=c.get("submitted", 0),
                skipped=c.get("skipped", 0),
                flagged=c.get("flagged", 0),
                gold_correct=c.get("gold_correct") or 0,
                gold_total=c.get("gold_total") or 0,
                median_ms=statistics.median(spent) if spent else None,
            )
        )
    return rows


def membership_get_for_lead(*, project: Project, membership_id: int) -> Membership | None:
    """A membership of the project (None for one of another project)."""
    return Membership.objects.filter(project=project, pk=membership_id).first()


def flagged_for_lead(*, project: Project) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(project=project, status=Assignment.Status.FLAGGED)
        .select_related("item", "user")
        .order_by("-created_at")
    )


def gold_items_for_lead(*, project: Project) -> QuerySet[GoldItem]:
    return (
        GoldItem.objects.filter(item__project=project)
        .select_related("item")
        .annotate(
            n_answers=Count("item__assignments", filter=Q(item__assignments__gold_total__gt=0))
        )
        .order_by("item__external_id")
    )


def item_get_for_lead(*, project: Project, external_id: str) -> Item | None:
    return Item.objects.filter(project=project, external_id=external_id).first()


def queue_summary_for_lead(*, project: Project) -> dict[str, int]:
    """Items with all k slots taken and items still open, for the lead page."""
    items = Item.objects.filter(project=project).annotate(
        n_taken=Count("assignments", filter=Q(assignments__status="submitted"))
    )
    return {
        "items": items.count(),
        "complete": items.filter(n_taken__gte=project.overlap).count(),
    }


@dataclass(frozen=True)
class GoldExample:
    """A gold answer that the project's criteria accept, for the lead page's help text."""

    external_id: str
    expected: dict

    @property
    def expected_json(self) -> str:
        return json.dumps(self.expected)


def _example_value(criterion: Criterion) -> object:
    if criterion.scale == Criterion.Scale.INTERVAL:
        return criterion.min_value
    return criterion.value_labels[0]


def gold_example(*, project: Project) -> GoldExample | None:
    """An example gold answer built from the project's criteria for its first item: each
    item criterion's first label (the minimum for an interval scale), and for a step
    criterion one label per step, the last left null (any label). None without items."""
    item = Item.objects.filter(project=project).order_by("pk").first()
    if item is None:
        return None
    criteria = rules.criteria_for_item(
        kind=item.kind, criteria=project_criteria(project_id=project.pk)
    )
    expected: dict = {}
    for criterion in criteria:
        value = _example_value(criterion)
        if criterion.target == Criterion.Target.STEP:
            expected[criterion.name] = [value] * max(item.n_steps - 1, 0) + [None] * min(
                item.n_steps, 1
            )
        else:
            expected[criterion.name] = value
    if not expected:
        return None
    return GoldExample(item.external_id, expected)
