"""The streamed report against the in-process one on the demo's real data sets: every
streamed statistic of every slice has the same point estimate to the last bit, whatever the
chunks, and intervals that do not depend on how the items were cut."""

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from analysis.config import RunConfig
from analysis.engine import CriterionData, Group, criterion_report
from analysis.engine.report import reference_group
from analysis.engine.slice_stats import EARLIEST_ERROR_METRICS
from analysis.engine.streamed import (
    STREAMED_METRICS,
    ChunkSums,
    chunk_sums,
    criterion_chunk,
    merged_report,
    merged_rows,
)
from analysis.loading import criterion_data_load, project_index_load
from annotations import services as annotation_services

DATA = Path(__file__).resolve().parents[2] / "annotations" / "demo_data"
SETS = {
    "mtbench": (["mt_bench/mt_bench_human.csv", "mt_bench/mt_bench_gpt4_pair.csv",
                 "mt_bench/question.jsonl"], ("turn",)),
    "processbench": (["processbench/gsm8k.json", "processbench/math.json"], ("subset",)),
    "summeval": (["summeval/M8_outputs_annotations.jsonl",
                  "summeval/M9_outputs_annotations.jsonl"], ()),
}  # fmt: skip
N_BOOT = 100


def _loaded(name: str):
    files, keys = SETS[name]
    project = annotation_services.project_get_or_create(name=name)
    annotation_services.items_import(project=project, paths=[DATA / f for f in files], format=name)
    index = project_index_load(project=project)
    loaded = [criterion_data_load(criterion=c, index=index) for c in project.criteria.all()]
    return loaded, index, keys


def _merged(data, index, keys, ref, chunk: int) -> ChunkSums:
    total = ChunkSums()
    n = len(index.item_pk)
    for low in range(0, n, chunk):
        items = np.arange(low, min(n, low + chunk))
        part = criterion_chunk(data, items)
        total.add(chunk_sums(part, item_keys=index.item_pk[items], slice_keys=keys,
                             reference=ref, n_boot=N_BOOT, seed=7))  # fmt: skip
    return total


def _streamed(data, index, keys, ref, chunk: int) -> dict:
    rows = merged_rows(_merged(data, index, keys, ref, chunk), confidence=0.95, n_boot=N_BOOT)
    return {(r.slice, r.slice_value, r.group_a, r.group_b, r.metric): r for r in rows}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(SETS))
def test_it_matches_the_in_process_point_estimates_on_real_data(name):
    loaded, index, keys = _loaded(name)
    compared, metrics = 0, set()
    for data in loaded:
        ref = reference_group(data, None)
        config = RunConfig(slice_keys=keys, n_boot=N_BOOT, seed=7)
        rows = [r for r in criterion_report(data, config).rows if r.metric in STREAMED_METRICS]
        old = {(r.slice, r.slice_value, r.group_a, r.group_b, r.metric): r for r in rows}
        new = _streamed(data, index, keys, ref, chunk=37)
        assert set(new) == set(old), data.name
        for key, row in old.items():
            got = new[key]
            both_nan = np.isnan(got.estimate) and np.isnan(row.estimate)
            same = got.estimate == row.estimate or both_nan
            assert same, (data.name, key, row.estimate, got.estimate)
            assert (got.n_items, got.n_pairs) == (row.n_items, row.n_pairs), (data.name, key)
            compared += 1
            metrics.add(key[-1])
    assert compared > 20
    if name == "summeval":  # ordinal ratings: the correlations stream, from their tables
        assert metrics >= {"spearman", "kendall_tau", "pearson", "krippendorff_alpha"}


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["mtbench", "processbench"])  # SummEval has no model judges
def test_its_shortfall_rows_match_the_in_process_ones(name):
    """The gap to the human ceiling per judge and slice: the same agreements and gap to the
    last bit, the same counts and small-slice flags; the same rows in the same order (ranked
    by gap, p-values adjusted over each judge's slices as in the in-process report)."""
    loaded, index, keys = _loaded(name)
    compared = 0
    for data in loaded:
        ref = reference_group(data, None)
        config = RunConfig(slice_keys=keys, n_boot=N_BOOT, seed=7, min_slice_items=30)
        old = criterion_report(data, config).shortfall
        merged = _merged(data, index, keys, ref, chunk=37)
        new = merged_report(merged, confidence=0.95, n_boot=N_BOOT, min_slice_items=30).shortfall
        assert [_shortfall_key(r) for r in new] == [_shortfall_key(r) for r in old], data.name
        for got, row in zip(new, old, strict=True):
            for field in ("judge_agreement", "human_agreement", "gap"):
                a, b = getattr(got, field), getattr(row, field)
                assert a == b or (np.isnan(a) and np.isnan(b)), (data.name, field, a, b)
            assert (got.n_items, got.small_slice) == (row.n_items, row.small_slice)
            assert got.verdict.split(" ")[0] in {"above", "below", "within", "no", "insufficient"}
            compared += 1
    assert compared >= 2


