"""Reads for the lead overview: every project a user leads, in a fixed number of queries.

Each read covers all the user's projects at once (grouped by project), so the overview's
query count does not grow with the number of projects. Leads only: everything starts from
`projects_led`.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q

from annotations import services
from annotations.annotate.rules import criteria_for_item
from annotations.judges.models import JudgeRun
from annotations.models import (
    Assignment,
    Criterion,
    ImportJob,
    Item,
    JobStatus,
    Judgement,
    Membership,
    Project,
)

ACTIVE = (JobStatus.PENDING, JobStatus.RUNNING)


@dataclass(frozen=True)
class GroupCount:
    group: str
    kind: str  # "human" or "model"
    judgements: int


@dataclass(frozen=True)
class CriterionProgress:
    """App annotators' work on a criterion: (item, annotator) pairs judged of those needed
    (the items the criterion applies to, times the project's overlap k)."""

    name: str
    needed: int
    done: int

    @property
    def left(self) -> int:
        return max(self.needed - self.done, 0)


@dataclass(frozen=True)
class AnnotatorProgress:
    username: str
    group: str
    submitted: int = 0
    open: int = 0
    skipped: int = 0
    flagged: int = 0


@dataclass(frozen=True)
class JobProgress:
    """A background job that is pending or running: an import or a judge run."""

    kind: str  # "import" or "judge run"
    pk: int
    label: str
    status: str
    done: int
    total: int  # 0 when unknown (an import counts lines, not a share)


@dataclass(frozen=True)
class ProjectOverview:
    project: Project
    n_items: int
    groups: list[GroupCount]
    criteria: list[CriterionProgress]
    annotators: list[AnnotatorProgress]
    open_flags: int
    jobs: list[JobProgress] = field(default_factory=list)


def projects_led(*, user: AbstractBaseUser) -> list[Project]:
    """The projects the user leads (a superuser leads every project), by name."""
    if not user.is_authenticated:
        return []
    projects = Project.objects.order_by("name")
    if not user.is_superuser:
        projects = projects.filter(memberships__user=user, memberships__role="lead")
    return list(projects)


def _items_by_kind(ids: list[int]) -> dict[int, dict[str, int]]:
    items_by_kind: dict[int, dict[str, int]] = defaultdict(dict)
    rows = Item.objects.filter(project_id__in=ids).values_list("project_id", "kind")
    for project_id, kind, n in rows.annotate(n=Count("pk")).order_by():
        items_by_kind[project_id][kind] = n
    return items_by_kind


def _criteria_progress(
    projects: list[Project], ids: list[int], items_by_kind: dict[int, dict[str, int]]
) -> dict[int, list[CriterionProgress]]:
    criteria: dict[int, list[Criterion]] = defaultdict(list)
    for criterion in Criterion.objects.filter(project_id__in=ids).order_by("position", "id"):
        criteria[criterion.project_id].append(criterion)
    # (item, annotator) pairs judged per criterion, by the app's annotators (raters with a user)
    done: dict[int, int] = defaultdict(int)
    judged = (
        Judgement.objects.filter(criterion__project_id__in=ids, rater__user__isnull=False)
        .values_list("criterion_id", "rater_id")
        .annotate(n=Count("item_id", distinct=True))
        .order_by()
    )
    for criterion_id, _, n in judged:
        done[criterion_id] += n
    progress: dict[int, list[CriterionProgress]] = {}
    for project in projects:
        kinds = items_by_kind[project.pk]
        applies: dict[int, int] = defaultdict(int)
        for kind, n in kinds.items():
            for criterion in criteria_for_item(kind=kind, criteria=criteria[project.pk]):
                applies[criterion.pk] += n
        progress[project.pk] = [
            CriterionProgress(c.name, applies[c.pk] * project.overlap, done[c.pk])
            for c in criteria[project.pk]
        ]
    return progress


def _annotators(ids: list[int]) -> tuple[dict[int, list[AnnotatorProgress]], dict[int, int]]:
    counts: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    rows = Assignment.objects.filter(project_id__in=ids).values_list(
        "project_id", "user_id", "status"
    )
    for project_id, user_id, status, n in rows.annotate(n=Count("pk")).order_by():
        counts[(project_id, user_id)][status] = n
    flags: dict[int, int] = defaultdict(int)
    for (project_id, _), by_status in counts.items():
        flags[project_id] += by_status.get(Assignment.Status.FLAGGED, 0)
    members = (
        Membership.objects.filter(project_id__in=ids)
        .order_by("user__username")
        .values_list("project_id", "user_id", "user__username", "rater_group", "role")
    )
    annotators: dict[int, list[AnnotatorProgress]] = defaultdict(list)
    for project_id, user_id, username, group, role in members:
        c = counts.get((project_id, user_id), {})
        if role == Membership.Role.LEAD and not c:
            continue  # a lead who does not annotate here
        annotators[project_id].append(
            AnnotatorProgress(
                username,
                group,
                submitted=c.get("submitted", 0),
                open=c.get("assigned", 0),
                skipped=c.get("skipped", 0),
                flagged=c.get("flagged", 0),
            )
        )
    return annotators, flags


def _jobs(ids: list[int]) -> dict[int, list[JobProgress]]:
    jobs: dict[int, list[JobProgress]] = defaultdict(list)
    runs = (
        JudgeRun.objects.filter(config__project_id__in=ids, status__in=ACTIVE)
        .annotate(chunks_done=Count("chunks", filter=Q(chunks__status=JudgeRun.Status.DONE)))
        .values_list(
            "pk",
            "config__project_id",
            "config__name",
            "criterion__name",
            "status",
            "chunks_done",
            "n_chunks",
        )
        .order_by("created_at")
    )
    for pk, project_id, name, criterion, status, chunks_done, n_chunks in runs:
        label = f"{name} on {criterion}"
        jobs[project_id].append(JobProgress("judge run", pk, label, status, chunks_done, n_chunks))
    for job in ImportJob.objects.filter(project_id__in=ids, status__in=ACTIVE).order_by(
        "created_at"
    ):
        lines = services.import_job_progress(job=job)  # the cache while it runs: no query
        jobs[job.project_id].append(
            JobProgress("import", job.pk, f"{job.format} import", job.status, lines, 0)
        )
    return jobs


def project_overviews(*, projects: list[Project]) -> list[ProjectOverview]:
    """Items, judgements per group, annotation progress, open flags and running jobs of the
    given projects (from `projects_led`): eight queries however many projects there are."""
    ids = [p.pk for p in projects]
    if not ids:
        return []
    groups: dict[int, list[GroupCount]] = defaultdict(list)
    rows = (
        Judgement.objects.filter(rater__project_id__in=ids)
        .values_list("rater__project_id", "rater__group", "rater__kind")
        .annotate(n=Count("pk"))
        .order_by("rater__project_id", "rater__kind", "rater__group")
    )
    for project_id, group, kind, n in rows:
        groups[project_id].append(GroupCount(group, kind, n))
    items_by_kind = _items_by_kind(ids)
    criteria = _criteria_progress(projects, ids, items_by_kind)
    annotators, flags = _annotators(ids)
    jobs = _jobs(ids)
    return [
        ProjectOverview(
            project=p,
            n_items=sum(items_by_kind[p.pk].values()),
            groups=groups[p.pk],
            criteria=criteria[p.pk],
            annotators=annotators[p.pk],
            open_flags=flags[p.pk],
            jobs=jobs[p.pk],
        )
        for p in projects
    ]
