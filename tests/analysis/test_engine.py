"""The report engine on small arrays whose answers can be worked out by hand."""

import numpy as np
import pytest

from analysis.config import RunConfig
from analysis.engine import CriterionData, Group, criterion_report
from analysis.engine.slicing import slices

NAN = np.nan


def step_data() -> CriterionData:
    """Two solutions with 3 steps each; 2 experts agree except on one step; a model."""
    experts = np.array([[0, 0], [1, 1], [NAN, NAN], [0, 0], [0, 1], [0, 0]], dtype=float)
    model = np.array([[0], [0], [1], [0], [0], [0]], dtype=float)
    return CriterionData(
        name="validity",
        scale="nominal",
        labels=["correct", "incorrect"],
        n_categories=2,
        error_codes=[1],
        target_item=np.array([0, 0, 0, 1, 1, 1]),
        target_step=np.array([0, 1, 2, 0, 1, 2]),
        item_meta=[{"subset": "gsm8k"}, {"subset": "math"}],
        item_ref=["s-0", "s-1"],
        item_n_steps=np.array([3, 3]),
        groups={
            "expert": Group("expert", "human", experts),
            "judge": Group("judge", "model", model),
        },
    )


def rows_by(report, **match):
    return [r for r in report.rows if all(getattr(r, key) == value for key, value in match.items())]


def test_it_computes_within_and_between_group_percent_agreement():
    report = criterion_report(step_data(), RunConfig(n_boot=0))

    (within,) = rows_by(
        report, slice="all", group_a="expert", group_b="expert", metric="percent_agreement"
    )
    # one expert pair on each of the 5 judged steps (n_items counts targets), 4 agree
    assert (within.estimate, within.n_pairs, within.n_items) == (pytest.approx(0.8), 5, 5)
    (between,) = rows_by(
        report, slice="all", group_a="expert", group_b="judge", metric="percent_agreement"
    )
    # 10 expert-model pairs on targets both judged: disagreements on step 1 of s-0 (2 pairs)
    # and step 1 of s-1 (1 pair)
    assert between.estimate == pytest.approx(7 / 10)
    assert between.n_pairs == 10


def test_it_computes_earliest_error_agreement_from_group_consensus():
    report = criterion_report(step_data(), RunConfig(n_boot=0))

    metrics = {r.metric: r for r in rows_by(report, slice="all", group_b="judge")}
    # experts: s-0 first error at step 1, s-1 no majority at step 1 -> clean (-1);
    # judge: s-0 first error at step 2, s-1 clean.
    assert metrics["first_error_accuracy"].estimate == pytest.approx(0.5)
    assert metrics["error_accuracy"].estimate == pytest.approx(0.0)
    assert metrics["correct_accuracy"].estimate == pytest.approx(1.0)
    assert metrics["processbench_f1"].estimate == pytest.approx(0.0)


def test_it_slices_by_meta_step_position_and_solution_length():
    names = [(s, v, int(m.sum())) for s, v, m in slices(step_data(), ("subset",))]

    assert names[:3] == [("all", "all", 6), ("subset", "gsm8k", 3), ("subset", "math", 3)]
    assert ("step_position", "0", 2) in names
    assert ("step_position", "2", 2) in names
    assert ("solution_length", "1-3", 6) in names


def test_it_lists_the_targets_where_the_model_differs_from_the_expert_consensus():
    report = criterion_report(step_data(), RunConfig(n_boot=0))

    assert [(d.item, d.step, d.reference_label, d.judge_label) for d in report.disagreements] == [
        ("s-0", 1, "incorrect", "correct")
    ]


def test_it_gives_intervals_that_contain_the_estimate_and_repeat_with_the_seed():
    rng = np.random.default_rng(5)
    n = 300
    truth = rng.integers(0, 3, n)
    noisy = lambda p: np.where(rng.random(n) < p, truth, rng.integers(0, 3, n))  # noqa: E731
    data = CriterionData(
        name="pref", scale="pairwise", labels=["a", "b", "tie"], n_categories=3,
        error_codes=[], target_item=np.arange(n), target_step=np.full(n, -1),
        item_meta=[{"turn": 1 + i % 2} for i in range(n)], item_ref=[str(i) for i in range(n)],
        item_n_steps=np.zeros(n, dtype=int),
        groups={
            "expert": Group("expert", "human", np.column_stack([noisy(0.8) for _ in range(3)])),
            "gpt": Group("gpt", "model", noisy(0.6)[:, None].astype(float)),
        },
    )  # fmt: skip
    config = RunConfig(n_boot=200, seed=11, slice_keys=("turn",))

    first = criterion_report(data, config)
    again = criterion_report(data, config)

    assert first.rows == again.rows
    assert first.shortfall == again.shortfall
    for row in first.rows:
        if np.isfinite(row.ci_low):
            assert row.ci_low <= row.estimate + 1e-9 <= row.ci_high + 2e-9, row
    gap = rows_by(first, slice="all", metric="gap")[0]
    assert gap.estimate < 0 and gap.ci_high < 0  # a noisier judge is below the experts
    verdicts = {(s.slice, s.slice_value): s for s in first.shortfall}
    assert verdicts[("all", "all")].verdict == "below"
    for s in first.shortfall:
        if s.slice != "all":
            assert s.p_adjusted >= s.p_value - 1e-12
    assert {r.metric for r in rows_by(first, slice="all", group_a="expert",
                                      group_b="expert")} == {
        "percent_agreement", "percent_agreement_no_ties", "fleiss_kappa", "gwet_ac1",
        "krippendorff_alpha",
    }  # fmt: skip


def test_it_flags_small_slices_in_the_shortfall():
    data = step_data()
    report = criterion_report(data, RunConfig(n_boot=0, slice_keys=("subset",), min_slice_items=2))

    flags = {(s.slice, s.slice_value): s.small_slice for s in report.shortfall}
    assert flags[("all", "all")] is False
    assert flags[("subset", "gsm8k")] is True


def test_it_measures_how_often_the_longer_answer_wins():
    n = 40
    lengths = np.column_stack([np.arange(n) % 2 * 100 + 50, np.full(n, 100)]).astype(float)
    lengths[:4] = np.nan  # answers not known for these pairs
    longer = np.where(lengths[:, 0] > lengths[:, 1], 0.0, 1.0)  # code of the longer answer
    verbose_judge = longer[:, None].copy()
    data = CriterionData(
        name="pref", scale="pairwise", labels=["a", "b", "tie"], n_categories=3, error_codes=[],
        target_item=np.arange(n), target_step=np.full(n, -1), item_meta=[{}] * n,
        item_ref=[str(i) for i in range(n)], item_n_steps=np.zeros(n, dtype=int),
        item_lengths=lengths,
        groups={"gpt": Group("gpt", "model", verbose_judge)},
    )  # fmt: skip

    report = criterion_report(data, RunConfig(n_boot=0))

    (row,) = rows_by(report, metric="longer_answer_wins")
    assert (row.estimate, row.n_items) == (1.0, 36)
    assert row.ci_low < 1.0 and "Wilson" in row.method
