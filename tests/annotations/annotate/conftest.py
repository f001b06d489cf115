"""Fixtures for the annotator interface: a ProcessBench-like study, a pairs study, and the
secrets (model and colleague judgements) that must never reach an annotator."""

import os
import uuid
from pathlib import Path

import pytest
from django.db import connection

from annotations.annotate import queue_orm, queue_sql
from annotations.annotate.rules import LabelInput, Submission, SubmitResult
from annotations.models import Assignment, Item, Membership, Project
from annotations.services import items_import
from tests.factories import PREFERENCE, VALIDITY, judgement, pair, solution, write_jsonl

SECRET = "MODEL-SECRET-7f3a"
COLLEAGUE_SECRET = "COLLEAGUE-SECRET-91bd"
SOLUTION_CORRECT = {
    "type": "criterion",
    "name": "solution_correct",
    "target": "item",
    "scale": "nominal",
    "labels": ["yes", "no"],
    "error_labels": ["no"],
}


def import_lines(project: Project, tmp_path: Path, lines: list, name: str = "in.jsonl") -> None:
    items_import(project=project, paths=[write_jsonl(tmp_path / name, lines)])


@pytest.fixture
def study(project, tmp_path) -> Project:
    """Four 3-step solutions, with a model's and another rater's judgements holding secrets."""
    lines = [VALIDITY, SOLUTION_CORRECT]
    lines += [solution(f"s{i}", n_steps=3) for i in range(4)]
    for i in range(4):
        for step in range(3):
            lines.append(
                judgement(
                    f"s{i}",
                    "validity",
                    "incorrect",
                    step=step,
                    rater="gpt-4",
                    rater_kind="model",
                    rater_group="gpt-4",
                    rationale=SECRET,
                    meta={"note": SECRET},
                )
            )
        lines.append(
            judgement(f"s{i}", "solution_correct", "no", rater="expert_9", rationale=SECRET)
        )
    import_lines(project, tmp_path, lines)
    Item.objects.filter(project=project).update(meta={"label": SECRET})
    return project


@pytest.fixture
def pairs(db, tmp_path, django_user_model) -> Project:
    """A second project: two pairs judged by a model; bob annotates here too."""
    project = Project.objects.create(name="Pairs", slug="pairs")
    lines = [PREFERENCE, pair("p1"), pair("p2")]
    lines += [
        judgement(
            p,
            "preference",
            "b",
            rater="judge",
            rater_kind="model",
            rater_group="judge",
            rationale=SECRET,
        )
        for p in ("p1", "p2")
    ]
    import_lines(project, tmp_path, lines, name="pairs.jsonl")
    return project


@pytest.fixture
def bob_in_pairs(pairs, annotator):
    Membership.objects.create(user=annotator, project=pairs, role="annotator")
    return annotator


def step_labels(item: Item, values: list[str]) -> list[LabelInput]:
    """Inputs labelling each step of `item` with `values` (validity criterion)."""
    return [LabelInput("validity", i, v) for i, v in enumerate(values)]


def item_label(item: Item, name: str, value) -> LabelInput:
    return LabelInput(name, None, value)


ENGINES = {"orm": queue_orm, "sql": queue_sql}


class Queue:
    """Drives one queue engine as an annotator would, returning stored rows to assert on."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.engine = ENGINES[name]

    def next(self, user, project: Project, start: int | None = None) -> Assignment | None:
        sheet = self.engine.assignment_next(user=user, slug=project.slug, start=start)
        if sheet is None:
            return None
        assert sheet.claim.project_slug == project.slug
        return Assignment.objects.select_related("item", "project").get(pk=sheet.claim.pk)

    def submit(self, assignment: Assignment, labels: list[LabelInput], **kwargs) -> SubmitResult:
        kwargs.setdefault("submission_id", uuid.uuid4())
        return self.engine.assignment_submit(
            user=assignment.user,
            slug=assignment.project.slug,
            item_id=assignment.item_id,
            submission=Submission(labels=labels, **kwargs),
        )


@pytest.fixture(params=sorted(ENGINES))
def queue(request) -> Queue:
    """Each queue engine in turn: the ORM everywhere, the SQL engine on PostgreSQL."""
    if request.param == "sql" and connection.vendor != "postgresql":
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but the SQL queue engine has no PostgreSQL")
        pytest.skip("the SQL queue engine needs PostgreSQL: set DATABASE_URL")
    return Queue(request.param)


def next_assignment(user, project: Project) -> Assignment | None:
    """The user's next item through the services' seam (whichever engine it picks), as the
    stored assignment."""
    from annotations.annotate import services

    sheet = services.assignment_next(user=user, slug=project.slug)
    return None if sheet is None else Assignment.objects.get(pk=sheet.claim.pk)


def submit_answers(assignment: Assignment, labels: list[LabelInput], **kwargs) -> SubmitResult:
    """Submit as the assignment's annotator through the services' seam."""
    from annotations.annotate import services

    kwargs.setdefault("submission_id", uuid.uuid4())
    return services.assignment_submit(
        user=assignment.user,
        slug=assignment.project.slug,
        item_id=assignment.item_id,
        submission=Submission(labels=labels, **kwargs),
    )
