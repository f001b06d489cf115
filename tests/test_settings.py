"""The settings module: runs with no environment, fails loudly on bad values, and production
settings pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checks():
    key = "x" * 60 + "-not-a-real-key-0123456789"
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="0", SECRET_KEY=key, ALLOWED_HOSTS="judge.example",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = manage("check", DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_names_the_variable_that_has_a_bad_value():
    result = manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_it_runs_with_no_environment_on_sqlite_and_eager_celery():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=base | {"DJANGO_SETTINGS_MODULE": "judgeapp.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True"], result.stderr


def test_redis_redelivers_no_task_while_it_may_still_run():
    from django.conf import settings

    from annotations.tasks import judge_chunk_task

    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timeout > judge_chunk_task.time_limit > settings.CELERY_TASK_TIME_LIMIT
    assert judge_chunk_task.time_limit == settings.JUDGE_CHUNK_SOFT_TIME_LIMIT + 60


def _blas_threads(**env: str) -> str:
    """OpenBLAS's thread count, asked of the library numpy loaded, in a fresh process that
    imports judgeapp first (as the worker, the web server and manage.py do)."""
    code = (
        "import judgeapp, ctypes, glob, os, numpy\n"
        "libs = os.path.join(os.path.dirname(numpy.__file__), os.pardir, 'numpy.libs')\n"
        "(path,) = glob.glob(os.path.join(libs, '*openblas*'))\n"
        "print(ctypes.CDLL(path).scipy_openblas_get_num_threads64_())\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base | env,
                         capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return out.stdout.strip()


def test_numpy_runs_one_blas_thread_per_process_unless_told_otherwise():
    # Two report chunks on two cores each spawned a BLAS thread per core and slowed each other.
    assert _blas_threads() == "1"
    assert _blas_threads(OPENBLAS_NUM_THREADS="2") == "2"
