"""The streamed report against the in-process one on the demo's real data sets: every
streamed statistic of every slice has the same point estimate to the last bit, whatever the
chunks, and intervals that do not depend on how the items were cut."""

import io
from pathlib import Path

import numpy as np
import pytest

from analysis.config import RunConfig
from analysis.engine import CriterionData, Group, criterion_report
from analysis.engine.report import reference_group
from analysis.engine.streamed import (
    STREAMED_METRICS,
    ChunkSums,
    chunk_sums,
    criterion_chunk,
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


def _streamed(data, index, keys, ref, chunk: int) -> dict:
    total = ChunkSums()
    n = len(index.item_pk)
    for low in range(0, n, chunk):
        items = np.arange(low, min(n, low + chunk))
        part = criterion_chunk(data, items)
        total.add(chunk_sums(part, item_keys=index.item_pk[items], slice_keys=keys,
                             reference=ref, n_boot=N_BOOT, seed=7))  # fmt: skip
    rows = merged_rows(total, confidence=0.95, n_boot=N_BOOT)
    return {(r.slice, r.slice_value, r.group_a, r.group_b, r.metric): r for r in rows}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(SETS))
def test_it_matches_the_in_process_point_estimates_on_real_data(name):
    loaded, index, keys = _loaded(name)
    compared = 0
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
    assert compared > 20


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
