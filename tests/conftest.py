"""Shared fixtures: personas (lead, annotator, second_annotator, outsider) and service checks.

Suites that need PostgreSQL or a real broker are marked `postgres` / `worker` and skip with a
reason when DATABASE_URL / CELERY_BROKER_URL do not point at them. With REQUIRE_SERVICES=1
(set by .ci/run) a skip becomes a failure, so CI cannot pass by skipping them.
"""

import os

import pytest
from hypothesis import settings as hypothesis_settings

# The fuzz tests draw the same examples on every run of `make test` and CI, so a red run is
# reproducible and a green one is not luck. `make fuzz` (profile "explore") draws new ones each
# run and prints a reproduce blob for anything it finds; run it by hand after changing an input
# path. Loaded here, before any test module builds its @settings on the default profile.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("django"):
        return
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_broker = bool(settings.CELERY_BROKER_URL)
    require = os.environ.get("REQUIRE_SERVICES") == "1"
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            if require:
                raise pytest.UsageError("REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "worker" in item.keywords and not (has_broker and on_postgres):
            if require:
                raise pytest.UsageError("REQUIRE_SERVICES=1 but no broker/PostgreSQL configured")
            item.add_marker(
                pytest.mark.skip(reason="needs Redis and PostgreSQL: set CELERY_BROKER_URL")
            )


@pytest.fixture(autouse=True)
def media_in_tmp(request: pytest.FixtureRequest, tmp_path_factory) -> None:
    """Uploads go to a temporary folder, never into the project."""
    if request.config.pluginmanager.hasplugin("django"):
        settings = request.getfixturevalue("settings")
        settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture
def project(db):
    from annotations.models import Project

    return Project.objects.create(name="Demo study", slug="demo-study")


def _user(django_user_model, username: str):
    return django_user_model.objects.create_user(username=username, password="pw-" + username)


def _member(user, project, role: str, group: str) -> None:
    # Imported here so that the pure statistics tests run without Django (-p no:django).
    from annotations.models import Membership

    Membership.objects.create(user=user, project=project, role=role, rater_group=group)


@pytest.fixture
def lead(db, django_user_model, project):
    user = _user(django_user_model, "alice")
    _member(user, project, "lead", "expert")
    return user


@pytest.fixture
def annotator(db, django_user_model, project):
    user = _user(django_user_model, "bob")
    _member(user, project, "annotator", "expert")
    return user


@pytest.fixture
def second_annotator(db, django_user_model, project):
    user = _user(django_user_model, "charlie")
    _member(user, project, "annotator", "crowd")
    return user


@pytest.fixture
def outsider(db, django_user_model):
    return _user(django_user_model, "mallory")


@pytest.fixture
def on_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture
def eager_celery():
    """Run tasks in-process even when a broker is configured (the worker suites test the rest)."""
    from judgeapp.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def api_throttles_off(request: pytest.FixtureRequest) -> None:
    """The API throttles count requests across a test (hypothesis sends hundreds a second
    from one user): off here, on in the tests that test them (tests/test_security.py)."""
    if (
        request.config.pluginmanager.hasplugin("django")
        and "no_throttle_off" not in request.keywords
    ):
        settings = request.getfixturevalue("settings")
        settings.API_THROTTLE_RATES = {"anon": None, "user": None}
