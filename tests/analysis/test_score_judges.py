"""Score judges in the report: thresholds chosen on a seeded dev half of the items, ROC-AUC,
PR-AUC and the threshold's accuracy on the held-out half, per slice."""

import numpy as np
import pytest

from analysis.config import RunConfig
from analysis.engine import CriterionData, Group, criterion_report
from analysis.engine.calibration import SCORE_METRICS, held_out_targets
from analysis.loading import criterion_data_load, project_index_load
from annotations import services
from annotations.models import Criterion
from tests.factories import write_jsonl

NAN = np.nan


def scored_data(scores: np.ndarray, wrong: np.ndarray, steps: int = 1) -> CriterionData:
    """`len(wrong) // steps` solutions of `steps` steps; two experts agree on `wrong`; one
    score group (`prm`) gives `scores`; half the solutions are in subset `a`."""
    n = len(wrong)
    n_items = n // steps
    experts = np.repeat(wrong.astype(float)[:, None], 2, axis=1)
    return CriterionData(
        name="validity",
        scale="nominal",
        labels=["correct", "incorrect"],
        n_categories=2,
        error_codes=[1],
        target_item=np.repeat(np.arange(n_items), steps),
        target_step=np.tile(np.arange(steps), n_items),
        item_meta=[{"subset": "a" if i % 2 else "b"} for i in range(n_items)],
        item_ref=[f"s-{i}" for i in range(n_items)],
        item_n_steps=np.full(n_items, steps),
        groups={"expert": Group("expert", "human", experts)},
        score_groups={"prm": Group("prm", "model", scores[:, None])},
    )


def score_rows(report, slice="all"):
    return {r.metric: r for r in report.rows if r.metric in SCORE_METRICS and r.slice == slice}


def test_a_score_that_separates_the_classes_gets_auc_one():
    rng = np.random.default_rng(0)
    wrong = rng.random(400) < 0.3
    scores = np.where(wrong, rng.uniform(0, 1, 400), rng.uniform(2, 3, 400))

    report = criterion_report(scored_data(scores, wrong), RunConfig(n_boot=200, seed=5))

    rows = score_rows(report)
    assert set(rows) == set(SCORE_METRICS)
    assert {(r.group_a, r.group_b) for r in rows.values()} == {("expert", "prm")}
    assert rows["roc_auc"].estimate == 1.0
    assert rows["pr_auc"].estimate == 1.0
    assert rows["threshold_accuracy"].estimate == 1.0
    held_out = int(held_out_targets(scored_data(scores, wrong), 5).sum())
    assert rows["roc_auc"].n_items == held_out
    assert 150 < held_out < 250
    assert "held-out half (seed 5); threshold " in rows["threshold_accuracy"].method
    assert "B=200" in rows["roc_auc"].method
    assert len(rows["roc_auc"].method) <= 200


def test_a_random_score_gets_auc_near_one_half():
    rng = np.random.default_rng(1)
    wrong = rng.random(2000) < 0.5
    scores = rng.normal(size=2000)

    report = criterion_report(scored_data(scores, wrong), RunConfig(n_boot=300, seed=0))

    auc = score_rows(report)["roc_auc"]
    assert auc.estimate == pytest.approx(0.5, abs=0.05)
    assert auc.ci_low < 0.5 < auc.ci_high
    # PR-AUC of a random ranking is about the share of positives (correct targets).
    correct_share = 1 - wrong[held_out_targets(scored_data(scores, wrong), 0)].mean()
    assert score_rows(report)["pr_auc"].estimate == pytest.approx(correct_share, abs=0.05)


def test_it_reports_score_judges_per_slice():
    rng = np.random.default_rng(2)
    wrong = rng.random(300) < 0.4
    scores = np.where(wrong, 0.0, 1.0) + rng.normal(scale=0.1, size=300)

    report = criterion_report(
        scored_data(scores, wrong), RunConfig(n_boot=0, slice_keys=("subset",))
    )

    for value in ("a", "b"):
        rows = {r.metric: r for r in report.rows if r.slice_value == value}
        assert rows["roc_auc"].estimate == 1.0
        assert np.isnan(rows["roc_auc"].ci_low)  # n_boot=0: no interval


def test_the_split_is_seeded_and_keeps_a_solutions_steps_together():
    data = scored_data(np.zeros(400), np.zeros(400, dtype=bool), steps=4)

    split = held_out_targets(data, 3)

    per_item = split.reshape(100, 4)
    assert (per_item == per_item[:, :1]).all()
    assert 30 < per_item[:, 0].sum() < 70
    np.testing.assert_array_equal(split, held_out_targets(data, 3))
    assert not np.array_equal(split, held_out_targets(data, 4))


def test_a_criterion_without_score_groups_gets_no_score_rows():
    data = scored_data(np.zeros(10), np.zeros(10, dtype=bool))
    data.score_groups = {}

    assert score_rows(criterion_report(data, RunConfig(n_boot=0))) == {}


CORRECTNESS = {
    "type": "criterion",
    "name": "correctness",
    "target": "item",
    "scale": "nominal",
    "labels": ["correct", "wrong"],
    "error_labels": ["wrong"],
}


@pytest.mark.django_db
def test_imported_scores_reach_the_report(tmp_path, project):
    rng = np.random.default_rng(3)
    lines: list = [CORRECTNESS]
    for i in range(120):
        wrong = bool(rng.random() < 0.5)
        lines.append({"type": "item", "id": f"r-{i}", "kind": "response", "response": "..."})
        for rater in ("expert_1", "expert_2"):
            lines.append(
                {"type": "judgement", "item": f"r-{i}", "criterion": "correctness"}
                | {"rater": rater, "rater_group": "expert"}
                | {"value": "wrong" if wrong else "correct"}
            )
        lines.append(
            {"type": "score", "item": f"r-{i}", "criterion": "correctness", "rater": "rm"}
            | {"score": float(rng.uniform(-2, -1) if wrong else rng.uniform(1, 2))}
        )
    services.items_import(project=project, paths=[write_jsonl(tmp_path / "in.jsonl", lines)])

    index = project_index_load(project=project)
    data = criterion_data_load(criterion=Criterion.objects.get(project=project), index=index)
    report = criterion_report(data, RunConfig(n_boot=0))

    rows = score_rows(report)
    assert {(r.group_a, r.group_b) for r in rows.values()} == {("expert", "model")}
    assert rows["roc_auc"].estimate == 1.0
    assert rows["threshold_accuracy"].estimate == 1.0
