"""Judge chunks whose worker died: the reaper queues them again or gives the run up, and a
redelivered message never takes a chunk whose worker is still alive (eager Celery; the real
worker is killed in test_judge_worker.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.judges import recovery, services
from annotations.judges.execute import ChunkLost, Heartbeat, judge_chunk_run
from annotations.judges.models import JudgeAnswer, JudgeRun, JudgeRunChunk
from annotations.judges.services import JudgeSpec, Selection
from annotations.models import Criterion, Project
from annotations.services import items_import
from tests.annotations.judges.fakes import FakeReply
from tests.factories import PREFERENCE, write_jsonl

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def stuck(tmp_path, openai_server) -> JudgeRunChunk:
    """A run of 4 pairs whose worker died after storing 5 of its 8 answers."""
    project = Project.objects.create(name="Judged", slug="judged")
    pair = {"type": "item", "kind": "pair", "prompt": "Q?", "response_a": "x", "response_b": "y"}
    lines = [PREFERENCE] + [pair | {"id": f"p{i}"} for i in range(4)]
    items_import(project=project, paths=[write_jsonl(tmp_path / "p.jsonl", lines)])
    openai_server.use(lambda body, i: FakeReply(text="[[A]]"))
    spec = JudgeSpec(
        name="judge",
        provider="openai",
        model="fake-model",
        template="mtbench-pair",
        group="fake-judge",
        base_url=openai_server.base_url,
    )
    run = services.judge_run_start(
        config=services.judge_config_create(project=project, spec=spec, user=None),
        criterion=Criterion.objects.get(project=project, name="preference"),
        selection=Selection(),
        user=None,
    )
    JudgeAnswer.objects.filter(pk__in=JudgeAnswer.objects.order_by("-pk")[:3]).delete()
    JudgeRun.objects.filter(pk=run.pk).update(status="running", finished_at=None)
    chunk = run.chunks.get()
    long_ago = timezone.now() - timedelta(minutes=10)
    JudgeRunChunk.objects.filter(pk=chunk.pk).update(status="running", heartbeat_at=long_ago)
    chunk.refresh_from_db()
    assert len(openai_server.requests) == 8 and chunk.attempts == 1
    return chunk


def test_it_requeues_a_chunk_whose_heartbeat_stopped_and_asks_only_what_was_missing(
    stuck, openai_server
):
    assert recovery.judge_chunks_reap(stale_seconds=60) == {"failed": 0, "requeued": 1, "resent": 1}
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == ("done", 2)
    assert JudgeRun.objects.get(pk=stuck.run_id).status == "done"
    assert len(openai_server.requests) == 8 + 3
    assert (stuck.counts["cached"], stuck.counts["asked"]) == (5, 3)


def test_it_leaves_a_chunk_with_a_fresh_heartbeat_alone(stuck, openai_server):
    JudgeRunChunk.objects.filter(pk=stuck.pk).update(heartbeat_at=timezone.now())
    assert recovery.judge_chunks_reap(stale_seconds=60) == {"failed": 0, "requeued": 0, "resent": 0}
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == ("running", 1)
    assert len(openai_server.requests) == 8


def test_it_gives_the_run_up_when_a_chunk_lost_its_worker_too_many_times(stuck, settings):
    JudgeRunChunk.objects.filter(pk=stuck.pk).update(attempts=settings.JUDGE_CHUNK_MAX_ATTEMPTS)
    assert recovery.judge_chunks_reap(stale_seconds=60) == {"failed": 1, "requeued": 0, "resent": 0}
    run = JudgeRun.objects.get(pk=stuck.run_id)
    assert run.status == "failed" and run.finished_at is not None
    assert run.error == "Chunk 0 lost its worker 3 times; gave up."
    assert JudgeRunChunk.objects.get(pk=stuck.pk).status == "failed"


def test_a_redelivered_message_takes_a_running_chunk_only_once_its_heartbeat_stopped(
    stuck, openai_server
):
    # Redis redelivers a message unacknowledged past its visibility timeout even when its
    # worker is alive: taking the chunk then would ask everything in flight twice.
    JudgeRunChunk.objects.filter(pk=stuck.pk).update(heartbeat_at=timezone.now())
    judge_chunk_run(chunk_id=stuck.pk, redelivered=True)
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == ("running", 1)
    assert len(openai_server.requests) == 8

    JudgeRunChunk.objects.filter(pk=stuck.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    judge_chunk_run(chunk_id=stuck.pk, redelivered=True)
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == ("done", 2)
    assert len(openai_server.requests) == 8 + 3


def test_an_attempt_that_was_taken_over_stops_at_its_next_heartbeat(stuck):
    JudgeRunChunk.objects.filter(pk=stuck.pk).update(attempts=2)
    with pytest.raises(ChunkLost):
        Heartbeat(chunk_id=stuck.pk, attempt=1, sent_at=0.0).beat()
    Heartbeat(chunk_id=stuck.pk, attempt=2, sent_at=0.0).beat()
    stuck.refresh_from_db()
    assert stuck.heartbeat_at > timezone.now() - timedelta(seconds=5)


def test_a_run_started_while_the_broker_was_down_is_sent_by_the_reaper(
    tmp_path, openai_server, settings
):
    """Issue 11, defect 5: the chunks are saved unqueued, and the reaper sends them later."""
    from judgeapp.jobs import JobQueueUnavailable
    from tests.faults import broker_down

    project = Project.objects.create(name="Judged", slug="judged")
    pair = {"type": "item", "kind": "pair", "prompt": "Q?", "response_a": "x", "response_b": "y"}
    lines = [PREFERENCE] + [pair | {"id": f"p{i}"} for i in range(4)]
    items_import(project=project, paths=[write_jsonl(tmp_path / "p.jsonl", lines)])
    openai_server.use(lambda body, i: FakeReply(text="[[A]]"))
    spec = JudgeSpec(
        name="judge",
        provider="openai",
        model="fake-model",
        template="mtbench-pair",
        group="fake-judge",
        base_url=openai_server.base_url,
    )
    config = services.judge_config_create(project=project, spec=spec, user=None)
    criterion = Criterion.objects.get(project=project, name="preference")
    with broker_down(), pytest.raises(JobQueueUnavailable):
        services.judge_run_start(
            config=config, criterion=criterion, selection=Selection(), user=None
        )
    run = JudgeRun.objects.get()
    assert [(c.status, c.queued_at) for c in run.chunks.all()] == [("pending", None)]

    settings.JOB_RESEND_AFTER_S = -1
    assert recovery.judge_chunks_reap() == {"failed": 0, "requeued": 0, "resent": 1}

    run.refresh_from_db()
    assert run.status == "done"
    assert run.chunks.get().queued_at is not None
