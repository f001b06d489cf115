"""Fixtures for the annotator interface: a ProcessBench-like study, a pairs study, and the
secrets (model and colleague judgements) that must never reach an annotator."""

from pathlib import Path

import pytest

from annotations.models import Item, Membership, Project
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


def step_labels(item: Item, values: list[str]):
    """Service inputs labelling each step of `item` with `values` (validity criterion)."""
    from annotations.annotate.services import LabelInput

    criterion = item.project.criteria.get(name="validity")
    return [LabelInput(criterion.pk, i, v) for i, v in enumerate(values)]


def item_label(item: Item, name: str, value):
    from annotations.annotate.services import LabelInput

    return LabelInput(item.project.criteria.get(name=name).pk, None, value)
