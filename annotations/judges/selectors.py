"""Reads for model judges: leads' access, run progress, the answers behind a run.

Everything here is for the project's leads (and staff): judge configurations, prompts, raw
answers, tokens and cost are never shown to annotators. Access starts from the user and
raises Http404, so a view cannot forget it.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet, Sum
from django.http import Http404

from annotations import selectors as core_selectors
from annotations.judges.models import JudgeAnswer, JudgeConfig, JudgeRun, JudgeRunChunk
from annotations.judges.tokens import RaterToken
from annotations.models import Rater


def run_get_for_lead(*, user: AbstractBaseUser, run_id: int) -> JudgeRun:
    run = (
        JudgeRun.objects.select_related("config__project", "config__rater", "criterion")
        .filter(pk=run_id)
        .first()
    )
    if run is None or not core_selectors.user_is_lead(user=user, project=run.config.project):
        raise Http404("No such judge run.")
    return run


def rater_get_for_token(*, token: RaterToken, slug: str) -> Rater:
    """The token's model rater, if the project asked for is its project; 404 otherwise (a
    token says nothing about other projects, not even that they exist)."""
    rater = token.rater
    if rater.project.slug != slug or rater.kind != Rater.Kind.MODEL:
        raise Http404("No such project.")
    return rater


def rater_tokens_for_lead(*, project_id: int) -> QuerySet[RaterToken]:
    return RaterToken.objects.filter(rater__project_id=project_id).select_related("rater")


def configs_for_lead(*, project_id: int) -> QuerySet[JudgeConfig]:
    return JudgeConfig.objects.filter(project_id=project_id).select_related("rater")


def runs_for_lead(*, project_id: int) -> QuerySet[JudgeRun]:
    return JudgeRun.objects.filter(config__project_id=project_id).select_related(
        "config__rater", "criterion"
    )


@dataclass(frozen=True)
class RunProgress:
    """A run's counts: chunk counts as they finish, requests, tokens and cost as they come."""

    status: str
    n_items: int
    n_chunks: int
    chunks_done: int
    judged: int
    cached: int
    asked: int
    unparsed: int
    failed: int
    tokens_in: int
    tokens_out: int
    cost: float

    def line(self) -> str:
        return (
            f"{self.status}: {self.chunks_done}/{self.n_chunks} chunks, {self.judged} of "
            f"{self.n_items} items judged, {self.asked} asked, {self.cached} cached, "
            f"{self.unparsed} unparsed, {self.failed} failed, {self.tokens_in:,} + "
            f"{self.tokens_out:,} tokens, ${self.cost:.4f}"
        )

    def as_dict(self) -> dict:
        return dict(self.__dict__)


_CHUNK_COUNTS = ("judged", "cached", "unparsed", "failed")


def run_progress(*, run: JudgeRun) -> RunProgress:
    finished = JudgeRunChunk.objects.filter(run=run).exclude(
        status__in=[JudgeRun.Status.PENDING, JudgeRun.Status.RUNNING]
    )
    totals = dict.fromkeys(_CHUNK_COUNTS, 0)
    n_finished = 0
    for counts in finished.values_list("counts", flat=True):
        n_finished += 1
        for key in _CHUNK_COUNTS:
            totals[key] += counts.get(key, 0)
    live = JudgeAnswer.objects.filter(run=run).aggregate(
        asked=Count("pk"),
        tokens_in=Sum("tokens_in"),
        tokens_out=Sum("tokens_out"),
        cost=Sum("cost"),
    )
    return RunProgress(
        status=run.status,
        n_items=run.n_items,
        n_chunks=run.n_chunks,
        chunks_done=n_finished,
        asked=live["asked"],
        tokens_in=live["tokens_in"] or 0,
        tokens_out=live["tokens_out"] or 0,
        cost=live["cost"] or 0.0,
        **totals,
    )


def run_answers(*, run: JudgeRun, limit: int = 50) -> list[JudgeAnswer]:
    """The answers a run's judge gave on its criterion (asked by this run or cached), newest
    first, with their items."""
    return list(
        JudgeAnswer.objects.filter(ask_key=run.config.ask_key, criterion=run.criterion)
        .select_related("item")
        .order_by("-created_at", "-pk")[:limit]
    )
