"""A streamed run on a real worker (Redis broker, PostgreSQL): the worker is killed in the
middle of a chunk; the reaper sends that chunk again, by itself, and the run ends with the rows
of an undisturbed run."""

import os
import signal

import pytest

from analysis import services
from analysis.config import RunConfig
from analysis.models import AgreementRun, ReportChunk
from annotations import services as annotation_services
from judgeapp.celery import app
from tests.analysis.test_runs import result_rows, study_lines
from tests.factories import write_jsonl
from tests.worker import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CONFIG = RunConfig(slice_keys=("turn", "subset"), n_boot=4000, seed=5, chunk_items=400)


@pytest.fixture
def big_study(tmp_path, project):
    lines = study_lines(seed=2, n_pairs=3000, n_solutions=600)
    annotation_services.items_import(project=project, paths=[write_jsonl(tmp_path / "s", lines)])
    return project


def _chunks(run, status: str) -> set[int]:
    return set(ReportChunk.objects.filter(run=run, status=status).values_list("index", flat=True))


def test_it_redoes_only_the_chunk_whose_worker_was_killed(big_study, lead):
    run = services.agreement_run_start(project=big_study, user=lead, config=CONFIG)

    with celery_worker() as worker:
        mid_chunk = wait_for(
            lambda: _chunks(run, "done") and _chunks(run, "running"), timeout=240, every=0.05
        )
        assert mid_chunk, "the worker never got going"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    done, killed = _chunks(run, "done"), _chunks(run, "running")
    assert done and len(killed) == 1
    assert AgreementRun.objects.get(pk=run.pk).status == "running"

    assert services.agreement_runs_reap(stale_seconds=0)["chunks_requeued"] == 1
    with celery_worker():
        finished = wait_for(
            lambda: AgreementRun.objects.get(pk=run.pk).status in ("done", "failed"), timeout=400
        )
    run.refresh_from_db()
    assert finished and run.status == "done", (run.status, run.error)
    attempts = dict(ReportChunk.objects.filter(run=run).values_list("index", "attempts"))
    assert {i for i, n in attempts.items() if n > 1} == killed  # the others ran once

    before, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        undisturbed = services.agreement_run_start(project=big_study, user=lead, config=CONFIG)
    finally:
        app.conf.task_always_eager = before
    assert AgreementRun.objects.get(pk=undisturbed.pk).status == "done"
    assert result_rows(run) == result_rows(undisturbed)
