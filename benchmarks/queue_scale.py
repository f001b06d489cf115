"""The annotator queue's `next` and progress count on a big project at every stage of a campaign.

Run by hand from the repository root (not a test):

    python benchmarks/queue_scale.py                  # 1M items, k = 1, PostgreSQL
    python benchmarks/queue_scale.py --items 200000

It creates a fresh PostgreSQL database, makes a project of N one-step solutions with set-based
SQL (no import: the queue is what is measured), and for each stage (fresh, half done, 20 left,
nothing left) marks the items taken by other annotators with set-based inserts of submitted
assignments, then times `services.assignment_next` (the engine the API uses) and
`selectors.queue_progress` for a new annotator, each call inside a transaction that is rolled
back so every call sees the same stage. Prints p50/p95 per stage as a Markdown table.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DB = os.environ.get("QUEUE_BENCH_DB", "judgeapp_queue_bench")
BASE = "postgres://postgres@127.0.0.1:5432"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = f"{BASE}/{DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "judgeapp.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def fresh_database() -> None:
    for sql in (f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}"):
        subprocess.run(["psql", f"{BASE}/postgres", "-qc", sql], check=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        check=True,
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": f"{BASE}/{DB}"},
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=60, help="timed calls per stage")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    fresh_database()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotations.annotate import selectors, services
    from annotations.models import Membership, Project

    try:
        from annotations.annotate.openness import queue_counters_refresh
    except ImportError:  # the code before the open-item counters

        def queue_counters_refresh(project_id: int) -> None:
            return None

    n = args.items
    project = Project.objects.create(name="queue bench", slug="queue-bench", overlap=1)
    others = get_user_model().objects.create_user("others")
    with connection.cursor() as cursor:
        t0 = time.perf_counter()
        cursor.execute(
            "INSERT INTO annotations_item (project_id, external_id, kind, prompt, meta, n_steps,"
            " content_hash) SELECT %s, 'i' || g, 'solution', 'p', '{}', 1, md5(g::text)"
            " FROM generate_series(1, %s) g",
            [project.pk, n],
        )
        cursor.execute(
            "INSERT INTO annotations_step (item_id, index, text) SELECT id, 0, 's'"
            " FROM annotations_item WHERE project_id = %s",
            [project.pk],
        )
        print(f"{n:,} items in {time.perf_counter() - t0:.1f} s", flush=True)
    crit = project.criteria.create(
        name="validity", target="step", scale="nominal", labels=["a", "b"], position=0
    )
    assert crit.pk

    def take(upto: int) -> None:
        """Other annotators hold (submitted) every item but the last `n - upto` in scatter
        order, so what is left lies at the end of the order."""
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO annotations_assignment (project_id, item_id, user_id, slot, status,"
                " is_gold, reason, time_spent_ms, created_at)"
                " SELECT %s, id, %s, 0, 'submitted', false, '', 0, now() FROM ("
                "  SELECT id, row_number() OVER (ORDER BY scatter) r FROM annotations_item"
                "  WHERE project_id = %s) x"
                " WHERE r <= %s AND NOT EXISTS (SELECT 1 FROM annotations_assignment a"
                "  WHERE a.item_id = x.id)",
                [project.pk, others.pk, project.pk, upto],
            )
        queue_counters_refresh(project_id=project.pk)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE annotations_item")
            cursor.execute("VACUUM ANALYZE annotations_assignment")

    rows = []
    stages = [("fresh", 0), ("half done", n // 2), ("20 left", n - 20), ("nothing left", n)]
    for stage, upto in stages:
        t0 = time.perf_counter()
        take(upto)
        print(f"{stage}: set up in {time.perf_counter() - t0:.1f} s", flush=True)
        nexts, counts = [], []
        for i in range(args.calls):
            user = get_user_model().objects.create_user(f"u-{stage}-{i}")
            Membership.objects.create(user=user, project=project, role="annotator")
            with transaction.atomic():
                t = time.perf_counter()
                sheet = services.assignment_next(user=user, slug=project.slug)
                nexts.append(time.perf_counter() - t)
                assert (sheet is None) == (upto == n)
                t = time.perf_counter()
                progress = selectors.queue_progress(user=user, project=project)
                counts.append(time.perf_counter() - t)
                transaction.set_rollback(True)
        rows.append((stage, nexts, counts, progress.remaining))
    print(f"\n{args.label} {n:,} items, k = 1, {args.calls} calls per stage\n")
    print("| stage | `next` p50 | `next` p95 | progress count p50 | p95 | left shown |")
    print("|---|--:|--:|--:|--:|--:|")
    for stage, nexts, counts, remaining in rows:
        print(
            f"| {stage} | {statistics.median(nexts) * 1e3:.1f} ms"
            f" | {percentile(nexts, 0.95) * 1e3:.1f} ms"
            f" | {statistics.median(counts) * 1e3:.1f} ms"
            f" | {percentile(counts, 0.95) * 1e3:.1f} ms | {remaining:,} |"
        )


if __name__ == "__main__":
    main()
