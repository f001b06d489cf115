"""Schemathesis: the OpenAPI schema fuzzed against a live server, as a lead and an annotator.

Every operation gets generated requests (bounded: `EXAMPLES` each) on a real project and item
(and, for a few, on ids that do not exist); every answer must not be a server error and must be
one the schema lists, with a body that matches it.
"""

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from analysis import services as analysis_services
from analysis.config import RunConfig
from annotations import services as annotations_services
from annotations.annotate import services as annotate_services
from annotations.judges import external
from annotations.models import Membership, Project
from annotations.services import items_import
from tests.factories import VALIDITY, judgement, solution, write_jsonl

EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_project(transactional_db, tmp_path, django_user_model) -> dict:
    project = Project.objects.create(name="Fuzz", slug="fuzz")
    lines = [VALIDITY] + [solution(f"s{i}", n_steps=2) for i in range(6)]
    lines += [judgement("s0", "validity", "correct", step=0, rater="expert_1")]
    items_import(project=project, paths=[write_jsonl(tmp_path / "in.jsonl", lines)])
    keys, items = {}, {}
    for role in ("lead", "annotator"):
        user = django_user_model.objects.create_user(username=role, password="pw")
        Membership.objects.create(user=user, project=project, role=role, rater_group="expert")
        keys[role] = f"Token {Token.objects.create(user=user).key}"
        # An item in the user's queue, so item, submit and skip get past the 404.
        items[role] = annotate_services.assignment_next(user=user, slug=project.slug).item.pk
    issued = external.rater_token_create(project=project, name="judge", group="judge", user=None)
    lead = django_user_model.objects.get(username="lead")
    upload = SimpleUploadedFile("in.jsonl", (tmp_path / "in.jsonl").read_bytes())
    job = annotations_services.import_job_create(
        project=project, user=lead, file=upload, format="native"
    )
    config = RunConfig.from_input({"n_boot": 0})
    run = analysis_services.agreement_run_start(project=project, user=lead, config=config)
    return {
        "slug": project.slug,
        "items": items,
        "keys": keys,
        "rater": f"Bearer {issued.key}",
        "ids": {"job_id": job.pk, "run_id": run.pk},
    }


def fuzz(strategy, *, base_url: str, headers: dict) -> None:
    """Send `EXAMPLES` generated requests of one operation; each answer must pass `CHECKS`."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case) -> None:
        response = case.call(base_url=base_url, headers=headers)
        case.validate_response(response, checks=CHECKS)

    run()


@pytest.mark.parametrize("role", ["lead", "annotator"])
def test_it_answers_every_generated_request_as_the_schema_says(live_server, fuzz_project, role):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    known = {"slug": fuzz_project["slug"], "item_id": fuzz_project["items"][role]}
    known |= fuzz_project["ids"]
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.path.endswith("/skip/"))  # skipping ends the item
    assert len(operations) >= 11
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        fixed = {name: known[name] for name in names if name in known}
        strategy = operation.as_strategy(path_parameters=fixed)
        # The schema's own scheme for the call: a user's token, or a model rater's key.
        key = fuzz_project["rater" if "bulk" in operation.path else "keys"]
        headers = {"Authorization": key if isinstance(key, str) else key[role]}

        fuzz(strategy, base_url=live_server.url, headers=headers)


def test_it_serves_the_schema_and_a_docs_page_without_a_cdn(client, db):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.1")
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            assert any(code.startswith("2") for code in codes), (path, method)
            assert {"401", "404"} & codes or path.endswith("/projects/"), (path, method)
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower() and "<script>" not in page  # no inline script (CSP)


def test_it_documents_every_api_endpoint(client, db):
    from django.urls import get_resolver

    documented = set(client.get("/api/schema/?format=json").json()["paths"])
    routes = set()
    for include in get_resolver().url_patterns:
        if str(include.pattern) == "api/":
            routes |= {"/api/" + str(p.pattern) for p in include.url_patterns}
    for converter in ("<slug:", "<int:", "<str:"):
        routes = {route.replace(converter, "{").replace(">", "}") for route in routes}
    assert "/api/projects/{slug}/annotate/items/{item_id}/submit/" in routes
    assert routes <= documented
