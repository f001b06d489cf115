"""A judge run survives its worker being killed mid-run: the reaper queues the chunk again,
another worker finishes it asking only what was in flight, and the API key never leaves the
worker's environment (real Celery worker, Redis broker, PostgreSQL, fake OpenAI on loopback).
"""

import contextlib
import os
import re
import secrets
import signal
from collections import Counter
from pathlib import Path

import pytest
from django.apps import apps
from django.db.models import Count

from annotations.judges import recovery, services
from annotations.judges.models import JudgeAnswer, JudgeRun
from annotations.judges.services import JudgeSpec, Selection
from annotations.models import Criterion, Judgement, Project
from annotations.services import items_import
from tests.annotations.judges.fakes import FakeReply
from tests.factories import PREFERENCE, write_jsonl
from tests.worker import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

N_PAIRS = 60
N_REQUESTS = 2 * N_PAIRS  # both orders
CONCURRENCY = 4
KEY_ENV = "JUDGE_WORKER_TEST_KEY"


def pair(i: int) -> dict:
    return {
        "type": "item",
        "id": f"p{i}",
        "kind": "pair",
        "prompt": f"Question {i}?",
        "response_a": f"answer A{i}",
        "response_b": f"answer B{i}",
    }


@pytest.fixture
def pairs(tmp_path) -> Project:
    project = Project.objects.create(name="Judged by workers", slug="judged-by-workers")
    lines = [PREFERENCE] + [pair(i) for i in range(N_PAIRS)]
    items_import(project=project, paths=[write_jsonl(tmp_path / "pairs.jsonl", lines)])
    return project


def asked(body: dict) -> tuple[int, str]:
    """Which pair a request asks about, and in which order it shows the answers."""
    prompt = body["messages"][-1]["content"]
    number = int(re.search(r"Question (\d+)\?", prompt).group(1))
    shown_first = re.search(r"Assistant A's Answer\]\n(answer [AB])", prompt).group(1)
    return number, "ab" if shown_first.endswith("A") else "ba"


def slow_a_wins(body: dict, call_index: int) -> FakeReply:
    _, order = asked(body)
    return FakeReply(text="[[A]]" if order == "ab" else "[[B]]", delay_s=0.15)


def kill_with_children(pid: int) -> None:
    """SIGKILL a process and everything it started (found before any of them dies)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            children = (task / "children").read_text().split() if task.exists() else []
            todo += [int(child) for child in children]
    for each in pids:
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.kill(each, signal.SIGKILL)


def start(project: Project, server) -> JudgeRun:
    spec = JudgeSpec(
        name="judge",
        provider="openai",
        model="fake-model",
        template="mtbench-pair",
        group="fake-judge",
        base_url=server.base_url,
        parameters={"temperature": 0},
        concurrency=CONCURRENCY,
    )
    config = services.judge_config_create(project=project, spec=spec, user=None)
    return services.judge_run_start(
        config=config,
        criterion=Criterion.objects.get(project=project, name="preference"),
        selection=Selection(),
        user=None,
        api_key_env=KEY_ENV,
    )


def test_it_finishes_a_run_whose_worker_was_killed_without_asking_anything_twice_but_in_flight(
    pairs, openai_server, tmp_path
):
    assert KEY_ENV not in os.environ  # only the workers have the key
    key = f"sk-worker-{secrets.token_hex(12)}"
    worker_env = {KEY_ENV: key}
    openai_server.use(slow_a_wins)
    run = start(pairs, openai_server)

    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    with celery_worker(extra_env=worker_env, log=logs[0]) as worker:
        stored = JudgeAnswer.objects.filter(run=run)
        started = wait_for(lambda: stored.count() >= N_REQUESTS // 4, timeout=120, every=0.05)
        assert started, "the worker never got going"
        kill_with_children(worker.pid)
        worker.wait(timeout=30)
    stored_at_kill = stored.count()
    in_flight = len(openai_server.requests) - stored_at_kill
    chunk = run.chunks.get()
    assert chunk.status == "running" and chunk.attempts == 1  # left behind by the dead worker
    assert stored_at_kill < N_REQUESTS, "the run ended before the kill; make the replies slower"
    assert 0 <= in_flight <= CONCURRENCY

    assert recovery.judge_chunks_reap(stale_seconds=0) == {"failed": 0, "requeued": 1, "resent": 1}
    with celery_worker(extra_env=worker_env, log=logs[1]):
        finished = wait_for(
            lambda: JudgeRun.objects.get(pk=run.pk).status not in ("pending", "running"),
            timeout=120,
        )
    run.refresh_from_db()
    chunk.refresh_from_db()
    assert finished and run.status == "done", (run.status, run.error)
    assert (chunk.status, chunk.attempts) == ("done", 2)
    assert chunk.counts["cached"] == stored_at_kill
    assert chunk.counts["asked"] == N_REQUESTS - stored_at_kill
    assert chunk.counts["judged"] == N_PAIRS

    # Every item judged once, every (item, order) answered once.
    per_item = (
        Judgement.objects.filter(rater=run.config.rater).values("item").annotate(n=Count("pk"))
    )
    assert sorted(row["n"] for row in per_item) == [1] * N_PAIRS
    assert stored.count() == N_REQUESTS
    keys = stored.values_list("item", "order", "sample")
    assert len(set(keys)) == N_REQUESTS
    assert set(
        Judgement.objects.filter(rater=run.config.rater).values_list("value", flat=True)
    ) == {"a"}

    # Asked at most twice, and twice only what was in flight when the worker died.
    times_asked = Counter(asked(request.body) for request in openai_server.requests)
    assert set(times_asked) == {(i, order) for i in range(N_PAIRS) for order in ("ab", "ba")}
    asked_twice = [k for k, n in times_asked.items() if n == 2]
    assert max(times_asked.values()) <= 2
    assert len(asked_twice) <= in_flight
    assert len(openai_server.requests) == N_REQUESTS + len(asked_twice)

    # The key came from the workers' environment, and went nowhere else.
    authorizations = {request.headers.get("authorization") for request in openai_server.requests}
    assert authorizations == {f"Bearer {key}"}
    assert run.api_key_env == KEY_ENV
    for model in apps.get_models():
        for row in model.objects.values_list():
            assert key not in repr(row), f"the API key is stored in {model.__name__}"
    for log in logs:
        text = log.read_text()
        assert "judge_chunk_task" in text  # the log is the worker's
        assert key not in text, f"the API key is in {log.name}"
