"""Reads used by more than one caller, and the access checks that start from the user."""

from operator import itemgetter
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.db.models.functions import Length
from django.http import Http404

from annotations.models import (
    ExportJob,
    ImportJob,
    Item,
    Judgement,
    Membership,
    Project,
    Rater,
    Score,
)


def projects_for_user(*, user: AbstractBaseUser) -> QuerySet[Project]:
    projects = Project.objects.all()
    if not user.is_superuser:
        projects = projects.filter(memberships__user=user)
    return projects.annotate(n_items=Count("items", distinct=True)).order_by("name")


def project_get_for_user(*, user: AbstractBaseUser, slug: str) -> Project:
    """A project the user belongs to (any role); 404 otherwise, so ids don't leak."""
    project = Project.objects.filter(slug=slug).first()
    if project is None or not (user.is_superuser or user_is_member(user=user, project=project)):
        raise Http404("No such project.")
    return project


LEADS_ONLY = "This page is for the project's leads."


def project_get_for_lead(*, user: AbstractBaseUser, slug: str) -> Project:
    """A project the user leads (superusers lead every project); 403 for its other members
    (they know it exists: the answer says what is true), 404 for everyone else."""
    project = Project.objects.filter(slug=slug).first()
    if project is None or not user_is_lead(user=user, project=project):
        if project is not None and user_is_member(user=user, project=project):
            raise PermissionDenied(LEADS_ONLY)
        raise Http404("No such project.")
    return project


def user_is_lead(*, user: AbstractBaseUser, project: Project) -> bool:
    return (
        user.is_superuser
        or Membership.objects.filter(project=project, user=user, role=Membership.Role.LEAD).exists()
    )


def user_is_member(*, user: AbstractBaseUser, project: Project) -> bool:
    """Whether the user has a queue in the project (superusers see every project but annotate
    only where they are members)."""
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(project=project, user=user).exists()


def import_job_get_for_lead(*, user: AbstractBaseUser, job_id: int) -> ImportJob:
    job = ImportJob.objects.select_related("project").filter(pk=job_id).first()
    if job is None or not user_is_lead(user=user, project=job.project):
        raise Http404("No such import.")
    return job


def export_job_get_for_lead(*, user: AbstractBaseUser, job_id: int) -> ExportJob:
    """An export of a project the user leads; 404 otherwise, as for imports."""
    job = ExportJob.objects.select_related("project").filter(pk=job_id).first()
    if job is None or not user_is_lead(user=user, project=job.project):
        raise Http404("No such export.")
    return job


def rater_summary(*, project: Project) -> list[dict]:
    """Per rater group and kind: how many raters and judgements (for the project page)."""
    return list(
        Rater.objects.filter(project=project)
        .values("group", "kind")
        .annotate(n_raters=Count("id", distinct=True), n_judgements=Count("judgements"))
        .order_by("kind", "group")
    )


def group_members(*, project: Project) -> dict[str, list[str]]:
    """Which raters each group holds: group -> rater names, both sorted (for reports, so a
    reader sees who is behind "expert" or "annotators")."""
    members: dict[str, list[str]] = {}
    rows = Rater.objects.filter(project=project).order_by("group", "name")
    for group, name in rows.values_list("group", "name"):
        members.setdefault(group, []).append(name)
    return members


class HumanRater(NamedTuple):
    pk: int
    name: str
    group: str
    user_id: int | None  # the app user behind an annotator; None for an imported rater


def human_raters(*, project: Project) -> list[HumanRater]:
    """The project's human raters (imported and app annotators), by group and name."""
    rows = (
        Rater.objects.filter(project=project, kind=Rater.Kind.HUMAN)
        .order_by("group", "name")
        .values_list("pk", "name", "group", "user_id")
    )
    return list(map(HumanRater._make, rows))


class JudgementColumns(NamedTuple):
    """The judgements on a criterion as parallel columns, one entry per judgement."""

    item_ids: tuple[int, ...]
    steps: tuple[int | None, ...]  # the step's index; None for a judgement of the whole item
    rater_ids: tuple[int, ...]
    codes: tuple[float, ...]


class JudgementFlag(NamedTuple):
    """A judgement's value of one meta key."""

    item_id: int
    rater_id: int
    value: object


