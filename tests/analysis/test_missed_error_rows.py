"""The report's missed-error rows: how often a model judge passes what the experts call an
error, next to the agreement rows (the answer checker passing flawed solutions)."""

import numpy as np
import pytest

from analysis.config import RunConfig
from analysis.engine import CriterionData, Group, criterion_report


def outcome_data(expert_wrong: np.ndarray, judge_wrong: np.ndarray) -> CriterionData:
    n = len(expert_wrong)
    return CriterionData(
        name="solution_correct",
        scale="nominal",
        labels=["correct", "incorrect"],
        n_categories=2,
        error_codes=[1],
        target_item=np.arange(n),
        target_step=np.full(n, -1),
        item_meta=[{} for _ in range(n)],
        item_ref=[f"s-{i}" for i in range(n)],
        item_n_steps=np.zeros(n, dtype=int),
        groups={
            "expert": Group("expert", "human", np.repeat(expert_wrong[:, None], 3, axis=1)),
            "crowd": Group("crowd", "human", np.repeat(judge_wrong[:, None], 2, axis=1)),
            "checker": Group("checker", "model", judge_wrong[:, None]),
        },
    )


def test_it_reports_the_share_of_flawed_solutions_the_judge_passes():
    expert = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=float)
    judge = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], dtype=float)
    report = criterion_report(outcome_data(expert, judge), RunConfig(n_boot=100, seed=1))
    rows = {
        (r.group_a, r.group_b, r.metric): r
        for r in report.rows
        if r.slice == "all" and r.metric.endswith("error_rate")
    }
    assert set(rows) == {  # the reference against each model; not people against people
        ("expert", "checker", "missed_error_rate"),
        ("expert", "checker", "false_error_rate"),
    }
    missed = rows[("expert", "checker", "missed_error_rate")]
    assert missed.estimate == pytest.approx(3 / 4) and missed.n_pairs == 4
    assert rows[("expert", "checker", "false_error_rate")].estimate == pytest.approx(1 / 6)
    assert missed.ci_low <= missed.estimate <= missed.ci_high
    assert "missed-error rate" in missed.method and "B=100" in missed.method
