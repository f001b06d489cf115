"""Reads for the analysis app's pages: runs, with the access check that starts from the user.

The judgements a report computes on are read by `analysis.loading`.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from analysis.models import AgreementRun
from annotations import selectors as annotations_selectors
from annotations.models import Project


def run_get_for_lead(*, user: AbstractBaseUser, run_id: int) -> AgreementRun:
    run = AgreementRun.objects.select_related("project").filter(pk=run_id).first()
    if run is None or not annotations_selectors.user_is_lead(user=user, project=run.project):
        raise Http404("No such report.")
    return run


def runs_for_project(*, project: Project) -> list[AgreementRun]:
    return list(AgreementRun.objects.filter(project=project)[:20])


def human_groups(*, project: Project) -> list[str]:
    raters = annotations_selectors.rater_index(project=project).values()
    return sorted({rater.group for rater in raters if rater.kind == "human"})


def meta_keys(*, project: Project) -> list[str]:
    """The item meta keys seen in the project (first 2,000 items), to suggest slices."""
    keys: set[str] = set()
    for meta in annotations_selectors.item_metas(project=project, limit=2000):
        keys.update(k for k, v in meta.items() if not isinstance(v, dict | list))
    return sorted(keys)


def headline_rows(*, run: AgreementRun) -> list:
    """Overall rows of a finished run, for the run page."""
    return list(run.results.filter(slice="all").order_by("criterion", "group_a", "group_b"))
