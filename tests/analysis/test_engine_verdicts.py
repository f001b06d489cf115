"""Judge verdicts in the report: the alternative annotator test, judge vs judge and soft
labels, on small synthetic criteria whose answers are worked out by hand or by the pure
statistics called directly."""

import csv
import io
import math

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analysis import stats
from analysis.config import RunConfig
from analysis.engine import CriterionData, Group, criterion_report
from analysis.models import AgreementRun
from analysis.schema import ResultRow, text_max_length
from annotations import services as annotation_services
from tests.factories import PREFERENCE, judgement, pair, write_jsonl

NAN = np.nan
VERDICTS = (
    "alt_test_winning_rate",
    "alt_test_advantage_probability",
    "judge_vs_judge_accuracy_diff",
    "mcnemar_exact_p",
    "soft_agreement",
    "soft_log_loss",
)


def nominal(groups: dict[str, Group], n: int, scale: str = "nominal") -> CriterionData:
    """`n` item-level targets, one per item; items alternate between two topics."""
    labels = ["a", "b", "tie"] if scale == "pairwise" else ["x", "y", "z"]
    if scale == "ordinal":
        labels = [1, 2, 3, 4, 5]
    return CriterionData(
        name="label",
        scale=scale,
        labels=labels,
        n_categories=len(labels),
        error_codes=[],
        target_item=np.arange(n),
        target_step=np.full(n, -1),
        item_meta=[{"topic": "odd" if i % 2 else "even"} for i in range(n)],
        item_ref=[f"i{i}" for i in range(n)],
        item_n_steps=np.zeros(n, dtype=int),
        groups=groups,
    )


def experts_and_judges(n: int = 40, seed: int = 0) -> CriterionData:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    noise = rng.random((n, 4)) < 0.25
    experts = np.where(noise, rng.integers(0, 3, (n, 4)), truth[:, None]).astype(float)
    good = np.where(rng.random(n) < 0.9, truth, rng.integers(0, 3, n)).astype(float)
    poor = np.where(rng.random(n) < 0.5, truth, rng.integers(0, 3, n)).astype(float)
    return nominal(
        {
            "expert": Group("expert", "human", experts),
            "good": Group("good", "model", good[:, None]),
            "poor": Group("poor", "model", poor[:, None]),
        },
        n,
    )


def rows_by(rows: list[ResultRow], **match) -> list[ResultRow]:
    return [r for r in rows if all(getattr(r, key) == value for key, value in match.items())]


def test_it_adds_the_alt_test_of_each_judge_against_a_group_of_three_or_more_raters() -> None:
    data = experts_and_judges()

    rows = criterion_report(data, RunConfig(n_boot=0)).rows

    expected = stats.alt_test(
        data.groups["good"].codes[:, 0], data.groups["expert"].codes, scoring="accuracy"
    )
    (omega,) = rows_by(rows, slice="all", group_b="good", metric="alt_test_winning_rate")
    (rho,) = rows_by(rows, slice="all", group_b="good", metric="alt_test_advantage_probability")
    assert omega.group_a == rho.group_a == "expert"
    assert (omega.estimate, rho.estimate) == (expected.winning_rate, expected.advantage_probability)
    assert (omega.n_items, omega.n_pairs) == (40, 160)
    assert "epsilon=0.2" in omega.method and "accuracy" in omega.method
    assert f"won {expected.n_won} of 4 raters" in omega.method
    assert math.isnan(omega.ci_low) and "no interval" in omega.method


def test_a_per_group_epsilon_overrides_the_default() -> None:
    data = experts_and_judges()
    config = RunConfig.from_input({"n_boot": 0, "group_epsilons": ["expert=0.05"]})

    rows = criterion_report(data, config).rows

    (omega,) = rows_by(rows, slice="all", group_b="poor", metric="alt_test_winning_rate")
    expected = stats.alt_test(
        data.groups["poor"].codes[:, 0],
        data.groups["expert"].codes,
        scoring="accuracy",
        epsilon=0.05,
    )
    assert "epsilon=0.05" in omega.method
    assert omega.estimate == expected.winning_rate


