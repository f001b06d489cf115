"""Reads used by more than one caller, and the access checks that start from the user."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet
from django.http import Http404

from annotations.models import ImportJob, Membership, Project, Rater


def projects_for_user(*, user: AbstractBaseUser) -> QuerySet[Project]:
    projects = Project.objects.all()
    if not user.is_superuser:
        projects = projects.filter(memberships__user=user)
    return projects.annotate(n_items=Count("items", distinct=True)).order_by("name")


def project_get_for_user(*, user: AbstractBaseUser, slug: str) -> Project:
    """A project the user belongs to (any role); 404 otherwise, so ids don't leak."""
    project = Project.objects.filter(slug=slug).first()
    if project is None or not (
        user.is_superuser or Membership.objects.filter(project=project, user=user).exists()
    ):
        raise Http404("No such project.")
    return project


def project_get_for_lead(*, user: AbstractBaseUser, slug: str) -> Project:
    """A project the user leads (superusers lead every project); 404 otherwise."""
    project = Project.objects.filter(slug=slug).first()
    if project is None or not user_is_lead(user=user, project=project):
        raise Http404("No such project.")
    return project


def user_is_lead(*, user: AbstractBaseUser, project: Project) -> bool:
    return (
        user.is_superuser
        or Membership.objects.filter(project=project, user=user, role=Membership.Role.LEAD).exists()
    )


def import_job_get_for_lead(*, user: AbstractBaseUser, job_id: int) -> ImportJob:
    job = ImportJob.objects.select_related("project").filter(pk=job_id).first()
    if job is None or not user_is_lead(user=user, project=job.project):
        raise Http404("No such import.")
    return job


def rater_summary(*, project: Project) -> list[dict]:
    """Per rater group and kind: how many raters and judgements (for the project page)."""
    return list(
        Rater.objects.filter(project=project)
        .values("group", "kind")
        .annotate(n_raters=Count("id", distinct=True), n_judgements=Count("judgements"))
        .order_by("kind", "group")
    )
