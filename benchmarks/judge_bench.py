"""Benchmark of model judge runs: 10,000 items judged against a fake OpenAI server that
answers every request after a fixed latency.

Run by hand from the repository root (not a test):

    python benchmarks/judge_bench.py                                  # defaults below
    python benchmarks/judge_bench.py --template mtbench-pair --items 5000
    python benchmarks/judge_bench.py --concurrency 32 --repeat 1 --profile

It creates a fresh PostgreSQL database (dropped and created again on every run), migrates it
and imports, through the normal importer, either `response` items with an ordinal 1-10
criterion judged by the `rubric` template (one request per item) or `pair` items judged by
`mtbench-pair` (both orders: two requests per item).

The fake is tests/annotations/judges/fakes.py's `fake_server("openai")`, run in a separate
process so that the CPU of the judge process (this one) is measured alone; it answers every
request after `--latency` seconds with a verdict that parses ("Rating: [[7]]" or "[[A]]") and
usage tokens. A fresh fake serves each run and counts the requests it received.

Each run creates a new judge version (a different `seed` parameter: a new ask key, so an
empty answer cache) with the given concurrency and starts it with
`annotations.judges.services.judge_run_start` under eager Celery, the embedded default: the
chunks of 100 items run one after the other in this process, each through
`annotations.judges.execute.judge_chunk_run`, as the Celery task would call it. Measured per
run: wall time, requests, requests/s against the ideal concurrency / latency and against the
ceiling the chunks allow (a chunk of R requests waits for its slowest one, so it takes at
least ceil(R / concurrency) latencies), the CPU of this process (`time.process_time()`,
every thread), of the PostgreSQL backends serving the benchmark database (from /proc, as
annotate_load.py does) and of the fake server, per request; p50 and p95 of the answers'
stored `latency_ms` (the whole SDK call as the judge saw it). After the last run the same
judge version runs again: every answer is cached, so it must send no request.

`--profile` samples this process with py-spy (`pip install py-spy`) during the first run
and appends where the judge process spends its CPU (inclusive share of the samples of the
functions that matter). The machine is shared: `--repeat` (default 2) runs every figure
twice; CPU per request is the robust figure, wall times move with the neighbours' load.
An untimed warm-up (one chunk, a judge version of its own) comes first: the first run of a
process imports the tasks and both SDKs.
Results go to benchmarks/results-judge.md.
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from math import ceil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results-judge.md"
PG_MAINTENANCE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "judgeapp_judge_bench"
PG_BENCH_URL = f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
TEMPLATES = {
    # template -> (criterion, item kind, requests per item, the fake's verdict)
    "rubric": ("quality", "response", 1, "The answer is accurate and clear.\n\nRating: [[7]]"),
    "mtbench-pair": ("preference", "pair", 2, "Assistant A is more helpful. [[A]]"),
}
TOKENS_IN, TOKENS_OUT = 600, 60

SERVER = """
import sys
from tests.annotations.judges.fakes import FakeReply, fake_server

latency, text, tokens_in, tokens_out = float(sys.argv[1]), sys.argv[2], *map(int, sys.argv[3:5])
reply = FakeReply(text=text, delay_s=latency, tokens_in=tokens_in, tokens_out=tokens_out)
with fake_server("openai") as server:
    server.use(lambda body, call_index: reply)
    print(server.base_url, flush=True)
    for _ in sys.stdin:  # a line asks for the number of requests received so far
        print(len(server.requests), flush=True)
