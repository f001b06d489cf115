"""Load test of the annotator queue API: gunicorn + PostgreSQL on this machine, loopback only.

Run by hand from the repository root (not a test):

    python benchmarks/annotate_load.py                          # defaults below
    python benchmarks/annotate_load.py --annotators 32 --duration 30 --workers 4

It creates a fresh PostgreSQL database (dropped and created again on every run), migrates it,
imports ProcessBench-like solutions (4 steps, a step criterion and an item criterion, overlap
k), creates N annotators with API tokens, starts gunicorn on 127.0.0.1 and lets N concurrent
annotators (one asyncio process) loop "next item" then "submit" for a bounded time and number of
items, over keep-alive connections with a minimal HTTP/1.1 client (the load generator shares
the CPUs, so it has to be cheap). One submission in ten is sent twice with the same submission
id, as a client retry. A few seconds of the same load and an ANALYZE come before the timed
part. It also records the CPU taken per request by the gunicorn workers, the
PostgreSQL backends, the load generator and the rest of the machine.
Afterwards it counts rows: every accepted submission stored exactly once (4 step + 1 item
judgements), no item held by more than k annotators. Results go to
benchmarks/results-annotate.md.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results-annotate.md"
PG_MAINTENANCE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "judgeapp_annotate_bench"
PG_BENCH_URL = f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
SLUG = "annotate-bench"
N_STEPS = 4
RETRY_EVERY = 10  # every 10th submission is sent twice (a retried request)


def bench_env(port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=PG_BENCH_URL,
        DEBUG="0",
        SECRET_KEY="annotate-bench-only",  # noqa: S106 - a throwaway local server
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        CONN_MAX_AGE="600",
        PYTHONPATH=str(REPO),
        DJANGO_SETTINGS_MODULE="judgeapp.settings",
    )
    env.pop("CELERY_BROKER_URL", None)
    return env


def fresh_database() -> None:
    import psycopg

    with psycopg.connect(PG_MAINTENANCE_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_BENCH_DB}")


SEED = """
import json, sys
import django
django.setup()
from pathlib import Path
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from annotations.models import Membership, Project
from annotations.services import items_import

n_users, overlap, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
project = Project.objects.create(name="annotate bench", slug="SLUG", overlap=overlap)
items_import(project=project, paths=[Path(path)])
tokens = []
for i in range(n_users):
    user = get_user_model().objects.create_user(f"bench{i:03d}")
    Membership.objects.create(user=user, project=project, role="annotator")
    tokens.append(Token.objects.create(user=user).key)
# Fresh statistics, as autovacuum would have them on a database in use.
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
print(json.dumps(tokens))
""".replace("SLUG", SLUG)


COUNT = """
import json
import django
django.setup()
from django.db.models import Count
from annotations.models import Assignment, Judgement
submitted = Assignment.objects.filter(status="submitted")
per_item = submitted.values("item").annotate(n=Count("pk")).order_by("-n").first()
held = Assignment.objects.filter(slot__isnull=False).values("item").annotate(n=Count("pk"))
print(json.dumps({
    "submitted": submitted.count(),
    "judgements": Judgement.objects.count(),
    "max_submitted_per_item": per_item["n"] if per_item else 0,
    "max_held_per_item": max((r["n"] for r in held), default=0),
    "judgements_per_submission": sorted(set(
        Judgement.objects.values("rater", "item").annotate(n=Count("pk"))
        .values_list("n", flat=True)
    )),
}))
"""


def write_items(path: Path, n_items: int) -> None:
    rng = random.Random(7)
    with open(path, "w") as out:
        out.write(
            json.dumps(
                {
                    "type": "criterion",
                    "name": "validity",
                    "target": "step",
                    "scale": "nominal",
                    "labels": ["correct", "incorrect"],
                    "error_labels": ["incorrect"],
                }
            )
            + "\n"
        )
        out.write(
            json.dumps(
                {
                    "type": "criterion",
                    "name": "solution_correct",
                    "target": "item",
                    "scale": "nominal",
                    "labels": ["yes", "no"],
                }
            )
            + "\n"
        )
        for i in range(n_items):
            a, b = rng.randint(2, 99), rng.randint(2, 99)
            steps = [
                f"Let $x = {a}$ and $y = {b}$.",
                f"Then \\(x + y = {a + b}\\).",
                f"And \\[ x \\cdot y = {a * b}. \\]",
                f"So the answer is $\\boxed{{{a * b + a + b}}}$.",
            ]
            line = {
                "type": "item",
                "id": f"bench-{i}",
                "kind": "solution",
                "prompt": f"Compute $xy + x + y$ for $x = {a}$, $y = {b}$.",
                "steps": steps,
            }
            out.write(json.dumps(line) + "\n")


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"next": [], "submit": []})
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: {"next": {}, "submit": {}})
    accepted: int = 0  # distinct submissions answered 200
    retries_sent: int = 0
    retries_repeated: int = 0

    def add(self, endpoint: str, seconds: float, status: int) -> None:
        self.latencies[endpoint].append(seconds)
        counts = self.statuses[endpoint]
        counts[status] = counts.get(status, 0) + 1


class Http:
    """A minimal HTTP/1.1 client on one keep-alive connection (reconnects when the server
    closes it). The load generator shares the two CPUs with gunicorn and PostgreSQL: httpx
    took about 1.5 ms of CPU per request, this takes about 0.25 ms. Enough for this benchmark
    only: Content-Length bodies, no chunking."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: str, body: bytes = b""
    ) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        for attempt in range(2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                self.writer.write(head + body)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                # The server closed the kept-alive connection first: retry once, fresh.
                await self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, bytes]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(fields.get("content-length", 0)))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def annotator(base: str, token: str, stop_at: float, max_items: int, stats: Stats):
    host, port = base.removeprefix("http://").split(":")
    http = Http(host, int(port))
    auth = f"Authorization: Token {token}\r\n"
    json_auth = auth + "Content-Type: application/json\r\n"
    next_path = f"/api/projects/{SLUG}/annotate/next/"
    done = 0
    try:
        while time.monotonic() < stop_at and done < max_items:
            t0 = time.perf_counter()
            status, raw = await http.request("POST", next_path, auth)
            stats.add("next", time.perf_counter() - t0, status)
            if status == 204:
                return
            if status != 200:
                raise RuntimeError(f"next: {status} {raw[:200]!r}")
            item = json.loads(raw)
            labels = [
                {"criterion": q["criterion"], "step": q["step"], "value": q["labels"][0]}
                for q in item["questions"]
            ]
            body = {"submission_id": str(uuid.uuid4()), "labels": labels, "time_spent_ms": 1000}
            payload = json.dumps(body).encode()
            sends = 2 if (done + 1) % RETRY_EVERY == 0 else 1
            for attempt in range(sends):
                t0 = time.perf_counter()
                status, raw = await http.request("POST", item["submit_url"], json_auth, payload)
                stats.add("submit", time.perf_counter() - t0, status)
                if status != 200:
                    raise RuntimeError(f"submit: {status} {raw[:200]!r}")
                if attempt == 0:
                    stats.accepted += 1
                else:
                    stats.retries_sent += 1
                    stats.retries_repeated += bool(json.loads(raw)["repeated"])
            done += 1
    finally:
        await http.close()