def test_it_runs_no_alt_test_against_two_raters_and_scores_ordinal_scales_by_rmse() -> None:
    rng = np.random.default_rng(1)
    two = rng.integers(0, 5, (40, 2)).astype(float)
    three = rng.integers(0, 5, (40, 3)).astype(float)
    judge = rng.integers(0, 5, (40, 1)).astype(float)
    data = nominal(
        {
            "pair": Group("pair", "human", two),
            "trio": Group("trio", "human", three),
            "judge": Group("judge", "model", judge),
        },
        40,
        scale="ordinal",
    )

    rows = criterion_report(data, RunConfig(n_boot=0, reference_group="trio")).rows

    alt = [r for r in rows if r.metric.startswith("alt_test")]
    assert {r.group_a for r in alt} == {"trio"}
    (rho,) = rows_by(alt, slice="all", metric="alt_test_advantage_probability")
    expected = stats.alt_test(judge[:, 0], three, scoring="neg_rmse")
    assert rho.estimate == expected.advantage_probability
    assert "neg_rmse" in rho.method


def test_a_slice_too_small_for_the_test_says_so_instead_of_a_number() -> None:
    rows = criterion_report(experts_and_judges(), RunConfig(n_boot=0, slice_keys=("topic",)))

    (small,) = rows_by(rows.rows, slice="topic", slice_value="odd", group_b="good",
                       metric="alt_test_winning_rate")  # fmt: skip
    # 20 targets per topic: no rater reaches the paper's 30 instances.
    assert math.isnan(small.estimate) and small.n_items == 0
    assert "not run" in small.method and ">= 30" in small.method


def test_it_compares_two_judges_against_the_reference_consensus_by_hand() -> None:
    experts = np.array([[0, 0, 1], [1, 1, 1], [2, 2, 0], [0, 1, 2], [1, 1, 0], [2, 2, 2]])
    first = np.array([[0], [1], [2], [0], [0], [2]], dtype=float)
    second = np.array([[1], [1], [0], [0], [0], [2]], dtype=float)
    data = nominal(
        {
            "expert": Group("expert", "human", experts.astype(float)),
            "first": Group("first", "model", first),
            "second": Group("second", "model", second),
        },
        6,
    )

    rows = criterion_report(data, RunConfig(n_boot=200, seed=2)).rows

    # Consensus 0, 1, 2, none, 1, 2: five targets; first right on 0, 1, 2, 5 (4/5),
    # second on 1, 5 (2/5); discordant: only first right on 0 and 2.
    (diff,) = rows_by(rows, slice="all", metric="judge_vs_judge_accuracy_diff")
    assert (diff.group_a, diff.group_b) == ("first", "second")
    assert diff.estimate == pytest.approx(0.4)
    assert diff.n_items == 5
    assert diff.ci_low <= diff.estimate <= diff.ci_high
    assert "expert consensus" in diff.method and "paired percentile cluster" in diff.method
    (p,) = rows_by(rows, slice="all", metric="mcnemar_exact_p")
    assert p.estimate == pytest.approx(0.5)  # 2 discordant, both one way: 2 * (1/2)^2
    assert "2 targets only A right, 0 only B right" in p.method


def test_it_measures_soft_agreement_and_log_loss_of_a_sampled_judge() -> None:
    experts = np.array([[0, 0, 1], [1, 1, 1], [0, 1, NAN], [0, NAN, NAN]])
    single = np.array([[1], [1], [0], [1]], dtype=float)
    sampled = np.array([[0, 0, 1], [1, 1, 1], [1, 1, 0], [0, 0, 0]], dtype=float)
    data = nominal(
        {
            "expert": Group("expert", "human", experts),
            "single": Group("single", "model", single),
            "sampled": Group("sampled", "model", sampled),
        },
        4,
    )

    rows = criterion_report(data, RunConfig(n_boot=0)).rows

    (soft,) = rows_by(rows, slice="all", group_b="single", metric="soft_agreement")
    # 1/3 of the experts gave the judge's label on target 0, 3/3 on 1, 1/2 on 2; target 3
    # has one expert label and is left out.
    assert soft.estimate == pytest.approx((1 / 3 + 1 + 1 / 2) / 3)
    assert (soft.group_a, soft.n_items) == ("expert", 3)
    assert not rows_by(rows, group_b="single", metric="soft_log_loss")
    (loss,) = rows_by(rows, slice="all", group_b="sampled", metric="soft_log_loss")
    expected = stats.soft_log_loss(sampled, experts, n_categories=3)
    assert loss.estimate == pytest.approx(expected.value)
    assert "add-0.5 smoothed" in loss.method


