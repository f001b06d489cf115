"""A report run survives its worker being killed: another attempt finishes it with the same
results as an undisturbed run (real Celery worker, Redis broker, PostgreSQL)."""

import os
import signal

import pytest

from analysis import services
from analysis.config import RunConfig
from analysis.models import AgreementResult, AgreementRun
from annotations import services as annotation_services
from tests.analysis.test_runs import result_rows, study_lines
from tests.factories import write_jsonl
from tests.worker import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CONFIG = RunConfig(slice_keys=("turn", "category"), n_boot=20000, seed=9)


@pytest.fixture
def big_study(tmp_path, project):
    lines = study_lines(seed=2, n_pairs=3000, n_solutions=600)
    annotation_services.items_import(project=project, paths=[write_jsonl(tmp_path / "s", lines)])
    return project


def test_it_finishes_a_run_on_another_attempt_after_the_worker_is_killed(big_study, lead):
    run = services.agreement_run_start(project=big_study, user=lead, config=CONFIG)

    with celery_worker() as worker:
        started = wait_for(
            lambda: AgreementRun.objects.get(pk=run.pk).progress > 0.05, timeout=120, every=0.05
        )
        assert started, "the worker never got going"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    killed = AgreementRun.objects.get(pk=run.pk)
    assert killed.status == "running"  # left behind by the dead worker
    assert not AgreementResult.objects.filter(run=run).exists()

    assert services.agreement_runs_reap(stale_seconds=0)["requeued"] == 1
    with celery_worker():
        finished = wait_for(
            lambda: AgreementRun.objects.get(pk=run.pk).status in ("done", "failed"), timeout=300
        )
    run.refresh_from_db()
    assert finished and run.status == "done", (run.status, run.error)
    assert run.attempts == 2

    undisturbed = services.agreement_run_start(project=big_study, user=lead, config=CONFIG)
    services.agreement_run_execute(run_id=undisturbed.pk)
    assert result_rows(run) == result_rows(undisturbed)
