"""Queueing the annotations tasks, by name.

`annotations.tasks` imports `annotations.services` (a task calls a service), so the services
cannot import the tasks back. They queue work through here instead, by the task's registered
name (`judgeapp.jobs`); tasks.py registers its tasks under these names. Each job's own row is
its outbox entry: stamped `queued_at` once the broker has the message.
"""

from annotations.judges.models import JudgeRunChunk
from annotations.models import ExportJob, ImportJob
from judgeapp.jobs import enqueue_on_commit, send

IMPORT_JOB_RUN_TASK = "annotations.tasks.import_job_run_task"
IMPORT_JOBS_REAP_TASK = "annotations.tasks.import_jobs_reap_task"
EXPORT_JOB_RUN_TASK = "annotations.tasks.export_job_run_task"
EXPORT_JOBS_REAP_TASK = "annotations.tasks.export_jobs_reap_task"
JUDGE_CHUNK_TASK = "annotations.tasks.judge_chunk_task"
JUDGE_CHUNKS_REAP_TASK = "annotations.tasks.judge_chunks_reap_task"


def import_job_run_enqueue(*, job_id: int) -> None:
    """Queue the run of an import job after the current transaction commits."""
    outbox = ImportJob.objects.filter(pk=job_id)
    enqueue_on_commit(IMPORT_JOB_RUN_TASK, job_id, outbox=outbox)


def import_job_run_send(*, job_id: int) -> None:
    """Queue the run of an import job now (the reaper, outside any transaction)."""
    send(IMPORT_JOB_RUN_TASK, job_id, outbox=ImportJob.objects.filter(pk=job_id))


def judge_chunk_enqueue(*, chunk_id: int) -> None:
    """Queue one chunk of a judge run after the current transaction commits."""
    outbox = JudgeRunChunk.objects.filter(pk=chunk_id)
    enqueue_on_commit(JUDGE_CHUNK_TASK, chunk_id, outbox=outbox)


def judge_chunk_send(*, chunk_id: int) -> None:
    """Queue one chunk of a judge run now (the reaper, outside any transaction)."""
    send(JUDGE_CHUNK_TASK, chunk_id, outbox=JudgeRunChunk.objects.filter(pk=chunk_id))


def export_job_run_enqueue(*, job_id: int) -> None:
    """Queue the run of an export job after the current transaction commits."""
    enqueue_on_commit(EXPORT_JOB_RUN_TASK, job_id, outbox=ExportJob.objects.filter(pk=job_id))


def export_job_run_send(*, job_id: int) -> None:
    """Queue the run of an export job now (the reaper, outside any transaction)."""
    send(EXPORT_JOB_RUN_TASK, job_id, outbox=ExportJob.objects.filter(pk=job_id))
