"""The agreement report, end to end, on the real Label Studio exports imported with
`--format labelstudio`: human vs human and human vs the model that posted predictions, each
pooled percent agreement equal to the one counted straight from the export."""

import csv
import json
from collections import defaultdict
from itertools import combinations, product
from pathlib import Path

import pytest
from django.core.management import call_command

from annotations import services

DATA = Path(__file__).resolve().parents[1] / "annotations" / "importers" / "data" / "labelstudio"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


def report(tmp_path: Path, name: str) -> list[dict]:
    project = services.project_get_or_create(name=f"LS {name}")
    config = (DATA / f"{name}.xml").read_text(encoding="utf-8")
    services.items_import(
        project=project,
        paths=[DATA / f"{name}.snapshot.json"],
        format="labelstudio",
        options={"config": config},
    )
    call_command("agreement_report", project=project.name, out=tmp_path, bootstrap=200, seed=1)
    with open(tmp_path / "agreement.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def pick(rows: list[dict], **match) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def answers(name: str, criterion: str) -> tuple[dict, dict]:
    """(target -> {annotator: value}, target -> {model: value}) straight from the export; a
    target is (task, paragraph) for regions, (task, None) otherwise."""
    humans, models = defaultdict(dict), defaultdict(dict)
    for task in json.loads((DATA / f"{name}.snapshot.json").read_text(encoding="utf-8")):
        records = [(a["completed_by"]["email"], a, humans) for a in task["annotations"]]
        records += [(p["model_version"], p, models) for p in task["predictions"]]
        for who, record, into in records:
            if record.get("was_cancelled"):
                continue
            for result in record["result"]:
                if result["from_name"] != criterion:
                    continue
                value = result["value"]
                step = int(value["start"]) if "start" in value else None
                answer = next(v for k, v in value.items() if k in (
                    "selected", "rating", "choices", "paragraphlabels"))  # fmt: skip
                into[(task["id"], step)][who] = json.dumps(answer)
    return humans, models


def pooled_within(humans: dict) -> float:
    pairs = [a == b for votes in humans.values() for a, b in combinations(votes.values(), 2)]
    return sum(pairs) / len(pairs)


def pooled_between(humans: dict, models: dict) -> float:
    pairs = [
        a == b
        for target, votes in humans.items()
        for a, b in product(votes.values(), models.get(target, {}).values())
    ]
    return sum(pairs) / len(pairs)


def assert_interval(row: dict) -> None:
    assert float(row["ci_low"]) <= float(row["estimate"]) <= float(row["ci_high"])


def test_it_reports_pairwise_preferences_human_vs_human_and_vs_gpt4_judge(tmp_path):
    rows = report(tmp_path, "pairwise")
    humans, models = answers("pairwise", "pref")

    within = pick(rows, criterion="pref", slice="all", group_a="labelstudio",
                  group_b="labelstudio", metric="percent_agreement")  # fmt: skip
    between = pick(rows, criterion="pref", slice="all", group_a="labelstudio",
                   group_b="gpt-4-judge", metric="percent_agreement")  # fmt: skip
    kappa = pick(rows, criterion="pref", slice="all", group_a="labelstudio",
                 group_b="gpt-4-judge", metric="cohen_kappa")  # fmt: skip

    assert float(within["estimate"]) == pytest.approx(pooled_within(humans), abs=1e-6)
    assert float(between["estimate"]) == pytest.approx(pooled_between(humans, models), abs=1e-6)
    assert (int(within["n_items"]), int(within["n_pairs"])) == (30, 90)
    for row in (within, between, kappa):
        assert_interval(row)


def test_it_reports_the_rubric_against_g_eval_4(tmp_path):
    rows = report(tmp_path, "rubric")
    humans, models = answers("rubric", "coherence")

    between = pick(rows, criterion="coherence", slice="all", group_a="labelstudio",
                   group_b="g-eval-4", metric="percent_agreement")  # fmt: skip
    alpha = pick(rows, criterion="coherence", slice="all", group_a="labelstudio",
                 group_b="labelstudio", metric="krippendorff_alpha")  # fmt: skip
    weighted = pick(rows, criterion="coherence", slice="all", group_a="labelstudio",
                    group_b="g-eval-4", metric="cohen_kappa_quadratic")  # fmt: skip

    assert float(between["estimate"]) == pytest.approx(pooled_between(humans, models), abs=1e-6)
    assert int(between["n_pairs"]) == 58  # Carol's skip and her missing task are not votes
    assert "ordinal" in alpha["method"]
    for row in (between, alpha, weighted):
        assert_interval(row)
    faithful = pick(rows, criterion="faithful", slice="all", group_a="labelstudio",
                    group_b="g-eval-4", metric="percent_agreement")  # fmt: skip
    humans, models = answers("rubric", "faithful")
    assert float(faithful["estimate"]) == pytest.approx(pooled_between(humans, models), abs=1e-6)


def test_it_reports_step_agreement_on_paragraph_regions(tmp_path):
    rows = report(tmp_path, "steps")
    humans, _ = answers("steps", "validity")

    within = pick(rows, criterion="validity", slice="all", group_a="labelstudio",
                  group_b="labelstudio", metric="percent_agreement")  # fmt: skip
    alpha = pick(rows, criterion="validity", slice="all", group_a="labelstudio",
                 group_b="labelstudio", metric="krippendorff_alpha")  # fmt: skip

    assert float(within["estimate"]) == pytest.approx(pooled_within(humans), abs=1e-6)
    assert (int(within["n_items"]), int(within["n_pairs"])) == (49, 147)  # steps, region pairs
    assert_interval(alpha)
    positions = {r["slice_value"] for r in rows if r["slice"] == "step_position"}
    assert "0" in positions
