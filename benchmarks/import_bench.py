"""Benchmark the native JSONL import on PostgreSQL and SQLite: time per phase and peak memory.

Run by hand from the repository root (not a test):

    python benchmarks/import_bench.py                       # 1M judgements, both backends
    python benchmarks/import_bench.py --judgements 200000 --backend sqlite

It generates native files streaming to disk (solutions with five steps judged by three human
experts and two model raters, some judgements missing, plus item-level judgements), imports
each into a fresh database (a PostgreSQL database it creates and drops, or a fresh SQLite
file), re-imports the same file to time the no-op path, and writes a Markdown table to
benchmarks/results-import.md. Every import runs in its own subprocess so its peak RSS
(`ru_maxrss`) is its own; importing two file sizes shows whether memory grows with the file.
"""

import argparse
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results-import.md"
GENERATOR_VERSION = 1  # part of the file name: bump when the generated content changes
PG_MAINTENANCE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = os.environ.get("IMPORT_BENCH_DB", "judgeapp_bench")  # one per concurrent run
PROJECT = "import benchmark"

EXPERTS = ["expert_1", "expert_2", "expert_3"]
MODELS = {
    "gpt-4o-judge": {"rater_model": "gpt-4o-2024-08-06", "rater_parameters": {"temperature": 0}},
    "llama-70b-judge": {
        "rater_model": "meta-llama/Llama-3.1-70B-Instruct",
        "rater_parameters": {"temperature": 0.2, "top_p": 0.9},
    },
}
N_STEPS = 5
EXPERT_STEP_RATE = 0.8  # an expert judges a given step 80% of the time; models judge all
CRITERIA = [
    {
        "type": "criterion",
        "name": "validity",
        "target": "step",
        "scale": "nominal",
        "labels": ["correct", "incorrect", "ambiguous"],
        "error_labels": ["incorrect"],
    },
    {
        "type": "criterion",
        "name": "coherence",
        "target": "item",
        "scale": "ordinal",
        "labels": [1, 2, 3, 4, 5],
    },
    {
        "type": "criterion",
        "name": "score",
        "target": "item",
        "scale": "interval",
        "min": 0,
        "max": 1,
    },
]
SUBSETS = ["gsm8k", "math", "olympiadbench", "omni-math"]
STEP_TEMPLATES = [
    r"Since $x^2 + {a}x = {b}$, completing the square gives \((x + {h})^2 = {c}\).",
    r"Substituting $y = {a}$ into \(\frac{{x}}{{y}} = {b}\) we get $x = {c}$.",
    r"The sum of the first ${a}$ terms is \(\sum_{{k=1}}^{{{a}}} k = {c}\), so we add {b}.",
    r"By the Pythagorean theorem, $c = \sqrt{{{a}^2 + {b}^2}} \approx {h}$.",
    r"Dividing both sides by ${a}$ leaves \(x = \tfrac{{{b}}}{{{a}}} = {h}\), as required.",
    r"Hence the probability is \(\binom{{{a}}}{{2}} / {b} = {h}\), which is below $1$.",
]
RATIONALES = [
    "",
    "",
    "",
    "sign error when moving the term across",
    "does not follow from the previous step",
    r"the bound \(x > 0\) was never checked",
]


# ---- the generated file ------------------------------------------------------------------------


def _step_text(rng: random.Random) -> str:
    a, b = rng.randint(2, 99), rng.randint(2, 999)
    return rng.choice(STEP_TEMPLATES).format(a=a, b=b, c=a * b, h=round(b / a, 3))


def _solution(rng: random.Random, i: int) -> dict:
    subset = SUBSETS[i % len(SUBSETS)]
    a, b = rng.randint(2, 50), rng.randint(2, 500)
    return {
        "type": "item",
        "id": f"{subset}-{i:07d}",
        "kind": "solution",
        "prompt": rf"Solve for \(x\): ${a}x + {b} = {a * b}$. Give the exact value.",
        "steps": [_step_text(rng) for _ in range(N_STEPS)],
        "reference_answer": str(b - round(b / a, 2)),
        "meta": {"subset": subset, "difficulty": rng.randint(1, 5), "source_split": "test"},
    }