async def drive(
    base: str, tokens: list[str], duration: float, max_items: int, stats: Stats
) -> tuple[float, float]:
    """Run the annotators; returns the elapsed time and this process's CPU seconds."""
    cpu0 = time.process_time()
    started = time.monotonic()
    stop_at = started + duration
    await asyncio.gather(*(annotator(base, t, stop_at, max_items, stats) for t in tokens))
    elapsed = time.monotonic() - started
    return elapsed, time.process_time() - cpu0


def run_loop(coroutine):
    """uvloop's event loop: the load generator shares the two CPUs with the server, and uvloop
    takes about half the CPU per request of asyncio's own loop."""
    import uvloop

    return uvloop.run(coroutine)


def analyze() -> None:
    """What autovacuum's ANALYZE does on a database in use. Run after the warm-up, so that the
    fast path's generic plans (made on first use, kept per connection until the statistics
    change) are not plans for an empty assignment table."""
    import psycopg

    with psycopg.connect(PG_BENCH_URL, autocommit=True) as conn:
        conn.execute("ANALYZE")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _postgres_cpu_seconds() -> float:
    """CPU of the PostgreSQL backends serving the benchmark database. With CONN_MAX_AGE they
    were opened by the first requests and live until gunicorn stops, so this is the load's."""
    import psycopg

    with psycopg.connect(PG_MAINTENANCE_URL, autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [PG_BENCH_DB]
        ).fetchall()
    return sum(_cpu_seconds(pid) for (pid,) in pids)


