"""People make and revoke their own API tokens on the API tokens page."""

import re

from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def api_status(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(reverse("api:project-list")).status_code


def test_it_links_the_token_page_from_the_user_menu(client, annotator):
    client.force_login(annotator)
    page = client.get(reverse("annotations:project-list")).content.decode()
    assert f'href="{reverse("tokens")}"' in page


def test_it_makes_a_token_that_works_and_shows_it_once(client, annotator, project):
    client.force_login(annotator)
    made = client.post(reverse("tokens"))
    assert made["Cache-Control"] == "no-store"
    key = re.search(r'id="token-key">([0-9a-f]{40})<', made.content.decode()).group(1)
    assert api_status(key) == 200
    again = client.get(reverse("tokens")).content.decode()
    assert key not in again and "You have a token" in again


def test_it_replaces_and_revokes_a_token(client, annotator, project):
    client.force_login(annotator)
    client.post(reverse("tokens"))
    old = Token.objects.get(user=annotator).key
    client.post(reverse("tokens"))
    new = Token.objects.get(user=annotator).key
    assert new != old and api_status(old) == 401 and api_status(new) == 200
    client.post(reverse("token-revoke"))
    assert not Token.objects.filter(user=annotator).exists() and api_status(new) == 401


def test_it_touches_only_the_users_own_token(client, annotator, lead):
    theirs = Token.objects.create(user=lead)
    client.force_login(annotator)
    client.post(reverse("tokens"))
    client.post(reverse("token-revoke"))
    assert Token.objects.get(user=lead) == theirs


def test_it_sends_an_anonymous_visitor_to_log_in(client, db):
    assert client.get(reverse("tokens")).status_code == 302
    assert client.post(reverse("token-revoke")).status_code == 302
    assert not Token.objects.exists()