def _judgements(rng: random.Random, item_id: str) -> Iterator[dict]:
    """About 25 lines per solution: 22 step judgements, 3 item-level ones."""
    for step in range(N_STEPS):
        for expert in EXPERTS:
            if rng.random() < EXPERT_STEP_RATE:
                value = rng.choices(["correct", "incorrect", "ambiguous"], (75, 20, 5))[0]
                line = {"type": "judgement", "item": item_id, "step": step}
                line |= {"criterion": "validity", "rater": expert, "rater_kind": "human"}
                line |= {"rater_group": "expert", "value": value}
                line["time_spent_ms"] = rng.randint(2_000, 90_000)
                if value != "correct":
                    line["rationale"] = rng.choice(RATIONALES)
                yield line
        for model, model_fields in MODELS.items():
            value = rng.choices(["correct", "incorrect", "ambiguous"], (70, 25, 5))[0]
            line = {"type": "judgement", "item": item_id, "step": step}
            line |= {"criterion": "validity", "rater": model, "rater_kind": "model"}
            line |= {"rater_group": "model", "value": value, **model_fields}
            line["rater_prompt_version"] = "step-judge-v3"
            line["meta"] = {"logprob": round(-rng.random(), 4)}
            yield line
    for expert in EXPERTS:
        if rng.random() < 0.7:
            line = {"type": "judgement", "item": item_id, "criterion": "coherence"}
            line |= {"rater": expert, "rater_kind": "human", "rater_group": "expert"}
            line["value"] = rng.randint(1, 5)
            yield line
    for model, model_fields in MODELS.items():
        if rng.random() < 0.45:
            line = {"type": "judgement", "item": item_id, "criterion": "score"}
            line |= {"rater": model, "rater_kind": "model", "rater_group": "model"}
            line |= {"value": round(rng.random(), 3), **model_fields}
            line["rater_prompt_version"] = "item-judge-v1"
            yield line


def _write(out: TextIO, line: dict) -> None:
    out.write(json.dumps(line, ensure_ascii=False))
    out.write("\n")


def generate(path: Path, n_judgements: int, *, seed: int, interleaved: bool) -> Path:
    """Write criteria, items and exactly `n_judgements` judgement lines, streaming to disk.

    Grouped (the default, as an export writes it): criteria, then every item, then every
    judgement. Interleaved: each item is followed by its judgements.
    """
    rng = random.Random(seed)
    tmp_items, tmp_judgements = path.with_suffix(".items.tmp"), path.with_suffix(".judg.tmp")
    written, i = 0, 0
    with ExitStack() as files:
        items = files.enter_context(open(tmp_items, "w", encoding="utf-8"))
        judgements = items
        if not interleaved:
            judgements = files.enter_context(open(tmp_judgements, "w", encoding="utf-8"))
        while written < n_judgements:
            item = _solution(rng, i)
            _write(items, item)
            for line in _judgements(rng, item["id"]):
                _write(judgements, line)
                written += 1
                if written == n_judgements:
                    break
            i += 1
    with open(path, "w", encoding="utf-8") as out:
        for criterion in CRITERIA:
            _write(out, criterion)
        for part in (tmp_items, tmp_judgements):
            if part.exists():
                with open(part, encoding="utf-8") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                part.unlink()
    return path


# ---- the child processes: migrate, parse only, import ------------------------------------------


