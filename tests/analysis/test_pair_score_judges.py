"""Pair scores (P(a is better than b)) calibrated against the reference group's pairwise
verdicts: positive class "consensus a", negative "consensus b", ties and targets without a
consensus left out; checked on a hand-computed example and against explicit loops."""

import hashlib
from collections import Counter

import numpy as np
import pytest

from analysis.config import RunConfig
from analysis.engine import CriterionData, Group, criterion_report
from analysis.engine.calibration import SCORE_METRICS, held_out_targets, positive_class
from analysis.loading import criterion_data_load, project_index_load
from annotations import services
from annotations.models import Criterion
from tests.factories import PREFERENCE, pair, write_jsonl

NAN = np.nan
A, B, TIE = 0.0, 1.0, 2.0


def pair_data(refs: list[str], experts: np.ndarray, scores: np.ndarray) -> CriterionData:
    """One pair item per ref; `experts: (n, n_experts)` codes (a 0, b 1, tie 2, NaN); one
    score group `pm` with `scores: (n,)`."""
    n = len(refs)
    return CriterionData(
        name="preference",
        scale="pairwise",
        labels=["a", "b", "tie"],
        n_categories=3,
        error_codes=[],
        target_item=np.arange(n),
        target_step=np.full(n, -1),
        item_meta=[{} for _ in range(n)],
        item_ref=refs,
        item_n_steps=np.zeros(n, dtype=int),
        groups={"expert": Group("expert", "human", experts)},
        score_groups={"pm": Group("pm", "model", scores[:, None])},
    )


def score_rows(report) -> dict:
    return {r.metric: r for r in report.rows if r.metric in SCORE_METRICS and r.slice == "all"}


def refs_in(half: int, n: int, seed: int) -> list[str]:
    """`n` item ids that the seed's split puts in the development (0) or held-out (1) half."""
    found = []
    for i in range(1000):
        ref = f"q-{i}"
        if hashlib.sha256(f"{seed}:{ref}".encode()).digest()[0] & 1 == half:
            found.append(ref)
        if len(found) == n:
            return found
    raise AssertionError("not enough ids")


def test_the_positive_class_of_a_pair_is_a_consensus_of_a():
    experts = np.array(
        [[A, A], [B, B], [TIE, TIE], [A, B], [A, NAN], [NAN, NAN], [A, TIE, TIE], [B, B, A]],
        dtype=object,
    )
    codes = np.full((8, 3), NAN)
    for row, values in enumerate(experts):
        codes[row, : len(values)] = values

    positive = positive_class(codes, scale="pairwise", n_categories=3, error_codes=())

    np.testing.assert_array_equal(positive, [1, 0, NAN, NAN, 1, NAN, NAN, 0])


def test_a_hand_computed_pair_calibration():
    seed = 0
    dev, held = refs_in(0, 4, seed), refs_in(1, 6, seed)
    # Development: a, a, b, b with scores 0.9, 0.6, 0.4, 0.1: every cut between 0.4 and 0.6
    # is right on all four; the candidates are the midpoints, so the threshold is 0.5.
    # Held out: a 0.8, a 0.3, b 0.45, b 0.2, a tie (0.99) and a split verdict (0.0), the last
    # two left out. ROC-AUC: of the 4 (a, b) pairs, a ranks above b in 3 (0.3 < 0.45) = 0.75.
    # Accuracy at 0.5: 0.8 -> a right, 0.3 -> b wrong, 0.45 -> b right, 0.2 -> b right = 0.75.
    # PR-AUC: by score, a (P 1, R 1/2), b, a (P 2/3, R 1), b: 1/2 * 1 + 1/2 * 2/3 = 5/6.
    experts = [[A, A], [A, A], [B, B], [B, B], [A, A], [A, A], [B, B], [B, B], [TIE, TIE], [A, B]]
    scores = [0.9, 0.6, 0.4, 0.1, 0.8, 0.3, 0.45, 0.2, 0.99, 0.0]
    data = pair_data(dev + held, np.array(experts), np.array(scores))

    rows = score_rows(criterion_report(data, RunConfig(n_boot=0, seed=seed)))

    assert {(r.group_a, r.group_b) for r in rows.values()} == {("expert", "pm")}
    assert rows["roc_auc"].estimate == pytest.approx(0.75)
    assert rows["threshold_accuracy"].estimate == pytest.approx(0.75)
    assert rows["pr_auc"].estimate == pytest.approx(5 / 6)
    assert rows["roc_auc"].n_items == 4  # the tie and the split verdict are left out
    method = rows["threshold_accuracy"].method
    assert "threshold 0.5 (max accuracy, 4 dev)" in method
    assert method.endswith("; positive: a, ties left out")


def loop_positive(row: np.ndarray) -> float:
    votes = Counter(float(v) for v in row if not np.isnan(v))
    if not votes:
        return NAN
    (top, count), *rest = votes.most_common()
    if rest and rest[0][1] == count:
        return NAN
    return {A: 1.0, B: 0.0}.get(top, NAN)