def test_every_slice_gets_the_verdict_rows_and_methods_fit_the_column() -> None:
    long = "j" * 64
    data = experts_and_judges(n=80)
    data.groups[long] = Group(long, "model", data.groups.pop("poor").codes)

    rows = criterion_report(data, RunConfig(n_boot=50, slice_keys=("topic",))).rows

    limit = text_max_length(ResultRow, "method")
    assert all(len(r.method) <= limit for r in rows)
    for value in ("all", "even", "odd"):
        metrics = {r.metric for r in rows if r.slice_value == value}
        assert set(VERDICTS) - {"soft_log_loss"} <= metrics


def test_it_adds_no_judge_comparison_without_a_reference_or_for_one_judge() -> None:
    data = experts_and_judges()
    del data.groups["poor"]

    rows = criterion_report(data, RunConfig(n_boot=0)).rows

    assert not rows_by(rows, metric="judge_vs_judge_accuracy_diff")
    assert rows_by(rows, metric="soft_agreement")


def study_lines(n: int = 40) -> list:
    rng = np.random.default_rng(5)
    lines = [PREFERENCE] + [pair(f"p{i}", turn=1 + i % 2) for i in range(n)]
    for i in range(n):
        truth = "abt"[rng.integers(0, 3)]
        for e in range(3):
            value = truth if rng.random() < 0.8 else "abt"[rng.integers(0, 3)]
            lines.append(judgement(f"p{i}", "preference", _tie(value), rater=f"expert_{e}"))
        for name, skill in (("gpt", 0.9), ("small", 0.5)):
            value = truth if rng.random() < skill else "abt"[rng.integers(0, 3)]
            lines.append(judgement(f"p{i}", "preference", _tie(value), rater=name,
                                   rater_kind="model", rater_group=name))  # fmt: skip
    return lines


def _tie(value: str) -> str:
    return "tie" if value == "t" else value


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_the_cli_takes_a_default_and_a_per_group_epsilon(project, tmp_path) -> None:
    path = write_jsonl(tmp_path / "study.jsonl", study_lines())
    annotation_services.items_import(project=project, paths=[path])
    out = tmp_path / "report"

    call_command("agreement_report", project=project.name, out=out, bootstrap=50,
                 epsilon=["0.15", "expert=0.1"], stdout=io.StringIO())  # fmt: skip

    with open(out / "agreement.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    omega = [r for r in rows if r["metric"] == "alt_test_winning_rate" and r["slice"] == "all"]
    assert {(r["group_a"], r["group_b"]) for r in omega} == {("expert", "gpt"), ("expert", "small")}
    assert all("epsilon=0.1:" in r["method"] for r in omega)
    stored = AgreementRun.objects.get().config
    assert (stored["epsilon"], stored["group_epsilons"]) == (0.15, {"expert": 0.1})
    (diff,) = [r for r in rows if r["metric"] == "judge_vs_judge_accuracy_diff"]
    assert (diff["group_a"], diff["group_b"]) == ("gpt", "small")
    with pytest.raises(CommandError, match="from 0 to 1"):
        call_command("agreement_report", project=project.name, out=out, epsilon=["expert=2"])
    with pytest.raises(CommandError, match="once"):
        call_command("agreement_report", project=project.name, out=out, epsilon=["0.1", "0.2"])