def _shortfall_key(row) -> tuple:
    return (row.criterion, row.slice, row.slice_value, row.reference_group, row.judge_group)


@pytest.mark.django_db
def test_it_gives_the_same_intervals_whatever_the_chunks():
    loaded, index, keys = _loaded("processbench")
    data = loaded[0]
    ref = reference_group(data, None)
    one = _streamed(data, index, keys, ref, chunk=10**6)
    many = _streamed(data, index, keys, ref, chunk=13)
    assert one.keys() == many.keys()
    for key, row in one.items():
        other = many[key]
        expected = pytest.approx((other.ci_low, other.ci_high), abs=1e-12, nan_ok=True)
        assert (row.ci_low, row.ci_high) == expected, key


def _steps(n_items: int, seed: int) -> CriterionData:
    """Solutions of 5 steps judged by 3 experts (some steps left out) and 2 model judges: the
    demo's ProcessBench items have one expert and no step judge, so the earliest-error and
    gap-to-ceiling rows need data of this shape."""
    rng = np.random.default_rng(seed)
    n = n_items * 5
    truth = (rng.random(n) < 0.15).astype(float)

    def rater(flip: float, missing: float) -> np.ndarray:
        codes = np.where(rng.random(n) < flip, 1 - truth, truth)
        codes[rng.random(n) < missing] = np.nan
        return codes

    experts = np.stack([rater(0.08, 0.05) for _ in range(3)], axis=1)
    return CriterionData(
        name="validity", scale="nominal", labels=["correct", "incorrect"], n_categories=2,
        error_codes=[1], target_item=np.repeat(np.arange(n_items), 5),
        target_step=np.tile(np.arange(5), n_items),
        item_meta=[{"subset": f"s{i % 3}"} for i in range(n_items)],
        item_ref=[str(i) for i in range(n_items)], item_n_steps=np.full(n_items, 5),
        groups={"expert": Group("expert", "human", experts),
                "judge_a": Group("judge_a", "model", rater(0.2, 0.0)[:, None]),
                "judge_b": Group("judge_b", "model", rater(0.3, 0.1)[:, None])},
    )  # fmt: skip


def test_its_step_statistics_match_the_in_process_ones():
    """Earliest-error accuracies, missed errors, kappas and the gap to the ceiling of three
    experts and two step judges, cut into chunks of 23 solutions: the same point estimates to
    the last bit and the same shortfall ranking."""
    data = _steps(400, seed=11)
    config = RunConfig(slice_keys=("subset",), n_boot=N_BOOT, seed=7, min_slice_items=150)
    in_process = criterion_report(data, config)
    old = {_key(r): r for r in in_process.rows if r.metric in STREAMED_METRICS}
    merged = _chunked(data, size=23, key_offset=1000)
    streamed = merged_report(merged, confidence=0.95, n_boot=N_BOOT, min_slice_items=150)
    new = {_key(r): r for r in streamed.rows}

    assert new.keys() == old.keys()
    assert {k[-1] for k in new} >= {*EARLIEST_ERROR_METRICS, "gap", "missed_error_rate"}
    for key, row in old.items():
        assert (new[key].estimate, new[key].n_items, new[key].n_pairs) == (
            row.estimate, row.n_items, row.n_pairs), key  # fmt: skip
    assert [_shortfall_key(r) for r in streamed.shortfall] == [
        _shortfall_key(r) for r in in_process.shortfall
    ]
    for got, row in zip(streamed.shortfall, in_process.shortfall, strict=True):
        assert (got.gap, got.n_items, got.small_slice) == (row.gap, row.n_items, row.small_slice)
        assert got.ci_low < got.gap < got.ci_high
        assert abs(got.ci_high - got.ci_low - (row.ci_high - row.ci_low)) < 0.5 * (
            row.ci_high - row.ci_low
        )  # the two bootstraps' widths agree within Monte Carlo error at B=100