def loop_auc(s: list[float], y: list[float]) -> float:
    pos = [x for x, t in zip(s, y, strict=True) if t == 1]
    neg = [x for x, t in zip(s, y, strict=True) if t == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def loop_threshold(s: list[float], y: list[float]) -> float:
    levels = sorted(set(s))
    candidates = (
        [levels[0]]
        + [(lo + hi) / 2 for lo, hi in zip(levels, levels[1:], strict=False)]
        + [np.nextafter(levels[-1], np.inf)]
    )
    best, best_correct = None, -1
    for t in candidates:  # ties in accuracy go to the lowest candidate
        correct = sum((x >= t) == (label == 1) for x, label in zip(s, y, strict=True))
        if correct > best_correct:
            best, best_correct = t, correct
    return best


def loop_average_precision(s: list[float], y: list[float]) -> float:
    n_pos, total, seen_pos, seen = sum(y), 0.0, 0, 0
    for level in sorted(set(s), reverse=True):  # tied scores are one step
        at = [label for x, label in zip(s, y, strict=True) if x == level]
        seen += len(at)
        gained = sum(at)
        seen_pos += gained
        total += (gained / n_pos) * (seen_pos / seen)
    return total


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_calibration_matches_explicit_loops_on_random_pairs(seed):
    rng = np.random.default_rng(seed)
    n = 300
    experts = rng.choice([A, B, TIE, NAN], p=[0.4, 0.35, 0.15, 0.1], size=(n, 3))
    truth = np.array([loop_positive(row) for row in experts])
    # Scores on a coarse grid (ties between scores), informative but not perfect.
    scores = np.round(
        np.clip(0.5 + 0.25 * np.nan_to_num(truth - 0.5) + rng.normal(0, 0.25, n), 0, 1), 1
    )
    data = pair_data([f"q-{i}" for i in range(n)], experts, scores)

    rows = score_rows(criterion_report(data, RunConfig(n_boot=0, seed=seed)))

    held = held_out_targets(data, seed)
    dev_s = [
        float(x) for x, t, h in zip(scores, truth, held, strict=True) if not h and not np.isnan(t)
    ]
    dev_y = [t for t, h in zip(truth, held, strict=True) if not h and not np.isnan(t)]
    s = [float(x) for x, t, h in zip(scores, truth, held, strict=True) if h and not np.isnan(t)]
    y = [t for t, h in zip(truth, held, strict=True) if h and not np.isnan(t)]
    threshold = loop_threshold(dev_s, dev_y)
    accuracy = np.mean([(x >= threshold) == (label == 1) for x, label in zip(s, y, strict=True)])
    assert rows["roc_auc"].estimate == pytest.approx(loop_auc(s, y))
    assert rows["pr_auc"].estimate == pytest.approx(loop_average_precision(s, y))
    assert rows["threshold_accuracy"].estimate == pytest.approx(accuracy)
    assert rows["roc_auc"].n_items == len(y)
    assert f"threshold {threshold:.6g} (" in rows["threshold_accuracy"].method


def test_a_long_pair_method_still_fits_its_column():
    # The longest method text a pair row can have: a 10-digit seed, the most resamples, a
    # threshold (in 0..1) of six significant digits, a million development targets.
    seed, n_dev = 4_294_967_295, 10**6
    refs = refs_in(0, 2, seed) + refs_in(1, 2, seed)
    data = pair_data(refs, np.array([[A], [B], [A], [B]]), np.array([0.1111114, 0.1111110, 1, 0]))
    report = criterion_report(data, RunConfig(n_boot=20_000, seed=seed))

    rows = score_rows(report).values()
    assert {r.method.count("threshold 0.111111 (max accuracy, 2 dev)") for r in rows} == {1}
    longest = max(len(r.method.replace(", 2 dev)", f", {n_dev} dev)")) for r in rows)
    assert longest <= 200


@pytest.mark.django_db
def test_imported_pair_scores_reach_the_report(tmp_path, project):
    rng = np.random.default_rng(3)
    lines: list = [PREFERENCE]
    for i in range(120):
        verdict = str(rng.choice(["a", "b", "tie"], p=[0.45, 0.45, 0.1]))
        lines.append(pair(f"q-{i}"))
        for rater in ("expert_1", "expert_2"):
            lines.append(
                {"type": "judgement", "item": f"q-{i}", "criterion": "preference"}
                | {"rater": rater, "rater_group": "expert", "value": verdict}
            )
        p_a = {"a": rng.uniform(0.6, 1), "b": rng.uniform(0, 0.4), "tie": 0.5}[verdict]
        lines.append(
            {"type": "score", "item": f"q-{i}", "criterion": "preference", "rater": "pm"}
            | {"rater_group": "pref-model", "score": float(p_a)}
        )
    services.items_import(project=project, paths=[write_jsonl(tmp_path / "in.jsonl", lines)])

    index = project_index_load(project=project)
    data = criterion_data_load(criterion=Criterion.objects.get(project=project), index=index)
    rows = score_rows(criterion_report(data, RunConfig(n_boot=0)))

    assert {(r.group_a, r.group_b) for r in rows.values()} == {("expert", "pref-model")}
    assert rows["roc_auc"].estimate == 1.0
    assert rows["threshold_accuracy"].estimate == 1.0
