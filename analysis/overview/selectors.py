"""The overview's reads: the annotations side (`annotations.overview`) plus each project's
latest agreement report, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Subquery

from analysis import selectors
from analysis.headline import headline_texts
from analysis.models import AgreementRun
from annotations import overview
from annotations.models import Project


@dataclass(frozen=True)
class ProjectCard:
    summary: overview.ProjectOverview
    latest_run: AgreementRun | None
    headlines: tuple[str, ...]  # the latest finished report's verdicts in words

    @property
    def active(self) -> bool:
        """Whether something of the project is moving: a job or its latest report."""
        run_active = self.latest_run is not None and self.latest_run.status in overview.ACTIVE
        return bool(self.summary.jobs) or run_active


def report_headlines(*, runs: list[AgreementRun]) -> dict[int, tuple[str, ...]]:
    """Run id -> the verdicts in words (`analysis.headline`) of each finished run; two
    queries for all of them."""
    done = [run.pk for run in runs if run.status == AgreementRun.Status.DONE]
    inputs = selectors.headline_inputs(run_ids=done)
    return {pk: tuple(h.text for h in headline_texts(*inputs[pk])) for pk in done}


def latest_runs(*, projects: list[Project]) -> dict[int, AgreementRun]:
    """Each project's latest agreement report (one query)."""
    latest = (
        AgreementRun.objects.filter(project=OuterRef("pk")).order_by("-created_at").values("pk")[:1]
    )
    ids = Project.objects.filter(pk__in=[p.pk for p in projects]).values(latest=Subquery(latest))
    runs = AgreementRun.objects.filter(pk__in=ids).defer("config", "timings")
    return {run.project_id: run for run in runs}


def user_sees_overview(*, user: AbstractBaseUser) -> bool:
    """Leads and staff get the overview as their home; annotators keep the project list."""
    return user.is_authenticated and (user.is_staff or bool(overview.projects_led(user=user)))


def overview_cards(*, user: AbstractBaseUser) -> list[ProjectCard]:
    projects = overview.projects_led(user=user)
    runs = latest_runs(projects=projects)
    texts = report_headlines(runs=list(runs.values()))
    cards = []
    for summary in overview.project_overviews(projects=projects):
        run = runs.get(summary.project.pk)
        cards.append(ProjectCard(summary, run, texts.get(run.pk, ()) if run else ()))
    return cards