@pytest.mark.parametrize("experts", [1, 2, 3])
def test_it_counts_only_the_raters_who_judged_as_the_in_process_report_does(experts):
    """A chunk's matrices hold a column for every rater of the project in a group, also one
    who never judged this criterion; the in-process report has only those who did. Rules
    that count raters (a ceiling needs two reference raters, the alt-test three, soft labels
    two) must decide on those who judged: with 1, 2 and 3 experts who did, and an idle one."""
    data = _steps(300, seed=experts)
    expert = data.groups["expert"]
    data = replace(
        data, groups=data.groups | {"expert": replace(expert, codes=expert.codes[:, :experts])}
    )
    idle = np.full((expert.codes.shape[0], 1), np.nan)  # the project's expert who never judged
    wider = np.hstack([data.groups["expert"].codes, idle])
    chunked = replace(data, groups=data.groups | {"expert": replace(expert, codes=wider)})
    config = RunConfig(slice_keys=("subset",), n_boot=N_BOOT, seed=7, min_slice_items=150)
    in_process = criterion_report(data, config)
    merged = _chunked(chunked, size=41, key_offset=7)
    streamed = merged_report(merged, confidence=0.95, n_boot=N_BOOT, min_slice_items=150)

    old = {_key(r): r for r in in_process.rows if r.metric in STREAMED_METRICS}
    new = {_key(r): r for r in streamed.rows}
    assert new.keys() == old.keys()
    assert ("all", "all", "expert", "judge_a", "gap") in new if experts >= 2 else True
    for key, row in old.items():
        assert (new[key].estimate, new[key].n_items) == (row.estimate, row.n_items), key
    assert [
        (r.judge_group, r.gap, r.verdict.split(" ")[0] == "no") for r in streamed.shortfall
    ] == [(r.judge_group, r.gap, r.verdict.split(" ")[0] == "no") for r in in_process.shortfall]


def _chunked(data, *, size: int, key_offset: int) -> ChunkSums:
    """The sums of in-memory `data` cut into chunks of `size` items, sliced by subset, against
    the expert group; item keys are the indices plus `key_offset`."""
    merged, n = ChunkSums(), len(data.item_ref)
    for low in range(0, n, size):
        items = np.arange(low, min(n, low + size))
        merged.add(chunk_sums(criterion_chunk(data, items), item_keys=items + key_offset,
                              slice_keys=("subset",), reference="expert", n_boot=N_BOOT,
                              seed=7))  # fmt: skip
    return merged


def _key(row) -> tuple:
    return (row.slice, row.slice_value, row.group_a, row.group_b, row.metric)


def _small_sums() -> ChunkSums:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 2, (60, 3)).astype(float)
    data = CriterionData(
        name="validity", scale="nominal", labels=["ok", "bad"], n_categories=2, error_codes=[1],
        target_item=np.repeat(np.arange(20), 3), target_step=np.tile(np.arange(3), 20),
        item_meta=[{}] * 20, item_ref=[str(i) for i in range(20)], item_n_steps=np.full(20, 3),
        groups={"expert": Group("expert", "human", codes),
                "judge": Group("judge", "model", codes[:, :1])},
    )  # fmt: skip
    return chunk_sums(data, item_keys=np.arange(20) + 100, slice_keys=(), reference="expert",
                      n_boot=50, seed=3)  # fmt: skip


def test_it_stores_chunk_sums_as_arrays_and_reads_them_back():
    sums = _small_sums()
    back = ChunkSums.from_bytes(sums.to_bytes())
    assert back.records.keys() == sums.records.keys() and back.n_items == 20
    rows = merged_rows(sums, confidence=0.95, n_boot=50)
    assert merged_rows(back, confidence=0.95, n_boot=50) == rows
    assert {r.metric for r in rows} >= {"fleiss_kappa", "krippendorff_alpha", "cohen_kappa"}


def test_it_refuses_chunk_sums_that_name_a_function_outside_the_statistics():
    blob = _small_sums().to_bytes()
    with np.load(io.BytesIO(blob)) as arrays:
        contents = {name: arrays[name] for name in arrays.files}
    forged = str(contents["header"]).replace('"analysis.stats.', '"os.')
    out = io.BytesIO()
    np.savez(out, **(contents | {"header": np.array(forged)}))
    with pytest.raises(ValueError, match="outside analysis.stats"):
        ChunkSums.from_bytes(out.getvalue())