def _machine_busy_seconds() -> float:
    """CPU seconds spent by the whole machine (all cores, not idle or iowait) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for(url: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on {url}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=6000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--annotators", type=int, default=24)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds of load before ANALYZE and timing"
    )
    parser.add_argument("--max-items", type=int, default=2000, help="per annotator")
    # Three sync workers on two CPUs: each waits on PostgreSQL twice per request, and a
    # third worker fills those gaps (2: 587 req/s, 82% CPU; 3: 569-737 req/s, 92-94% CPU).
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) + 1)
    parser.add_argument(
        "--worker-class",
        default="sync",
        choices=["sync", "gthread"],
        help="sync closes the connection after each request, so every request goes to a free"
        " worker; gthread keeps connections alive, but each stays on the worker that accepted"
        " it, and with few connections one worker ends up serving most of them",
    )
    parser.add_argument("--threads", type=int, default=1, help="per gthread worker")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    env = bench_env(args.port)
    python = sys.executable

    print(f"fresh database {PG_BENCH_DB} ...", flush=True)
    fresh_database()
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        items = Path(tmp) / "items.jsonl"
        write_items(items, args.items)
        seeded = subprocess.run(
            [
                python,
                "-c",
                SEED,
                str(args.annotators),
                str(args.overlap),
                str(items),
            ],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    tokens = json.loads(seeded.stdout.strip().splitlines()[-1])
    print(f"{args.items} items, {len(tokens)} annotators, k={args.overlap}", flush=True)

    gunicorn = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            "judgeapp.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_for(f"{base}/accounts/login/")
        print(f"load: {args.duration:.0f} s ...", flush=True)
        warmup = Stats()
        run_loop(drive(base, tokens, args.warmup, args.max_items, warmup))
        analyze()
        workers = _children(gunicorn.pid)
        worker_cpu0 = sum(_cpu_seconds(p) for p in workers)
        postgres_cpu0 = _postgres_cpu_seconds()
        busy0 = _machine_busy_seconds()
        stats = Stats()
        elapsed, client_cpu = run_loop(drive(base, tokens, args.duration, args.max_items, stats))
        busy = _machine_busy_seconds() - busy0
        worker_cpu = sum(_cpu_seconds(p) for p in workers) - worker_cpu0
        postgres_cpu = _postgres_cpu_seconds() - postgres_cpu0
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)

    counted = json.loads(
        subprocess.run(
            [python, "-c", COUNT], cwd=REPO, env=env, check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    accepted = warmup.accepted + stats.accepted
    expected_judgements = accepted * (N_STEPS + 1)
    checks = {
        "every accepted submission stored once (assignments)": counted["submitted"] == accepted,
        "every accepted submission stored once (judgements)": counted["judgements"]
        == expected_judgements,
        "5 judgements per (annotator, item)": counted["judgements_per_submission"] in ([], [5]),
        "every retry answered as a repeat": stats.retries_repeated == stats.retries_sent
        and warmup.retries_repeated == warmup.retries_sent,
        f"no item submitted by more than k={args.overlap}": counted["max_submitted_per_item"]
        <= args.overlap,
        f"no item held by more than k={args.overlap}": counted["max_held_per_item"] <= args.overlap,
        "no request failed": all(
            set(codes) <= {200, 204} for run in (warmup, stats) for codes in run.statuses.values()
        ),
    }
    rows = []
    for endpoint in ("next", "submit"):
        lat = stats.latencies[endpoint]
        rows.append(
            (
                endpoint,
                len(lat),
                len(lat) / elapsed,
                percentile(lat, 50) * 1000,
                percentile(lat, 95) * 1000,
                percentile(lat, 99) * 1000,
                json.dumps(stats.statuses[endpoint]),
            )
        )
    total = sum(r[1] for r in rows)
    others = max(0.0, busy - worker_cpu - client_cpu - postgres_cpu)
    machine_load = busy / elapsed / (os.cpu_count() or 1)
    lines = [
        "# Annotator queue load benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python benchmarks/annotate_load.py"
        f" --items {args.items} --overlap {args.overlap} --annotators {args.annotators}"
        f" --duration {args.duration:g} --warmup {args.warmup:g} --max-items {args.max_items}"
        f" --workers {args.workers}`.",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs (load generator, gunicorn and"
        " PostgreSQL share them), Python " + platform.python_version() + ".",
        f"gunicorn {args.workers} {args.worker_class} workers"
        + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
        + ", DEBUG off, CONN_MAX_AGE 600, PostgreSQL on 127.0.0.1, token auth;"
        f" {args.annotators} concurrent annotators (one asyncio process, a minimal HTTP/1.1"
        " client, one connection each, kept alive when the server allows it), each looping next"
        " item then submit"
        " (4 step labels + 1 item label); every"
        f" {RETRY_EVERY}th submission sent twice with the same submission id. Timed after"
        f" {args.warmup:g} s of the same load and an ANALYZE, as autovacuum would run it.",
        "",
        f"Elapsed {elapsed:.1f} s, {total} requests, {total / elapsed:.0f} requests/s in all.",
        "",
        f"CPU during the load, per request: gunicorn workers {worker_cpu / total * 1000:.2f} ms,"
        f" PostgreSQL backends {postgres_cpu / total * 1000:.2f} ms,"
        f" load generator {client_cpu / total * 1000:.2f} ms, anything else on the machine"
        f" (kernel, other processes) {others / total * 1000:.2f} ms; the CPUs were"
        f" {machine_load:.0%} busy.",
        "",
        "| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | statuses |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r[0]} | {r[1]} | {r[2]:.0f} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.1f} | {r[6]} |"
        for r in rows
    ]
    lines += [
        "",
        f"Accepted submissions {accepted} ({warmup.accepted} in the warm-up); retries sent"
        f" {stats.retries_sent + warmup.retries_sent}, answered as repeats"
        f" {stats.retries_repeated + warmup.retries_repeated}."
        f" Rows: {counted['submitted']} submitted assignments,"
        f" {counted['judgements']} judgements (expected {expected_judgements}).",
        "",
        "| check | result |",
        "|---|---|",
    ]
    lines += [f"| {name} | {'pass' if ok else 'FAIL'} |" for name, ok in checks.items()]
    report = "\n".join(lines) + "\n"
    print(report)
    with open(RESULTS, "a" if RESULTS.exists() else "w") as out:
        out.write(("\n---\n\n" if RESULTS.exists() and RESULTS.stat().st_size else "") + report)
    if not all(checks.values()):
        raise SystemExit("a check failed")


if __name__ == "__main__":
    main()
