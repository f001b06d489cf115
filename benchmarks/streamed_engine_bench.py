"""The streamed report's computation alone, at 1M, 3M and 10M judgements, on 1 or 2 processes.

Run by hand from the repository root (not a test):

    python benchmarks/streamed_engine_bench.py --solutions 42000 126000 420000 --workers 1 2

The same data shape as `report_bench.py` (solutions of 5 steps in 10 subsets, 3 experts at
95%, 2 model judges; ~24.3 judgements per solution), generated chunk by chunk inside the worker
processes (so no process ever holds more than a chunk), each chunk through
`engine.streamed.chunk_sums` with 1,000 Poisson resamples, then one merge. No database: this
is the floor under a streamed run's time (loading is measured by `report_bench.py`). Prints,
per size and number of processes: wall time, the slowest chunk, the peak RSS of any process,
and the bare-numpy floor of `report_bench.py`.
"""

import argparse
import json
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.engine.data import CriterionData, Group  # noqa: E402
from analysis.engine.streamed import ChunkSums, chunk_sums, merged_rows  # noqa: E402

STEPS = 5


def chunk_data(first: int, n: int) -> tuple[CriterionData, np.ndarray]:
    """Solutions first..first+n-1, drawn from a generator seeded by the chunk's first item."""
    rng = np.random.default_rng(first)
    n_targets = n * STEPS
    error_at = rng.choice([-1, -1, 1, 2, 3, 4], n)
    truth = (np.tile(np.arange(STEPS), n) == np.repeat(error_at, STEPS)).astype(float)
    experts = np.where(rng.random((n_targets, 3)) < 0.08, 1 - truth[:, None], truth[:, None])
    experts[rng.random((n_targets, 3)) > 0.95] = np.nan
    judges = np.where(rng.random((n_targets, 2)) < 0.2, 1 - truth[:, None], truth[:, None])
    keys = np.arange(first, first + n)
    data = CriterionData(
        name="validity", scale="nominal", labels=["correct", "incorrect"], n_categories=2,
        error_codes=[1], target_item=np.repeat(np.arange(n), STEPS),
        target_step=np.tile(np.arange(STEPS), n),
        item_meta=[{"subset": f"subset-{k % 10}"} for k in keys],
        item_ref=[f"sol-{k}" for k in keys], item_n_steps=np.full(n, STEPS),
        groups={"expert": Group("expert", "human", experts),
                "judge_a": Group("judge_a", "model", judges[:, :1]),
                "judge_b": Group("judge_b", "model", judges[:, 1:])},
    )  # fmt: skip
    return data, keys


def run_chunk(args: tuple[int, int, int]) -> tuple[bytes, float, float]:
    first, n, n_boot = args
    started = time.perf_counter()
    data, keys = chunk_data(first, n)
    sums = chunk_sums(data, item_keys=keys, slice_keys=("subset",), reference="expert",
                      n_boot=n_boot, seed=1)  # fmt: skip
    blob = sums.to_bytes()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return blob, time.perf_counter() - started, peak


def measure(n_solutions: int, workers: int, chunk: int, n_boot: int) -> dict:
    tasks = [(f, min(chunk, n_solutions - f), n_boot) for f in range(0, n_solutions, chunk)]
    started = time.perf_counter()
    merged, slowest, peak = ChunkSums(), 0.0, 0.0
    with ProcessPoolExecutor(max_workers=workers, max_tasks_per_child=None) as pool:
        for blob, seconds, chunk_peak in pool.map(run_chunk, tasks):
            merged.add(ChunkSums.from_bytes(blob))
            slowest, peak = max(slowest, seconds), max(peak, chunk_peak)
    rows = merged_rows(merged, confidence=0.95, n_boot=n_boot)
    wall = time.perf_counter() - started
    return {
        "solutions": n_solutions, "judgements_approx": int(n_solutions * 24.25),
        "workers": workers, "chunks": len(tasks), "rows": len(rows), "wall_s": round(wall, 2),
        "slowest_chunk_s": round(slowest, 2), "peak_rss_worker_mb": round(peak),
        "peak_rss_merge_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load": [round(x, 1) for x in os.getloadavg()],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solutions", type=int, nargs="+", default=[42_000, 126_000, 420_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--floor", action="store_true", help="also time report_bench's floor")
    args = parser.parse_args()
    for n in args.solutions:
        for w in args.workers:
            print(json.dumps(measure(n, w, args.chunk, args.bootstrap)), flush=True)
        if args.floor:
            from benchmarks.report_bench import numpy_floor  # noqa: PLC0415

            print(json.dumps({"solutions": n, "floor_s": round(numpy_floor(n, args.bootstrap), 2),
                              "load": os.getloadavg()}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
