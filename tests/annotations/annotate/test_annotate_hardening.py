"""Hostile bodies on the annotator API, and what a debug error page may show."""

import sys
import uuid

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.views.debug import ExceptionReporter
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotations.models import Judgement


@pytest.fixture
def bob_api(annotator):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=annotator).key}")
    return client


def nested(depth: int) -> bytes:
    return b'{"submission_id": "%s", "labels": [{"criterion": "validity", "value": %s%s}]}' % (
        str(uuid.uuid4()).encode(),
        b"[" * depth,
        b"]" * depth,
    )


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_it_refuses_a_deeply_nested_submit_body_with_a_400(bob_api, study, depth):
    item = bob_api.post(reverse("api:assignment-next", args=[study.slug])).json()
    response = bob_api.post(item["submit_url"], nested(depth), content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert not Judgement.objects.filter(rater__user__username="bob").exists()


def test_it_answers_a_deeply_nested_body_on_an_unknown_item_with_a_404(bob_api, study):
    url = reverse("api:assignment-submit", args=[study.slug, 999_999])
    response = bob_api.post(url, nested(5_000), content_type="application/json")
    assert response.status_code == 404


def test_it_refuses_a_deeply_nested_body_on_the_other_json_endpoints(bob_api, study):
    item = bob_api.post(reverse("api:assignment-next", args=[study.slug])).json()
    body = b'{"reason": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = bob_api.post(item["skip_url"], body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


# Random, so that the source lines the page quotes never hold them.
PASSWORDS = [f"pw-{uuid.uuid4().hex}" for _ in range(4)] + [f"user-{uuid.uuid4().hex}"]
SETTINGS_WITH_PASSWORDS = {
    "CELERY_BROKER_URL": f"redis://:{PASSWORDS[0]}@redis.internal:6379/0",
    "CACHE_URL": f"rediss://{PASSWORDS[4]}:{PASSWORDS[1]}@redis.internal:6380/1",
    "DATABASE_URL": f"postgres://judge:{PASSWORDS[2]}@db.internal/judgeapp",
    "PUBLIC_URL": "https://judgeapp.example/",
}
# runserver copies the process environment into every request's META
ENVIRONMENT = {"CELERY_BROKER_URL": f"redis://:{PASSWORDS[3]}@redis.internal:6379/0"}


def test_it_masks_the_passwords_in_url_settings_on_debug_pages():
    request = RequestFactory().get("/boom", **ENVIRONMENT)
    with override_settings(DEBUG=True, **SETTINGS_WITH_PASSWORDS):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            html = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    for password in PASSWORDS:
        assert password not in html
    assert "https://judgeapp.example/" in html  # a URL without credentials stays readable
    assert "CELERY_BROKER_URL" in html and "CACHE_URL" in html
