"""The numbers behind the charts: confusion cells, earliest-error offsets and score curves,
each against an explicit loop on random inputs or a case worked out by hand."""

import numpy as np
import pytest

from analysis import stats
from analysis.config import RunConfig
from analysis.engine import CriterionData, Group, criterion_report
from analysis.engine.chart_data import curve_points, first_error_rows, offset_category

NAN = np.nan


def random_data(seed: int) -> CriterionData:
    rng = np.random.default_rng(seed)
    n_items, n_steps = 30, 5
    target_item = np.repeat(np.arange(n_items), n_steps)
    target_step = np.tile(np.arange(n_steps), n_items)
    experts = rng.choice([0.0, 1.0], size=(len(target_item), 3), p=[0.8, 0.2])
    experts[rng.random(experts.shape) < 0.2] = NAN
    model = rng.choice([0.0, 1.0], size=(len(target_item), 1), p=[0.7, 0.3])
    scores = np.where(np.nan_to_num(experts[:, :1]) == 0, 1.0, 0.0) + rng.normal(0, 1, (150, 1))
    return CriterionData(
        name="validity",
        scale="nominal",
        labels=["correct", "incorrect"],
        n_categories=2,
        error_codes=[1],
        target_item=target_item,
        target_step=target_step,
        item_meta=[{} for _ in range(n_items)],
        item_ref=[f"s{i}" for i in range(n_items)],
        item_n_steps=np.full(n_items, n_steps),
        groups={
            "expert": Group("expert", "human", experts),
            "judge": Group("judge", "model", model),
        },
        score_groups={"prm": Group("prm", "model", scores)},
    )


@pytest.mark.parametrize("seed", range(5))
def test_it_counts_the_confusion_matrix_like_a_loop(seed):
    data = random_data(seed)
    report = criterion_report(data, RunConfig(n_boot=0, seed=seed))
    cells = {(r.x_label, r.y_label): r.count for r in report.charts if r.chart == "confusion"}

    ref = stats.consensus(data.groups["expert"].codes, n_categories=2)
    judge = stats.consensus(data.groups["judge"].codes, n_categories=2)
    expected = {(a, b): 0 for a in data.labels for b in data.labels}
    for r, j in zip(ref, judge, strict=True):
        if not (np.isnan(r) or np.isnan(j)):
            expected[(data.labels[int(r)], data.labels[int(j)])] += 1
    assert cells == expected


@pytest.mark.parametrize(
    ("ref", "judge", "category"),
    [(2, 1, "judge too early"), (2, 2, "exact"), (1, 3, "judge too late"), (2, -1, "missed"),
     (-1, 0, "false alarm"), (-1, -1, "both: no error")],
)  # fmt: skip
def test_it_names_where_the_judge_puts_the_first_error(ref, judge, category):
    assert offset_category(ref, judge) == category


def test_it_histograms_first_error_offsets_of_hand_made_solutions():
    # Three solutions of 3 steps: the judge flags step 0 where experts say 1 (offset -1),
    # the same step 2, and nothing where experts say 0 (missed).
    experts = np.array([[0], [1], [NAN], [0], [0], [1], [1], [NAN], [NAN]], dtype=float)
    judge = np.array([[1], [0], [0], [0], [0], [1], [0], [0], [0]], dtype=float)
    data = CriterionData(
        name="validity", scale="nominal", labels=["correct", "incorrect"], n_categories=2,
        error_codes=[1], target_item=np.repeat(np.arange(3), 3),
        target_step=np.tile(np.arange(3), 3), item_meta=[{}] * 3, item_ref=["a", "b", "c"],
        item_n_steps=np.full(3, 3),
        groups={"expert": Group("expert", "human", experts),
                "judge": Group("judge", "model", judge)},
    )  # fmt: skip

    rows = list(first_error_rows(data, "expert"))

    got = [(r.x_label, None if np.isnan(r.x) else r.x, r.count) for r in rows]
    assert got == [("judge too early", -1.0, 1), ("exact", 0.0, 1), ("missed", None, 1)]


@pytest.mark.parametrize("seed", range(5))
def test_it_traces_roc_and_pr_points_like_a_loop_over_thresholds(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 8, 60).astype(float)  # ties on purpose
    positive = (rng.random(60) < 0.4).astype(float)
    positive[:3] = NAN

    curve = curve_points(scores, positive)

    keep = ~np.isnan(positive)
    s, y = scores[keep], positive[keep]
    for t, fpr, tpr, prec in zip(*(curve[k][1:] for k in ("threshold", "fpr", "tpr", "precision")),
                                 strict=True):  # fmt: skip
        predicted = s >= t
        assert tpr == pytest.approx((predicted & (y == 1)).sum() / (y == 1).sum())
        assert fpr == pytest.approx((predicted & (y == 0)).sum() / (y == 0).sum())
        assert prec == pytest.approx((predicted & (y == 1)).sum() / predicted.sum())
    assert (curve["fpr"][0], curve["tpr"][0]) == (0.0, 0.0)
    assert (curve["fpr"][-1], curve["tpr"][-1]) == (1.0, 1.0)
    # The trapezoid area under the points is the ROC-AUC the report states.
    assert np.trapezoid(curve["tpr"], curve["fpr"]) == pytest.approx(
        stats.roc_auc(scores, positive).value
    )


def test_it_marks_the_chosen_threshold_on_both_curves():
    data = random_data(3)
    report = criterion_report(data, RunConfig(n_boot=0, seed=3))

    chosen = [r for r in report.charts if r.x_label == "chosen"]
    assert sorted(r.chart for r in chosen) == ["pr", "roc"]
    roc = [r for r in report.charts if r.chart == "roc" and r.x_label != "chosen"]
    # The chosen point is one of the curve's points.
    point = next(r for r in chosen if r.chart == "roc")
    assert any(np.isclose(r.x, point.x) and np.isclose(r.y, point.y) for r in roc)
    assert {r.group_b for r in chosen} == {"prm"}


def test_it_makes_no_chart_rows_without_a_reference_group():
    data = random_data(1)
    data.groups = {"judge": data.groups["judge"]}
    assert criterion_report(data, RunConfig(n_boot=0)).charts == []
