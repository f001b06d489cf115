"""Benchmark the agreement report: ~1,000,000 step judgements -> the full report with
1,000-resample intervals, on PostgreSQL (or SQLite), against a bare-numpy floor.

Run by hand from the repository root (not a test):

    python benchmarks/report_bench.py                   # PostgreSQL on 127.0.0.1, 1M judgements
    python benchmarks/report_bench.py --backend sqlite --solutions 4000

Streamed runs on real Celery workers (Redis broker) over one database that keeps a project
per size (imported once):

    python benchmarks/report_bench.py --db wt_report13 --keep-db --solutions 42000 \
        --workers 1 --chunk-items 10000 --broker redis://127.0.0.1:6379/6

The data: solutions of 5 steps in 10 subsets; 3 human experts judge each step with
probability 0.95, 2 model judges judge every step (42,000 solutions -> ~1.02M judgements).
The script imports it once (native JSONL through the normal importer), then times a report
run in a fresh subprocess (peak RSS is that process's own) and the numpy floor: the same
pair-agreement and kappa statistics computed straight from count matrices with one shared
bootstrap matrix per slice, with no loading, no per-metric validation and no storing.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results-report.md"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "judgeapp_report_bench"
PROJECT = "report benchmark"
SUBSETS = [f"subset-{i}" for i in range(10)]
EXPERTS = ["expert_1", "expert_2", "expert_3"]
MODELS = ["judge_a", "judge_b"]


def generate(path: Path, n_solutions: int, seed: int = 0) -> int:
    rnd = random.Random(seed)
    n = 0
    with open(path, "w") as out:
        crit = {"type": "criterion", "name": "validity", "target": "step", "scale": "nominal",
                "labels": ["correct", "incorrect"], "error_labels": ["incorrect"]}  # fmt: skip
        out.write(json.dumps(crit) + "\n")
        for s in range(n_solutions):
            steps = [
                f"Step {k}: since $x_{k} = {rnd.randint(1, 99)}$, \\(y = 2x\\)." for k in range(5)
            ]
            item = {"type": "item", "id": f"sol-{s}", "kind": "solution", "prompt": "Solve.",
                    "steps": steps, "meta": {"subset": SUBSETS[s % 10]}}  # fmt: skip
            out.write(json.dumps(item) + "\n")
        for s in range(n_solutions):
            error_at = rnd.choice([-1, -1, 1, 2, 3, 4])
            for k in range(5):
                truth = "incorrect" if k == error_at else "correct"
                for rater in EXPERTS + MODELS:
                    is_model = rater in MODELS
                    if not is_model and rnd.random() > 0.95:
                        continue
                    flip = rnd.random() < (0.2 if is_model else 0.08)
                    value = ("correct" if truth == "incorrect" else "incorrect") if flip else truth
                    line = {"type": "judgement", "item": f"sol-{s}", "step": k,
                            "criterion": "validity", "rater": rater,
                            "rater_kind": "model" if is_model else "human",
                            "rater_group": rater if is_model else "expert",
                            "value": value}  # fmt: skip
                    out.write(json.dumps(line) + "\n")
                    n += 1
    return n


def django_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CELERY_BROKER_URL", None)  # eager: time the computation, not the queue
    env |= {"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "judgeapp.settings"}
    # As deployed: with DEBUG on, Django keeps every query's SQL, chunk sums included, and a
    # worker's memory grows with each chunk it stores.
    env |= {"DEBUG": "0", "SECRET_KEY": "report-benchmark-only", "ALLOWED_HOSTS": "localhost"}
    return env


def prepare(
    database_url: str, backend: str, n_solutions: int, workdir: Path, db: str, keep: bool
) -> int | None:
    if backend == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone()
            if exists and not keep:
                conn.execute(f"DROP DATABASE {db}")
            if not exists or not keep:
                conn.execute(f"CREATE DATABASE {db}")
    elif not keep:
        Path(database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    env = django_env(database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    if keep and _project_exists(env, n_solutions):
        return None
    path = workdir / f"report-bench-{n_solutions}.jsonl"
    n = generate(path, n_solutions)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "import_data", "--project", project_name(n_solutions),
         str(path)],
        cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    path.unlink()
    print(f"imported {n:,} judgements in {time.perf_counter() - t0:.1f} s", flush=True)
    return n


def project_name(n_solutions: int) -> str:
    return PROJECT if n_solutions == 42_000 else f"{PROJECT} {n_solutions}"


def _project_exists(env: dict, n_solutions: int) -> bool:
    code = (
        "import django; django.setup(); from annotations.models import Project; "
        f"print(Project.objects.filter(name={project_name(n_solutions)!r}).exists())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True,
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip().endswith("True")


RUN_SNIPPET = """
import json, resource, time, django
django.setup()
from analysis import services
from analysis.config import RunConfig
from analysis.models import AgreementRun, AgreementResult, Disagreement
from annotations.models import Project
p = Project.objects.get(name=%(project)r)
t0 = time.perf_counter()
run = services.agreement_run_start(project=p, user=None, config=RunConfig.from_input(%(config)r))
run.refresh_from_db()
wall = time.perf_counter() - t0
print(json.dumps({"status": run.status, "error": run.error, "timings": run.timings,
                  "wall_s": wall, "rows": AgreementResult.objects.filter(run=run).count(),
                  "disagreements": Disagreement.objects.filter(run=run).count(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def time_report(database_url: str, n_boot: int, n_solutions: int) -> dict:
    config = {"slice_keys": ["subset"], "n_boot": n_boot, "seed": 1}
    code = RUN_SNIPPET % {"project": project_name(n_solutions), "config": config}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=django_env(database_url),
                         check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


STREAMED_SNIPPET = """
import json, time, django
django.setup()
from analysis import services
from analysis.config import RunConfig
from analysis.models import AgreementRun, AgreementResult, ReportChunk
from annotations.models import Project
p = Project.objects.get(name=%(project)r)
t0 = time.perf_counter()
run = services.agreement_run_start(project=p, user=None, config=RunConfig.from_input(%(config)r))
while AgreementRun.objects.get(pk=run.pk).status in ("pending", "running"):
    time.sleep(0.2)
wall = time.perf_counter() - t0
run.refresh_from_db()
chunks = list(ReportChunk.objects.filter(run=run).values_list("seconds", "peak_rss_mb"))
print(json.dumps({"status": run.status, "error": run.error, "timings": run.timings,
                  "wall_s": wall, "rows": AgreementResult.objects.filter(run=run).count(),
                  "chunks": len(chunks), "chunk_s_max": max(c[0] for c in chunks),
                  "chunk_peak_rss_mb": max(c[1] for c in chunks)}))
"""


def time_streamed(
    database_url: str, n_boot: int, n_solutions: int, workers: int, chunk_items: int, broker: str
) -> dict:
    """A streamed run on `workers` Celery worker processes (one task at a time each), timed
    from the request to the run's last row; the workers are started (and warmed) first."""
    env = django_env(database_url) | {"CELERY_BROKER_URL": broker}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "judgeapp",
                "worker",
                "--concurrency=1",
                "--pool=prefork",
                "-n",
                f"bench{i}@%h",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                "celery",
            ],
            cwd=REPO,
            env=env,
        )  # fmt: skip
        for i in range(workers)
    ]
    try:
        time.sleep(8)  # the workers import numpy, scipy, Django
        config = {"slice_keys": ["subset"], "n_boot": n_boot, "seed": 1, "chunk_items": chunk_items}
        code = STREAMED_SNIPPET % {"project": project_name(n_solutions), "config": config}
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True,
                             capture_output=True, text=True)  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def numpy_floor(n_solutions: int, n_boot: int) -> float:
    """Percent agreement (within experts, expert-vs-judge) and Cohen's kappa per slice with a
    shared multinomial bootstrap: the arithmetic the report cannot avoid."""
    import numpy as np

    rng = np.random.default_rng(0)
    n_targets = n_solutions * 5
    cluster = np.repeat(np.arange(n_solutions), 5)
    truth = rng.integers(0, 2, n_targets)
    experts = np.where(rng.random((n_targets, 3)) < 0.92, truth[:, None], 1 - truth[:, None])
    judges = np.where(rng.random((n_targets, 2)) < 0.8, truth[:, None], 1 - truth[:, None])
    started = time.perf_counter()
    slices = [np.ones(n_solutions, bool)] + [np.arange(n_solutions) % 10 == i for i in range(10)]
    slices += [np.ones(n_solutions, bool)] * 9  # step-position and length bins: same sizes
    for keep in slices:
        ids = np.flatnonzero(keep)
        tmask = np.isin(cluster, ids)
        e, j, c = experts[tmask], judges[tmask], np.searchsorted(ids, cluster[tmask])
        ce = np.stack([(e == k).sum(1) for k in (0, 1)], 1)
        cj = np.stack([(j == k).sum(1) for k in (0, 1)], 1)
        stats = np.column_stack([
            (ce * (ce - 1) / 2).sum(1), np.full(len(e), 3.0),  # within experts
            (ce * cj).sum(1), np.full(len(e), 6.0),  # experts x judges
            *np.eye(4)[2 * (ce[:, 1] > 1) + (cj[:, 1] > 0)].T,  # consensus contingency cells
        ])  # fmt: skip
        per_cluster = np.zeros((len(ids), stats.shape[1]))
        np.add.at(per_cluster, c, stats)
        m = len(ids)
        draws = rng.integers(0, m, size=(n_boot, m), dtype=np.int32)
        draws += (np.arange(n_boot, dtype=np.int32) * m)[:, None]
        counts = np.bincount(draws.ravel(), minlength=n_boot * m).reshape(n_boot, m)
        sums = counts.astype(np.float32) @ per_cluster.astype(np.float32)
        _ = sums[:, 0] / sums[:, 1], sums[:, 2] / sums[:, 3]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--solutions", type=int, default=42_000)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--skip-import", action="store_true", help="reuse the loaded database")
    parser.add_argument("--db", default=PG_DB, help="PostgreSQL database name")
    parser.add_argument("--keep-db", action="store_true", help="add a project per size")
    parser.add_argument("--workers", type=int, default=0, help="0: in-process (eager) run")
    parser.add_argument("--chunk-items", type=int, default=10_000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--no-floor", action="store_true")
    args = parser.parse_args()
    workdir = Path(os.environ.get("BENCH_DIR", "/tmp"))  # noqa: S108 - a scratch folder
    if args.backend == "postgres":
        url = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    else:
        url = f"sqlite:///{workdir / 'report-bench.sqlite3'}"
    n = None
    if not args.skip_import:
        n = prepare(url, args.backend, args.solutions, workdir, args.db, args.keep_db)
    if args.workers:
        result = time_streamed(url, args.bootstrap, args.solutions, args.workers,
                               args.chunk_items, args.broker)  # fmt: skip
    else:
        result = time_report(url, args.bootstrap, args.solutions)
    floor = float("nan") if args.no_floor else numpy_floor(args.solutions, args.bootstrap)
    print(json.dumps({"solutions": args.solutions, "workers": args.workers, "floor_s": floor,
                      "load": os.getloadavg(), **result}))  # fmt: skip
    if args.workers:
        return
    t = result["timings"]
    lines = [
        f"## Report benchmark ({args.backend}, {args.solutions:,} solutions x 5 steps, "
        f"{n or 'existing'} judgements, {args.bootstrap} resamples, 21 slices)",
        "",
        "| phase | seconds |",
        "|---|---:|",
        f"| load judgements into arrays | {t['load_s']:.2f} |",
        f"| statistics + bootstrap | {t['compute_s']:.2f} |",
        f"| store result rows | {t['store_s']:.2f} |",
        f"| **run total** | **{t['total_s']:.2f}** |",
        f"| start to finish (create, run eagerly, read back) | {result['wall_s']:.2f} |",
        f"| bare-numpy floor (same slices, agreement + kappa, shared bootstrap) | {floor:.2f} |",
        "",
        f"Result rows: {result['rows']:,} agreement, {result['disagreements']:,} disagreement; "
        f"peak RSS of the run process: "
        f"{result['peak_rss_mb']:.0f} MB; ratio to the floor: {t['total_s'] / floor:.1f}x.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if result["status"] != "done":
        sys.exit(f"run failed: {result['error']}")


if __name__ == "__main__":
    main()
