"""What the site answers where a request cannot go on: no credentials, no role, no favicon."""

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from rest_framework.test import APIClient


@pytest.mark.parametrize(
    "name,args",
    [
        ("api:project-list", []),
        ("api:import-create", ["demo-study"]),
        ("api:import-detail", [1]),
        ("analysis-api:run-create", ["demo-study"]),
        ("analysis-api:run-detail", [1]),
    ],
)
def test_it_answers_an_anonymous_api_call_with_a_401_and_a_challenge(db, name, args):
    response = APIClient().get(reverse(name, args=args))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


def test_it_still_takes_a_session_on_the_api(client, lead, project):
    client.force_login(lead)
    response = client.get(reverse("api:project-list"))
    assert response.status_code == 200 and response.json()[0]["slug"] == project.slug


@pytest.mark.parametrize(
    "url",
    [
        "/annotate/demo-study/lead/",
        "/projects/demo-study/review/items/",
        "/projects/demo-study/judges/",
        "/projects/demo-study/reports/",
    ],
)
def test_it_tells_an_annotator_that_a_lead_page_is_for_leads(client, annotator, url):
    client.force_login(annotator)
    response = client.get(url)
    assert response.status_code == 403, url
    body = response.content.decode()
    assert "for the project&#x27;s leads" in body and "No such project" not in body


def test_it_tells_an_annotator_on_the_api_that_a_lead_call_is_for_leads(annotator, project):
    api = APIClient()
    api.force_authenticate(annotator)
    response = api.post(reverse("analysis-api:run-create", args=[project.slug]), {}, "json")
    assert response.status_code == 403
    assert response.json() == {"detail": "This page is for the project's leads."}


def test_it_still_says_no_such_project_to_someone_outside_it(client, outsider, project):
    client.force_login(outsider)
    assert client.get("/annotate/demo-study/lead/").status_code == 404


def test_it_serves_a_favicon_linked_from_every_page(client, annotator, project):
    assert finders.find("judgeapp/favicon.ico")
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.url == "/static/judgeapp/favicon.ico"
    client.force_login(annotator)
    page = client.get(reverse("annotations:project-list")).content.decode()
    assert 'rel="icon" href="/static/judgeapp/favicon.ico"' in page
