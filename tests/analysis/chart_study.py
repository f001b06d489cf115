"""A study with every kind of chart: experts, two label judges on pairs (side by side), a
step judge (earliest-error offsets) and a process reward model's scores (ROC and PR)."""

import random

from annotations import services as annotation_services
from tests.analysis.test_runs import study_lines
from tests.factories import judgement, write_jsonl


def chart_study_lines(seed: int = 1, n_pairs: int = 60, n_solutions: int = 20) -> list:
    rnd = random.Random(seed + 100)
    lines = study_lines(seed, n_pairs, n_solutions)
    experts = {
        (line["item"], line.get("step")): line["value"]
        for line in lines
        if line.get("type") == "judgement" and line["rater"] == "expert_0"
    }
    for i in range(n_pairs):
        truth = experts[(f"p{i}", None)]
        value = truth if rnd.random() < 0.5 else rnd.choice(["a", "b", "tie"])
        lines.append(judgement(f"p{i}", "preference", value, rater="claude", rater_kind="model",
                               rater_group="claude"))  # fmt: skip
    for i in range(n_solutions):
        for step in range(4):
            wrong = experts[(f"s{i}", step)] == "incorrect"
            score = (-1.0 if wrong else 1.0) + rnd.gauss(0, 1.2)
            lines.append(
                {"type": "score", "item": f"s{i}", "step": step, "criterion": "validity",
                 "rater": "math-prm", "rater_group": "math-prm", "score": score}
            )  # fmt: skip
    return lines


def chart_study_import(project, tmp_path) -> None:
    path = write_jsonl(tmp_path / "chart-study.jsonl", chart_study_lines())
    annotation_services.items_import(project=project, paths=[path])
