"""The report on the real data sets shipped for the demo, checked against published figures.

Zheng et al. 2023 (MT-bench, Table 2, setup S1 with ties / S2 without): GPT-4 agrees with
humans 66% / 85%, humans with each other 63% / 81%.
"""

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from annotations import services as annotation_services

DATA = Path(__file__).resolve().parents[2] / "annotations" / "demo_data"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


def report(tmp_path, name: str, fmt: str, files: list[Path], by: list[str]) -> list[dict]:
    project = annotation_services.project_get_or_create(name=name)
    annotation_services.items_import(project=project, paths=files, format=fmt)
    call_command("agreement_report", project=name, out=tmp_path, by=by, bootstrap=200, seed=1)
    with open(tmp_path / "agreement.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def pick(rows, **match) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_mt_bench_gpt4_and_expert_agreement_match_the_paper(tmp_path):
    mt = DATA / "mt_bench"
    files = [mt / "mt_bench_human.csv", mt / "mt_bench_gpt4_pair.csv", mt / "question.jsonl"]
    rows = report(tmp_path, "MT-bench", "mtbench", files, by=["turn"])

    overall = {"slice": "all", "criterion": "preference"}
    gpt4 = pick(rows, **overall, group_a="expert", group_b="gpt-4", metric="percent_agreement")
    gpt4_nt = pick(
        rows, **overall, group_a="expert", group_b="gpt-4", metric="percent_agreement_no_ties"
    )
    humans = pick(rows, **overall, group_a="expert", group_b="expert", metric="percent_agreement")
    humans_nt = pick(
        rows, **overall, group_a="expert", group_b="expert", metric="percent_agreement_no_ties"
    )
    assert float(gpt4["estimate"]) == pytest.approx(0.66, abs=0.02)
    assert float(gpt4_nt["estimate"]) == pytest.approx(0.85, abs=0.02)
    assert float(humans["estimate"]) == pytest.approx(0.63, abs=0.03)
    assert float(humans_nt["estimate"]) == pytest.approx(0.81, abs=0.02)
    for row in (gpt4, gpt4_nt, humans, humans_nt):
        assert float(row["ci_low"]) < float(row["estimate"]) < float(row["ci_high"])
    by_turn = [r for r in rows if r["slice"] == "turn" and r["metric"] == "gap"]
    assert sorted(r["slice_value"] for r in by_turn) == ["1", "2"]


def test_processbench_outcome_check_is_compared_with_the_experts_by_subset(tmp_path):
    files = sorted((DATA / "processbench").glob("*.json"))
    rows = report(tmp_path, "ProcessBench", "processbench", files, by=["subset"])

    subsets = {
        r["slice_value"] for r in rows if r["slice"] == "subset" and r["group_b"] == "outcome-check"
    }
    assert subsets == {"gsm8k", "math", "olympiadbench", "omnimath"}
    overall = pick(rows, criterion="solution_correct", slice="all", group_a="expert",
                   group_b="outcome-check", metric="percent_agreement")  # fmt: skip
    # An answer-only check passes some flawed solutions: it cannot agree perfectly.
    assert 0.5 < float(overall["estimate"]) < 1.0


def test_summeval_crowd_is_compared_with_experts_per_criterion(tmp_path):
    files = sorted((DATA / "summeval").glob("*.jsonl"))
    rows = report(tmp_path, "SummEval", "summeval", files, by=[])

    for criterion in ("coherence", "consistency", "fluency", "relevance"):
        tau = pick(rows, criterion=criterion, slice="all", group_a="expert", group_b="crowd",
                   metric="kendall_tau")  # fmt: skip
        alpha = pick(rows, criterion=criterion, slice="all", group_a="expert", group_b="expert",
                     metric="krippendorff_alpha")  # fmt: skip
        # Fabbri et al. 2021: crowd ratings correlate poorly with the experts'.
        assert abs(float(tau["estimate"])) < 0.2
        assert float(alpha["estimate"]) > 0.3
        assert int(tau["n_items"]) == 1200


def test_summeval_density_score_judge_is_calibrated_against_the_experts(tmp_path):
    """The demo's score judge: extractive density on SummEval's binary consistency. The
    threshold is chosen on the dev half, the held-out half is reported (ROC-AUC about 0.8)."""
    call_command("load_demo", stdout=StringIO())
    call_command(
        "agreement_report", project="SummEval", criterion=["consistent"], out=tmp_path,
        bootstrap=200, seed=0,
    )  # fmt: skip
    with open(tmp_path / "agreement.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    found = {
        r["metric"]: r
        for r in rows
        if r["slice"] == "all" and (r["group_a"], r["group_b"]) == ("expert", "metric")
    }
    assert set(found) == {"roc_auc", "pr_auc", "threshold_accuracy"}
    auc = found["roc_auc"]
    assert 0.7 < float(auc["estimate"]) < 0.9
    assert float(auc["ci_low"]) > 0.5  # better than chance, with its interval
    assert 500 < int(auc["n_items"]) < 700  # the held-out half of 1,200 summaries
    assert "held-out half (seed 0)" in auc["method"]
