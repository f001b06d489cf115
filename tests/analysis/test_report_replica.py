"""A streamed report's chunks read from the replica alias when DATABASE_REPLICA_URL is set.

The settings add the alias at start-up, so the check runs in a fresh process: a SQLite file is
both the primary and (under another alias, another connection) the "replica", and every query
of the run is captured per alias."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, django
django.setup()
from django.db import connections
from django.test.utils import CaptureQueriesContext
from analysis import services
from analysis.config import RunConfig
from annotations import services as annotation_services
from tests.analysis.test_runs import study_lines
from tests.factories import write_jsonl

project = annotation_services.project_get_or_create(name="replica")
path = write_jsonl(__import__("pathlib").Path(%(tmp)r) / "study.jsonl", study_lines(seed=3))
annotation_services.items_import(project=project, paths=[path])
config = RunConfig(slice_keys=(), n_boot=20, seed=1, chunk_items=%(chunk)d)
with CaptureQueriesContext(connections["default"]) as primary, \\
        CaptureQueriesContext(connections["replica"]) as replica:
    run = services.agreement_run_start(project=project, user=None, config=config)
run.refresh_from_db()
print(json.dumps({"status": run.status, "error": run.error,
                  "primary": [q["sql"] for q in primary.captured_queries],
                  "replica": [q["sql"] for q in replica.captured_queries]}))
"""


def _run(tmp_path: Path, *, chunk: int) -> dict:
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env |= {"DATABASE_URL": database, "DATABASE_REPLICA_URL": database,
            "DJANGO_SETTINGS_MODULE": "judgeapp.settings"}  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env,
                   check=True, timeout=300)  # fmt: skip
    code = SCRIPT % {"tmp": str(tmp_path), "chunk": chunk}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_streamed_report_reads_its_chunks_from_the_replica(tmp_path):
    result = _run(tmp_path, chunk=17)

    assert result["status"] == "done", result["error"]
    judgement_reads = [q for q in result["replica"] if '"annotations_judgement"' in q]
    assert judgement_reads and all(q.startswith("SELECT") for q in result["replica"])
    assert any('"annotations_item"' in q for q in result["replica"])
    # The primary plans, stores the sums and the rows; it reads no judgement.
    assert not [q for q in result["primary"] if 'FROM "annotations_judgement"' in q]
    assert any("analysis_agreementresult" in q for q in result["primary"])
