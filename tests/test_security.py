"""Security headers, a CSP the pages keep (no inline scripts), login lockout on the page and
the admin, and API throttles (issue 11, defect 7)."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted(
    p for app in ("judgeapp", "annotations", "analysis") for p in (ROOT / app).rglob("*.html")
)


@pytest.mark.django_db
def test_every_page_sends_the_security_headers(client, lead):
    client.force_login(lead)
    response = client.get(reverse("annotations:project-list"))

    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_api_and_the_login_page_send_them_too(client):
    for url in (reverse("login"), "/api/projects/"):
        response = client.get(url)
        assert "script-src 'self'" in response["Content-Security-Policy"], url
        assert "Permissions-Policy" in response, url


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_an_inline_script_or_event_handler(template):
    """The CSP forbids inline scripts: one left in a template would silently not run."""
    text = template.read_text()
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag, f"inline <script> in {template.name}: move it to a static file"
    assert not re.search(r"\son[a-z]+\s*=", text), f"an on* handler in {template.name}"
    assert "javascript:" not in text


def _fail_logins(client, url: str, username: str, times: int) -> None:
    for _ in range(times):
        response = client.post(url, {"username": username, "password": "wrong"})
        assert response.status_code in (200, 429)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_it_locks_a_login_out_after_too_many_wrong_passwords(
    client, django_user_model, url, settings
):
    django_user_model.objects.create_user("eve", password="right-password", is_staff=True)
    _fail_logins(client, url, "eve", settings.AXES_FAILURE_LIMIT)

    response = client.post(url, {"username": "eve", "password": "right-password"})

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_right_password_before_the_limit_logs_in_and_clears_the_count(
    client, django_user_model, settings
):
    django_user_model.objects.create_user("eve", password="right-password")
    _fail_logins(client, "/accounts/login/", "eve", settings.AXES_FAILURE_LIMIT - 1)

    response = client.post("/accounts/login/", {"username": "eve", "password": "right-password"})
    assert response.status_code == 302
    client.logout()
    _fail_logins(client, "/accounts/login/", "eve", settings.AXES_FAILURE_LIMIT - 1)
    response = client.post("/accounts/login/", {"username": "eve", "password": "right-password"})
    assert response.status_code == 302  # the count started again after the success


@pytest.mark.django_db
def test_a_lockout_for_one_user_does_not_lock_another(client, django_user_model, settings):
    django_user_model.objects.create_user("eve", password="right-password")
    django_user_model.objects.create_user("frank", password="right-password")
    _fail_logins(client, "/accounts/login/", "eve", settings.AXES_FAILURE_LIMIT)

    response = client.post("/accounts/login/", {"username": "frank", "password": "right-password"})
    assert response.status_code == 302


@pytest.mark.no_throttle_off
@pytest.mark.django_db
def test_the_api_answers_429_to_a_user_over_the_rate(client, lead, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_THROTTLE_RATES = {"anon": "3/min", "user": "5/min"}
    token = Token.objects.create(user=lead)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}

    codes = [client.get("/api/projects/", **auth).status_code for _ in range(6)]

    assert codes == [200] * 5 + [429]
    response = client.get("/api/projects/", **auth)
    assert int(response["Retry-After"]) > 0
