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


SLICE_VALUE_CHARS = 64  # longer values are texts (answers, questions), not categories
SLICE_MAX_VALUES = 100


def meta_keys(*, project: Project) -> list[str]:
    """The item meta keys worth slicing by, seen in the project's first 2,000 items: scalar
    values, none longer than SLICE_VALUE_CHARS, at most SLICE_MAX_VALUES distinct ones (so
    ids and texts kept in meta, such as MT-bench's turn-1 answers, are not suggested)."""
    values: dict[str, set] = {}
    texts: set[str] = set()
    for meta in annotations_selectors.item_metas(project=project, limit=2000):
        for key, value in meta.items():
            if isinstance(value, dict | list) or len(str(value)) > SLICE_VALUE_CHARS:
                texts.add(key)
            else:
                values.setdefault(key, set()).add(value)
    return sorted(k for k, v in values.items() if k not in texts and len(v) <= SLICE_MAX_VALUES)


def headline_rows(*, run: AgreementRun) -> list:
    """Overall rows of a finished run, for the run page."""
    return list(run.results.filter(slice="all").order_by("criterion", "group_a", "group_b"))
