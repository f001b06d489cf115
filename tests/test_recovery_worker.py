"""A killed worker's job is recovered within two minutes, with beat on its real schedule
(issue 11, defect 6): a real worker with embedded beat (`-B`), PostgreSQL and Redis; the
worker is SIGKILLed mid-job and a new one started; the row must be done, or failed with a
reason, within 150 s of the kill."""

import json
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from analysis import services as analysis_services
from analysis.config import RunConfig
from analysis.models import AgreementRun
from annotations import services
from annotations.models import ImportJob, Judgement
from tests.analysis.test_run_worker import big_study  # noqa: F401 - the fixture
from tests.factories import VALIDITY
from tests.worker import celery_worker, kill_group, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RECOVERED_WITHIN_S = 150
N_SOLUTIONS, N_STEPS, N_RATERS = 5000, 5, 10  # 250,000 judgements: some 10 s to import


def jsonl_bytes(lines: list) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def big_import() -> bytes:
    lines = [VALIDITY]
    for i in range(N_SOLUTIONS):
        steps = [f"step {s} of {i}" for s in range(N_STEPS)]
        lines.append({"type": "item", "id": f"s{i}", "kind": "solution", "steps": steps})
        for s in range(N_STEPS):
            for r in range(N_RATERS):
                value = "incorrect" if (i + s + r) % 7 == 0 else "correct"
                lines.append(
                    {
                        "type": "judgement",
                        "item": f"s{i}",
                        "step": s,
                        "criterion": "validity",
                        "rater": f"r{r}",
                        "value": value,
                    }
                )
    return jsonl_bytes(lines)


def test_the_real_schedule_recovers_within_two_minutes():
    # What the test relies on: beat's tick plus the stale limit fit the two minutes.
    assert settings.JOB_STALE_S + settings.JOB_REAP_EVERY_S <= 90
    assert settings.CELERY_BEAT_SCHEDULE["reap-import-jobs"]["schedule"] <= 30


def _kill_mid_job(tmp_path, is_running, settle_s: float = 2.0) -> float:
    with celery_worker(beat_schedule=tmp_path / "beat-1", log=tmp_path / "worker-1.log") as w:
        assert wait_for(is_running, timeout=120, every=0.1), "the worker never got going"
        time.sleep(settle_s)  # well into the job
        kill_group(w)
    return time.monotonic()


def test_a_killed_import_is_imported_by_the_next_worker_within_two_minutes(tmp_path, lead, project):
    upload = SimpleUploadedFile("big.jsonl", big_import())
    job = services.import_job_create(project=project, user=lead, file=upload, format="native")

    killed_at = _kill_mid_job(
        tmp_path, lambda: ImportJob.objects.get(pk=job.pk).status == "running"
    )
    assert ImportJob.objects.get(pk=job.pk).status == "running"  # left behind

    with celery_worker(beat_schedule=tmp_path / "beat-2", log=tmp_path / "worker-2.log"):
        ended = wait_for(
            lambda: ImportJob.objects.get(pk=job.pk).status in ("done", "failed"),
            timeout=RECOVERED_WITHIN_S,
            every=1,
        )
    took = time.monotonic() - killed_at
    job.refresh_from_db()
    assert ended, f"still {job.status} {took:.0f} s after the kill"
    assert (job.status, job.attempts) == ("done", 2), job.errors
    assert Judgement.objects.count() == N_SOLUTIONS * N_STEPS * N_RATERS
    print(f"import recovered and finished {took:.0f} s after the kill")


def test_a_killed_report_is_finished_by_the_next_worker_within_two_minutes(
    tmp_path,
    big_study,  # noqa: F811 - the fixture imported above
    lead,
):
    # Killed as soon as it has made progress: on a quiet machine the whole run takes seconds,
    # and a fixed wait after the start let it finish before the kill.
    config = RunConfig(slice_keys=("turn",), n_boot=6000, seed=9)
    run = analysis_services.agreement_run_start(project=big_study, user=lead, config=config)

    killed_at = _kill_mid_job(
        tmp_path, lambda: AgreementRun.objects.get(pk=run.pk).progress > 0.02, settle_s=0
    )
    assert AgreementRun.objects.get(pk=run.pk).status == "running"

    with celery_worker(beat_schedule=tmp_path / "beat-2", log=tmp_path / "worker-2.log"):
        ended = wait_for(
            lambda: AgreementRun.objects.get(pk=run.pk).status in ("done", "failed"),
            timeout=RECOVERED_WITHIN_S,
            every=1,
        )
    took = time.monotonic() - killed_at
    run.refresh_from_db()
    assert ended, f"still {run.status} {took:.0f} s after the kill"
    assert (run.status, run.attempts) == ("done", 2), run.error
    print(f"report recovered and finished {took:.0f} s after the kill")