class ItemRecord(NamedTuple):
    """What reports need of an item: ids, meta to slice by, and sizes."""

    pk: int
    external_id: str
    meta: dict
    n_steps: int
    len_a: int | None  # length of answer A in characters; None when it is absent
    len_b: int | None


class RaterRecord(NamedTuple):
    name: str
    kind: str  # Rater.Kind: "human" or "model"
    group: str


def judgement_codes(
    *, criterion_id: int, item_range: tuple[int, int] | None = None, using: str = "default"
) -> JudgementColumns:
    """Every judgement on a criterion: item id, step index, rater id and code, as columns;
    with `item_range` (low, high), only those on items with low <= pk < high; read from the
    database alias `using` (a report chunk reads a replica where one is configured).

    The analysis app reads judgements only through this: one query, no model instances, and
    columns (not a million small records) because it turns each into an array.
    """
    judgements = Judgement.objects.using(using).filter(criterion_id=criterion_id)
    if item_range is not None:
        judgements = judgements.filter(item_id__gte=item_range[0], item_id__lt=item_range[1])
    rows = list(judgements.values_list("item_id", "step__index", "rater_id", "code"))
    # One C-level pass per column (zip(*rows) is several times slower on a million rows).
    return JudgementColumns(*(tuple(map(itemgetter(k), rows)) for k in range(4)))


def score_columns(*, criterion_id: int) -> JudgementColumns:
    """Every score on a criterion as the same columns as judgements, the score as the code."""
    rows = list(
        Score.objects.filter(criterion_id=criterion_id).values_list(
            "item_id", "step__index", "rater_id", "score"
        )
    )
    return JudgementColumns(*(tuple(map(itemgetter(k), rows)) for k in range(4)))


def judgement_meta_flags(*, criterion_id: int, key: str) -> list[JudgementFlag]:
    """The judgements on a criterion that carry `key` in their meta, with its value."""
    rows = Judgement.objects.filter(criterion_id=criterion_id, meta__has_key=key).values_list(
        "item_id", "rater_id", f"meta__{key}"
    )
    return list(map(JudgementFlag._make, rows))


def item_index(
    *, project: Project, item_range: tuple[int, int] | None = None, using: str = "default"
) -> list[ItemRecord]:
    """Every item of a project (with `item_range` (low, high): low <= pk < high), in
    primary-key order, read from the database alias `using`."""
    items = Item.objects.using(using).filter(project_id=project.pk)
    if item_range is not None:
        items = items.filter(pk__gte=item_range[0], pk__lt=item_range[1])
    rows = (
        items.order_by("pk")
        .annotate(len_a=Length("response_a"), len_b=Length("response_b"))
        .values_list("pk", "external_id", "meta", "n_steps", "len_a", "len_b")
    )
    return list(map(ItemRecord._make, rows))


def item_key_ranges(*, project: Project, per_range: int) -> list[tuple[int, int]]:
    """The project's items cut into ranges of `per_range` consecutive primary keys, as
    (low, high) with low <= pk < high: what a streamed report reads one chunk at a time.
    Streams the keys (one integer per item), never the items."""
    keys = Item.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)
    lows, last = [], None
    for n, pk in enumerate(keys.iterator(chunk_size=10_000)):
        if n % per_range == 0:
            lows.append(pk)
        last = pk
    if last is None:
        return []
    return list(zip(lows, [*lows[1:], last + 1], strict=True))


def meta_keys_missing(*, project: Project, keys: list[str]) -> list[str]:
    """The keys no item of the project has in its meta (one query per key)."""
    items = Item.objects.filter(project=project)
    return [key for key in keys if not items.filter(meta__has_key=key).exists()]


def item_metas(*, project: Project, limit: int) -> list[dict]:
    """The meta of the first `limit` items of a project (one query, no other columns)."""
    return list(
        Item.objects.filter(project=project).order_by("pk").values_list("meta", flat=True)[:limit]
    )


def rater_index(*, project: Project, using: str = "default") -> dict[int, RaterRecord]:
    """Rater id -> (name, kind, group) of every rater in a project (from the alias `using`)."""
    rows = (
        Rater.objects.using(using)
        .filter(project_id=project.pk)
        .values_list("pk", "name", "kind", "group")
    )
    return {pk: RaterRecord(name, kind, group) for pk, name, kind, group in rows}
