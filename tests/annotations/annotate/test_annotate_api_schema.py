"""The annotator API's hand-encoded answers match the OpenAPI schema, on both queue engines.

Next, item and submit are encoded directly (msgspec), not by the serializers the schema is made
from, so real answers are checked against the schema here.
"""

import os
import uuid

import pytest
from django.db import connection
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotations.models import Membership


@pytest.fixture(scope="module")
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def check(openapi: dict, response, path: str, method: str) -> None:
    """`response` is one of the answers the schema lists for the operation, with its body."""
    answers = openapi["paths"][path][method]["responses"]
    assert str(response.status_code) in answers, (path, response.status_code)
    content = answers[str(response.status_code)].get("content")
    if content is None:
        assert not response.content
        return
    schema = content["application/json"]["schema"]
    validator = Draft202012Validator({**openapi, **schema})
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(response.json())]
    assert not errors, (path, response.status_code, errors)


@pytest.fixture(params=["orm", "sql"])
def engine(request, settings) -> str:
    if request.param == "sql" and connection.vendor != "postgresql":
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but the SQL queue engine has no PostgreSQL")
        pytest.skip("the SQL queue engine needs PostgreSQL: set DATABASE_URL")
    settings.ANNOTATE_SQL_QUEUE = request.param == "sql"
    return request.param


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


BASE = "/api/projects/{slug}/annotate"
NEXT, ITEM = BASE + "/next/", BASE + "/items/{item_id}/"
SUBMIT, SKIP = ITEM + "submit/", ITEM + "skip/"


@pytest.mark.parametrize("project_fixture", ["study", "pairs"])
def test_it_answers_the_queue_calls_as_the_schema_says(
    request, openapi, engine, annotator, project_fixture
):
    project = request.getfixturevalue(project_fixture)
    Membership.objects.get_or_create(
        project=project, user=annotator, defaults={"role": "annotator", "rater_group": "expert"}
    )
    bob = token_client(annotator)
    next_url = reverse("api:assignment-next", args=[project.slug])
    first = bob.post(next_url)
    check(openapi, first, NEXT, "post")
    item = first.json()
    assert item["answers"] if project_fixture == "pairs" else item["steps"]
    check(openapi, bob.get(item["url"]), ITEM, "get")
    labels = [
        {"criterion": q["criterion"], "step": q["step"], "value": q["labels"][-1]}
        for q in item["questions"]
    ]
    body = {"submission_id": str(uuid.uuid4()), "labels": labels, "time_spent_ms": 5}
    stored = bob.post(item["submit_url"], body, format="json")
    assert stored.status_code == 200
    check(openapi, stored, SUBMIT, "post")
    check(openapi, bob.post(item["submit_url"], body, format="json"), SUBMIT, "post")  # repeat
    edited = bob.get(item["url"])
    assert all(q["value"] is not None for q in edited.json()["questions"])
    check(openapi, edited, ITEM, "get")
    # Errors: a bad value, a body that is not JSON, an item not in the queue, no credentials.
    bad = {"submission_id": str(uuid.uuid4()), "labels": [dict(labels[0], value="??")]}
    check(openapi, bob.post(item["submit_url"], bad, format="json"), SUBMIT, "post")
    check(openapi, bob.post(item["submit_url"], "x", content_type="text/plain"), SUBMIT, "post")
    check(openapi, bob.get(item["url"].replace(str(item["item"]), "0")), ITEM, "get")
    check(openapi, APIClient().post(next_url), NEXT, "post")
    check(openapi, bob.post(item["skip_url"], {}, format="json"), SKIP, "post")  # submitted
    while (nxt := bob.post(next_url)).status_code == 200:
        check(openapi, nxt, NEXT, "post")
        check(
            openapi, bob.post(nxt.json()["skip_url"], {"reason": "x"}, format="json"), SKIP, "post"
        )
    check(openapi, nxt, NEXT, "post")  # 204: nothing left