def _django_setup() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "judgeapp.settings")
    import django

    django.setup()


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _instrument(marks: dict[str, float]) -> None:
    """Time the writer's phases by wrapping its steps; the importer's code itself is not touched."""
    from annotations.importers.items import ItemWriter
    from annotations.importers.staging import StagingTable
    from annotations.importers.writer import ImportWriter

    def timed(name: str, method: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            marks.setdefault(name + ".start", start)
            try:
                return method(*args, **kwargs)
            finally:
                end = time.perf_counter()
                marks[name] = marks.get(name, 0.0) + end - start
                marks[name + ".end"] = end

        return wrapper

    for name in ("_check_staged", "_insert_staged", "run"):
        setattr(ImportWriter, name, timed(name, getattr(ImportWriter, name)))
    # Items and steps: every batch goes through ItemWriter.flush, timed as "_flush_items".
    ItemWriter.flush = timed("_flush_items", ItemWriter.flush)
    # Rows into the staging table only: items and steps are written inside ItemWriter.flush
    # (timed on its own, also when a staging flush calls it).
    StagingTable.write = timed("staging_writes", StagingTable.write)


def child_import(path: Path) -> dict:
    _django_setup()
    from django.db import connection

    from annotations import services

    project = services.project_get_or_create(name=PROJECT)
    connection.ensure_connection()
    rss_before = _maxrss_mib()
    marks: dict[str, float] = {}
    _instrument(marks)
    start = time.perf_counter()
    counts = services.items_import(project=project, paths=[path])
    total = time.perf_counter() - start
    stage = marks["_check_staged.start"] - marks["run.start"]
    return {
        "total": total,
        "stage": stage,
        "items": marks.get("_flush_items", 0.0),
        "staging_writes": marks.get("staging_writes", 0.0),
        "parse_validate": stage - marks.get("_flush_items", 0.0) - marks.get("staging_writes", 0),
        "checks": marks["_check_staged"],
        "insert": marks["_insert_staged"],
        "commit": marks["run.end"] - marks["_insert_staged.end"],
        "counts": counts.as_dict(),
        "rss_before_mib": rss_before,
        "peak_rss_mib": _maxrss_mib(),
    }


def child_parse(path: Path) -> dict:
    """Only the native parser over the file: the JSON and shape-check share of the import.

    Django is set up (the importers package reaches the models through the value rule), but
    no database is touched.
    """
    _django_setup()
    from annotations.importers import native

    start = time.perf_counter()
    n = sum(1 for _ in native.parse([path]))
    return {"total": time.perf_counter() - start, "records": n, "peak_rss_mib": _maxrss_mib()}


def child_migrate() -> dict:
    _django_setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return {}


def _run_child(action: str, env: dict[str, str], path: Path | None = None) -> dict:
    command = [sys.executable, __file__, "--child", action]
    if path is not None:
        command += ["--file", str(path)]
    done = subprocess.run(  # noqa: S603 - our own script, arguments we built
        command, env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"child {action} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- databases ---------------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    url: str
    reset: Callable[[], None]
    drop: Callable[[], None]
    version: str = ""


def _pg_admin(url: str, sql: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        row = cursor.fetchone() if cursor.description else None
        return str(row[0]) if row else ""


def postgres_backend(maintenance_url: str) -> Backend:
    base = maintenance_url.rsplit("/", 1)[0]

    def reset() -> None:
        drop()
        _pg_admin(maintenance_url, f"CREATE DATABASE {PG_BENCH_DB}")

    def drop() -> None:
        _pg_admin(maintenance_url, f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")

    version = _pg_admin(maintenance_url, "SELECT current_setting('server_version')")
    return Backend("PostgreSQL", f"{base}/{PG_BENCH_DB}", reset, drop, f"PostgreSQL {version}")


def sqlite_backend(path: Path) -> Backend:
    def drop() -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    version = f"SQLite {sqlite3.sqlite_version}"
    return Backend("SQLite", f"sqlite:///{path}", drop, drop, version)


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    judgements: int
    file_mib: float
    first: dict
    again: dict


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    parse_only: dict[int, dict] = field(default_factory=dict)
    versions: list[str] = field(default_factory=list)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench(backend: Backend, path: Path, n: int, *, keep: bool) -> Result:
    env = {"DATABASE_URL": backend.url, "DEBUG": "0", "SECRET_KEY": "benchmark-only"}
    backend.reset()
    _run_child("migrate", env)
    _log(f"  {backend.name}, {n:,} judgements: importing")
    first = _run_child("import", env, path)
    _log(f"    {first['total']:.1f} s, peak RSS {first['peak_rss_mib']:.0f} MiB; re-importing")
    again = _run_child("import", env, path)
    _log(f"    {again['total']:.1f} s, {again['counts']['judgements_unchanged']:,} unchanged")
    if keep:
        _log(f"    kept {backend.url}")
    else:
        backend.drop()
    return Result(backend.name, n, path.stat().st_size / 2**20, first, again)


def _table(run: Run) -> str:
    def s(value: float) -> str:
        return f"{value:.1f}"

    lines = [
        "| backend | judgements | file | parse + validate | items + steps | staging writes |"
        " SQL checks | final insert | commit | **total** | judgements/s | re-import (no-op) |"
        " peak RSS (import / re-import) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in sorted(run.results, key=lambda r: (r.backend, r.judgements)):
        f, a = r.first, r.again
        lines.append(
            f"| {r.backend} | {r.judgements:,} | {r.file_mib:.0f} MiB | {s(f['parse_validate'])} s"
            f" | {s(f['items'])} s | {s(f['staging_writes'])} s | {s(f['checks'])} s"
            f" | {s(f['insert'])} s | {s(f['commit'])} s | **{s(f['total'])} s**"
            f" | {r.judgements / f['total']:,.0f} | {s(a['total'])} s"
            f" | {f['peak_rss_mib']:.0f} / {a['peak_rss_mib']:.0f} MiB |"
        )
    if run.parse_only:
        lines += ["", "| parser alone (`native.parse`, no database) | records | time | peak RSS |"]
        lines.append("|---|--:|--:|--:|")
        for n, p in sorted(run.parse_only.items()):
            lines.append(
                f"| file with {n:,} judgements | {p['records']:,} | {s(p['total'])} s"
                f" | {p['peak_rss_mib']:.0f} MiB |"
            )
    return "\n".join(lines)


def _environment(run: Run) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    parts = [f"{os.cpu_count()} × {cpu}", f"Python {platform.python_version()}", *run.versions]
    return ", ".join(parts)


def report(run: Run, args: argparse.Namespace) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    layout = "interleaved" if args.interleaved else "grouped (criteria, items, judgements)"
    baseline = ", ".join(
        f"{name} {min(r.first['rss_before_mib'] for r in run.results if r.backend == name):.0f}"
        for name in sorted({r.backend for r in run.results})
    )
    return (
        "# Import benchmark\n\n"
        f"`{' '.join(['python benchmarks/import_bench.py', *sys.argv[1:]])}`"
        f" — {when}; {_environment(run)}.\n"
        f"File layout: {layout}; 5-step solutions, 3 experts (80% of steps each) and 2 model"
        " raters, plus item-level judgements. Times are wall-clock seconds from inside the"
        " importing process; peak RSS is that process's `ru_maxrss` (with Django and the"
        f" driver loaded and connected it is already at: {baseline} MiB).\n\n" + _table(run) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judgements", type=int, default=1_000_000, help="size of the big file")
    parser.add_argument(
        "--small-judgements",
        type=int,
        default=250_000,
        help="size of the second file, to show memory stays flat (0 to skip)",
    )
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--postgres-url", default=PG_MAINTENANCE_URL, help="maintenance DB URL")
    parser.add_argument("--work-dir", type=Path, default=REPO / "bench-output")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Markdown output")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--interleaved", action="store_true", help="each item before its lines")
    parser.add_argument(
        "--keep", action="store_true", help="keep (and reuse) generated files and the databases"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        actions = {"import": child_import, "parse": child_parse}
        result = child_migrate() if args.child == "migrate" else actions[args.child](args.file)
        print(json.dumps(result))
        return

    args.work_dir.mkdir(parents=True, exist_ok=True)
    backends = []
    if args.backend in ("postgres", "both"):
        backends.append(postgres_backend(args.postgres_url))
    if args.backend in ("sqlite", "both"):
        backends.append(sqlite_backend(args.work_dir / "bench.sqlite3"))
    run = Run(versions=[b.version for b in backends])
    sizes = sorted({n for n in (args.small_judgements, args.judgements) if n > 0}, reverse=True)
    layout = "interleaved" if args.interleaved else "grouped"
    for n in sizes:
        path = args.work_dir / f"native-{n}-{layout}-s{args.seed}-v{GENERATOR_VERSION}.jsonl"
        if not (args.keep and path.exists()):
            _log(f"generating {path.name}")
            start = time.perf_counter()
            generate(path, n, seed=args.seed, interleaved=args.interleaved)
            _log(f"  {path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - start:.1f} s")
        run.parse_only[n] = _run_child("parse", {}, path)
        for backend in backends:
            run.results.append(bench(backend, path, n, keep=args.keep))
        if not args.keep:
            path.unlink()
    text = report(run, args)
    args.results.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
