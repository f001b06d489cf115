"""A small hand-built study for the review pages: four 3-step solutions with known consensus.

Experts (3 raters), a crowd (2 raters) and a model judge `gpt-4` label every step's validity
and each solution's correctness; a checker judge configured on the platform has answers with
a canary in its prompt and raw answer. The expected agreements are written out below.
"""

import pytest

from annotations.judges import services as judge_services
from annotations.judges.models import JudgeAnswer
from annotations.models import Item, Judgement, Membership, Project
from annotations.services import items_import
from tests.factories import VALIDITY, judgement, solution, write_jsonl

CANARY = "REVIEW-CANARY-3e9d"
C, X = "correct", "incorrect"  # validity labels
SOLUTION_CORRECT = {
    "type": "criterion",
    "name": "solution_correct",
    "target": "item",
    "scale": "nominal",
    "labels": ["yes", "no"],
    "error_labels": ["no"],
}
# Per item, per step: the experts' three labels, the crowd's two, the model's one.
STEPS = {
    "s0": [((C, C, C), (C, C), C), ((C, X, X), (X, X), C), ((X,) * 3, (C, X), X)],
    "s1": [((C, C, X), (C, X), C), ((C, C, C), (C, C), X), ((C, X, None), (X, X), C)],
    "s2": [((C, C, C), (C, C), C), ((C, C, C), (C, C), C), ((C, C, C), (C, C), C)],
    "s3": [((X, X, C), (X, X), C), ((C, C, C), (C, C), C), ((C, C, C), (C, C), X)],
}  # fmt: skip
# expert vs gpt-4 on validity: the consensus pairs, by (item, step); None = no consensus.
EXPECTED_EXPERT_MODEL = {
    ("s0", 0): True, ("s0", 1): False, ("s0", 2): True,
    ("s1", 0): True, ("s1", 1): False, ("s1", 2): None,  # experts split 1-1
    ("s2", 0): True, ("s2", 1): True, ("s2", 2): True,
    ("s3", 0): False, ("s3", 1): True, ("s3", 2): False,
}  # fmt: skip
META = {"s0": {"subset": "gsm8k", "turn": 1}, "s1": {"subset": "math", "turn": 2},
        "s2": {"subset": "gsm8k", "turn": "2"}, "s3": {"subset": "math", "flag": True}}  # fmt: skip


def study_lines() -> list:
    lines: list = [VALIDITY, SOLUTION_CORRECT]
    lines += [solution(name, n_steps=3, **META[name]) for name in STEPS]
    for name, steps in STEPS.items():
        for step, (experts, crowd, model) in enumerate(steps):
            for i, value in enumerate(experts):
                if value is not None:
                    rationale = f"expert {i} on {name}#{step}"
                    lines.append(
                        judgement(
                            name, "validity", value, f"expert_{i}", step=step, rationale=rationale
                        )
                    )
            for i, value in enumerate(crowd):
                lines.append(
                    judgement(name, "validity", value, f"crowd_{i}", step=step, rater_group="crowd")
                )
            lines.append(
                judgement(
                    name, "validity", model, "gpt-4", step=step, rater_kind="model",
                    rater_group="gpt-4", rationale=f"{CANARY} model rationale",
                )
            )  # fmt: skip
        for i in range(3):
            lines.append(
                judgement(name, "solution_correct", "no" if name != "s2" else "yes", f"expert_{i}")
            )
    return lines


@pytest.fixture
def study(project, tmp_path, lead) -> Project:
    items_import(project=project, paths=[write_jsonl(tmp_path / "study.jsonl", study_lines())])
    spec = judge_services.JudgeSpec(
        name=f"checker {CANARY}", provider="checker", model="", template="answer-check",
        group="answer-check",
    )  # fmt: skip
    config = judge_services.judge_config_create(project=project, spec=spec, user=None)
    criterion = project.criteria.get(name="solution_correct")
    for item in Item.objects.filter(project=project):
        JudgeAnswer.objects.create(
            ask_key=config.ask_key, config=config, criterion=criterion, item=item,
            prompt=f"Check this solution {CANARY}-prompt", raw=f"passed: false\n{CANARY}-raw",
            tokens_in=11, tokens_out=3, cost=0.0012,
        )  # fmt: skip
        Judgement.objects.create(
            rater=config.rater, item=item, criterion=criterion, value="no", code=1.0,
            rationale=f"{CANARY}-judge-rationale",
        )  # fmt: skip
    return project


@pytest.fixture
def staff_annotator(db, django_user_model, project):
    """Staff, but annotating in the project: blind there like any annotator."""
    user = django_user_model.objects.create_user(username="dave", password="pw", is_staff=True)
    Membership.objects.create(user=user, project=project, role="annotator", rater_group="crowd")
    return user


@pytest.fixture
def staff(db, django_user_model):
    return django_user_model.objects.create_user(username="erin", password="pw", is_staff=True)