"""


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=PG_BENCH_URL,
        DJANGO_SETTINGS_MODULE="judgeapp.settings",
        DEBUG="0",  # DEBUG on would keep every query in memory
        SECRET_KEY="judge-bench-only",  # noqa: S106 - a throwaway local database
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    env.pop("CELERY_BROKER_URL", None)  # eager: the chunks run in this process
    return env


def fresh_database() -> None:
    import psycopg

    with psycopg.connect(PG_MAINTENANCE_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")


def write_items(path: Path, template: str, n_items: int) -> None:
    criterion, kind, _, _ = TEMPLATES[template]
    answer = " ".join(f"Sentence {k} of an answer that explains its reasoning." for k in range(20))
    with open(path, "w") as out:
        scale = (
            {"scale": "pairwise"}
            if kind == "pair"
            else {"scale": "ordinal", "labels": [*range(1, 11)]}
        )
        out.write(
            json.dumps({"type": "criterion", "name": criterion, "target": "item", **scale}) + "\n"
        )
        for i in range(n_items):
            item = {"type": "item", "id": f"{kind}-{i}", "kind": kind,
                    "prompt": f"Question {i}: explain why the sky is blue, in {i % 7 + 2} lines.",
                    "meta": {"turn": 1, "category": f"category-{i % 8}"}}  # fmt: skip
            if kind == "pair":
                item |= {"response_a": f"A{i}. {answer}", "response_b": f"B{i}. {answer}"}
            else:
                item["response"] = f"{i}. {answer}"
            out.write(json.dumps(item) + "\n")


class FakeProcess:
    """The fake OpenAI server in its own process; `requests()` asks it how many it got."""

    def __init__(self, latency: float, text: str) -> None:
        args = [str(latency), text, str(TOKENS_IN), str(TOKENS_OUT)]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, *args],
            cwd=REPO,
            env=bench_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            raise SystemExit("the fake server did not start")

    def requests(self) -> int:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_seconds() -> float:
    """CPU of the PostgreSQL backends connected to the benchmark database (this process's
    connection; the pool's threads only wait on HTTP)."""
    import psycopg

    with psycopg.connect(PG_MAINTENANCE_URL, autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [PG_BENCH_DB]
        ).fetchall()
    return sum(_cpu_seconds(pid) for (pid,) in pids)


def _machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass
class Result:
    concurrency: int
    repetition: int
    requests: int  # received by the fake server
    asked: int  # the chunks' counts
    judged: int
    wall_s: float
    judge_cpu_s: float
    postgres_cpu_s: float
    server_cpu_s: float
    machine_busy: float  # share of all CPUs busy during the run
    p50_ms: float
    p95_ms: float
    status: str


def setup_django() -> None:
    os.environ.update(bench_env())
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def import_items(template: str, n_items: int):
    from annotations.models import Project
    from annotations.services import items_import

    project = Project.objects.create(name="judge bench", slug="judge-bench")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.jsonl"
        write_items(path, template, n_items)
        t0 = time.perf_counter()
        items_import(project=project, paths=[path])
    print(f"imported {n_items} {TEMPLATES[template][1]} items in {time.perf_counter() - t0:.1f} s")
    return project


def judge_config(project, template: str, base_url: str, concurrency: int, seed: int):
    from annotations.judges.services import JudgeSpec, judge_config_create

    spec = JudgeSpec(
        name=f"bench-{seed}",
        provider="openai",
        model="fake-model",
        template=template,
        group="bench-judge",
        base_url=base_url,
        parameters={"temperature": 0, "seed": seed},  # a new seed: a new version, no cache
        concurrency=concurrency,
    )
    return judge_config_create(project=project, spec=spec, user=None)


def judge_run(config, criterion_name: str):
    """Start a run (eager Celery: it returns after its last chunk) and return it, refreshed."""
    from annotations.judges.services import Selection, judge_run_start
    from annotations.models import Criterion

    criterion = Criterion.objects.get(project=config.project, name=criterion_name)
    run = judge_run_start(
        config=config,
        criterion=criterion,
        selection=Selection(),
        user=None,
        api_key_env="JUDGE_BENCH_KEY",
    )
    run.refresh_from_db()
    return run


def measured_run(project, args, concurrency: int, repetition: int, seed: int, fake: FakeProcess):
    from annotations.judges.models import JudgeAnswer

    criterion, *_ = TEMPLATES[args.template]
    config = judge_config(project, args.template, fake.base_url, concurrency, seed)
    pg0, busy0, server0 = _postgres_cpu_seconds(), _machine_busy_seconds(), fake.cpu_seconds()
    cpu0, t0 = time.process_time(), time.perf_counter()
    run = judge_run(config, criterion)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    busy = _machine_busy_seconds() - busy0
    postgres = _postgres_cpu_seconds() - pg0
    server = fake.cpu_seconds() - server0
    latencies = list(JudgeAnswer.objects.filter(run=run).values_list("latency_ms", flat=True))
    chunk_counts = [c.counts for c in run.chunks.all()]
    return config, Result(
        concurrency=concurrency,
        repetition=repetition,
        requests=fake.requests(),
        asked=sum(c.get("asked", 0) for c in chunk_counts),
        judged=sum(c.get("judged", 0) for c in chunk_counts),
        wall_s=wall,
        judge_cpu_s=cpu,
        postgres_cpu_s=postgres,
        server_cpu_s=server,
        machine_busy=busy / wall / (os.cpu_count() or 1),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        status=run.status,
    )


def warm_up(project, args) -> None:
    """One chunk judged by a version of its own, untimed: the first run of a process imports
    the tasks, both SDKs and Django's checks (about 10 s of CPU here), which no later run pays."""
    from annotations.judges.services import Selection, judge_run_start
    from annotations.models import Criterion

    criterion, _, _, verdict = TEMPLATES[args.template]
    fake = FakeProcess(args.latency, verdict)
    try:
        config = judge_config(project, args.template, fake.base_url, max(args.concurrency), 0)
        judge_run_start(
            config=config,
            criterion=Criterion.objects.get(project=project, name=criterion),
            selection=Selection(limit=100),
            user=None,
            api_key_env="JUDGE_BENCH_KEY",
        )
    finally:
        fake.stop()


def chunk_ceiling(per_chunk: int, concurrency: int, latency: float) -> float:
    """Requests/s when every chunk waits for its slowest request: ceil(R / c) latencies."""
    return per_chunk / (ceil(per_chunk / concurrency) * latency)


class Profiler:
    """py-spy sampling this process (every thread, idle ones left out) into collapsed stacks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        command = ["py-spy", "record", "--pid", str(os.getpid()), "--format", "raw",
                   "--threads", "--rate", "200", "--nonblocking", "-o", str(path)]  # fmt: skip
        spy = Path(sys.executable).parent / "py-spy"
        if spy.exists():
            command[0] = str(spy)
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # attached

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)


# Where the judge process spends its time: the share of the samples whose stack holds each of
# these frames, in this order (an entry's alternatives are added up).
PROFILE_FRAMES: dict[str, list[tuple[str, ...]]] = {
    "main thread (renders, stores, checks, judges)": [("): MainThread",)],
    "pool threads (the SDK calls)": [("): ThreadPoolExecutor",)],
    "render the prompts (templates.render)": [("render (annotations/judges/templates.py",)],
    "  of which compiling the template (from_string)": [
        ("render (annotations/judges/templates.py", "from_string (jinja2/environment.py")
    ],
    "store an answer (_store: INSERT ... ON CONFLICT)": [
        ("_store (annotations/judges/execute.py",)
    ],
    "judgements of a chunk (_judge)": [("_judge (annotations/judges/execute.py",)],
    "cancel / cost-cap checks (_still_running)": [
        ("_still_running (annotations/judges/execute.py",)
    ],
    "chunk setup and end (_claim, _work, _finish)": [
        ("_claim (annotations/judges/execute.py",),
        ("_work (annotations/judges/execute.py",),
        ("_finish (annotations/judges/execute.py",),
    ],
    "thread pool: submit and wait": [
        ("MainThread", "submit (concurrent/futures/thread.py"),
        ("MainThread", "wait (concurrent/futures/_base.py"),
    ],
    "SDK call (OpenAIChat.complete)": [("complete (annotations/judges/providers.py",)],
}


def _holds(stack: str, needles: tuple[str, ...]) -> bool:
    at = 0
    for needle in needles:
        at = stack.find(needle, at)
        if at < 0:
            return False
    return True


def profile_summary(path: Path) -> list[str]:
    samples: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        for label, alternatives in PROFILE_FRAMES.items():
            if any(_holds(stack, needles) for needles in alternatives):
                samples[label] += n
    lines = [
        f"py-spy, {total} samples of the judge process's threads at 200 Hz, idle ones left out"
        " (py-spy counts a thread waiting in C, e.g. on PostgreSQL's reply, as running):",
        "",
        "| where | share of samples |",
        "|---|---:|",
    ]
    lines += [f"| {label} | {samples[label] / max(total, 1):.1%} |" for label in PROFILE_FRAMES]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--template", choices=sorted(TEMPLATES), default="rubric")
    parser.add_argument("--latency", type=float, default=0.2, help="the fake's seconds per reply")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--repeat", type=int, default=2, help="runs per concurrency")
    parser.add_argument("--profile", action="store_true", help="py-spy during the first run")
    parser.add_argument(
        "--chunk-items",
        type=int,
        default=0,
        help="an experiment: a fixed number of items per chunk instead of services.chunk_items",
    )
    parser.add_argument("--note", default="", help="a line for the results (e.g. the code)")
    args = parser.parse_args()
    _, _, per_item, verdict = TEMPLATES[args.template]

    print(f"fresh database {PG_BENCH_DB} ...", flush=True)
    fresh_database()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=bench_env(), check=True
    )
    setup_django()
    from annotations.judges import services

    if args.chunk_items:
        services.CHUNK_ITEMS = args.chunk_items
    chunk_items = services.chunk_items
    project = import_items(args.template, args.items)
    warm_up(project, args)

    results: list[Result] = []
    profile_lines: list[str] = []
    seed = 0
    cached: tuple[float, int, int] | None = None
    for repetition in range(1, args.repeat + 1):
        for concurrency in args.concurrency:
            seed += 1
            fake = FakeProcess(args.latency, verdict)
            profiler = None
            if args.profile and not profile_lines:
                profiler = Profiler(Path(tempfile.gettempdir()) / f"judge-bench-{os.getpid()}.txt")
            try:
                print(f"run {repetition}, concurrency {concurrency} ...", flush=True)
                config, result = measured_run(project, args, concurrency, repetition, seed, fake)
                if profiler is not None:
                    profiler.stop()
                    profile_lines = [f"Profiled: run {repetition} at concurrency {concurrency}."]
                    profile_lines += [""] + profile_summary(profiler.path)
                    profiler = None
                results.append(result)
                print(result, flush=True)
                last = repetition == args.repeat and concurrency == args.concurrency[-1]
                if last:  # the same judge version again: every answer cached
                    before = fake.requests()
                    t0 = time.perf_counter()
                    run = judge_run(config, TEMPLATES[args.template][0])
                    wall = time.perf_counter() - t0
                    asked = sum(c.counts.get("asked", 0) for c in run.chunks.all())
                    cached = (wall, fake.requests() - before, asked)
            finally:
                if profiler is not None:
                    profiler.stop()
                fake.stop()

    n_requests = args.items * per_item
    lines = [
        "# Model judge runs against a fake server",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python benchmarks/judge_bench.py"
        f" --items {args.items} --template {args.template} --latency {args.latency:g}"
        f" --concurrency {' '.join(map(str, args.concurrency))} --repeat {args.repeat}"
        + (" --profile" if args.profile else "")
        + (f" --chunk-items {args.chunk_items}" if args.chunk_items else "")
        + "`."
        + (f" {args.note}" if args.note else ""),
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs shared with other engineers'"
        f" work, Python {platform.python_version()}. PostgreSQL on 127.0.0.1; eager Celery (the"
        " chunks (services.chunk_items: 25 items per request in flight, 100 to 1,000) run one"
        " after the other in the benchmark process); the"
        f" fake OpenAI server in its own process answers after {args.latency * 1000:.0f} ms."
        f" {args.items} {TEMPLATES[args.template][1]} items x {per_item} request(s) ="
        f" {n_requests} requests per run, each run a new judge version (empty cache).",
        "",
        "CPU per request: the judge process (every thread), the PostgreSQL backend(s), the fake"
        " server. Ideal = concurrency / latency; chunk ceiling = what the run's chunks allow"
        " when each waits for its slowest request.",
        "",
        "| concurrency | run | requests | wall s | req/s | ideal | chunk ceiling | efficiency"
        " | judge CPU s | CPU ms/req judge | PostgreSQL | fake server | latency p50 / p95 ms"
        " | CPUs busy | status |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in results:
        ideal = r.concurrency / args.latency
        rate = r.requests / r.wall_s
        ceiling = chunk_ceiling(chunk_items(r.concurrency) * per_item, r.concurrency, args.latency)
        lines.append(
            f"| {r.concurrency} | {r.repetition} | {r.requests} | {r.wall_s:.1f} | {rate:.1f}"
            f" | {ideal:.0f} | {ceiling:.0f}"
            f" | {rate / ideal:.0%} | {r.judge_cpu_s:.1f}"
            f" | **{r.judge_cpu_s / max(r.requests, 1) * 1000:.2f}**"
            f" | {r.postgres_cpu_s / max(r.requests, 1) * 1000:.2f}"
            f" | {r.server_cpu_s / max(r.requests, 1) * 1000:.2f}"
            f" | {r.p50_ms:.0f} / {r.p95_ms:.0f} | {r.machine_busy:.0%} | {r.status} |"
        )
    checks = {
        "every run done": all(r.status == "done" for r in results),
        f"every run sent {n_requests} requests": all(r.requests == n_requests for r in results),
        "every request stored as an answer": all(r.asked == r.requests for r in results),
        f"every item judged ({args.items})": all(r.judged == args.items for r in results),
    }
    if cached is not None:
        wall, sent, asked = cached
        lines += [
            "",
            f"Cached rerun of the last judge version: {sent} requests received by the fake"
            f" server, {asked} asked by the chunks, {wall:.1f} s"
            f" ({wall / args.items * 1000:.2f} ms per item).",
        ]
        checks["the cached rerun sent no request"] = sent == 0 and asked == 0
    lines += ["", "| check | result |", "|---|---|"]
    lines += [f"| {name} | {'pass' if ok else 'FAIL'} |" for name, ok in checks.items()]
    if profile_lines:
        lines += [""] + profile_lines
    report = "\n".join(lines) + "\n"
    print(report)
    with open(RESULTS, "a" if RESULTS.exists() else "w") as out:
        out.write(("\n---\n\n" if RESULTS.exists() and RESULTS.stat().st_size else "") + report)
    if not all(checks.values()):
        raise SystemExit("a check failed")


if __name__ == "__main__":
    main()
