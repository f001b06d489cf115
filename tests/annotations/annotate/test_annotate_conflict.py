"""Two tabs on one item, the count of what is left, the tab title, the criteria a form asked,
and the import format page: the pages and the API, through the test client."""

import re
import uuid

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotations.audit import AuditAction, AuditEvent
from annotations.importers import format_docs, native
from annotations.models import Assignment, Judgement
from tests.annotations.annotate.conftest import import_lines

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"annotations:annotate:{name}", args=args)


@pytest.fixture
def bob(client, annotator):
    client.force_login(annotator)
    return client


def claim(client, project) -> str:
    return client.post(url("next", project.slug)).url


def page_form(page: str, choice: str = "0", **extra) -> dict:
    """The item form as the page renders it (hidden fields included), every group answered."""
    data = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    data.pop("csrfmiddlewaretoken", None)
    data.update(submission_id=str(uuid.uuid4()), rationale="", time_spent_ms="10")
    for name in dict.fromkeys(re.findall(r'type="radio" name="([^"]+)"', page)):
        data[name] = choice
    data.update(extra)
    return data


JSON = {"accept": "application/json"}


def stored_version(user, item_url: str):
    item_id = int(item_url.rstrip("/").rsplit("/", 1)[1])
    return Assignment.objects.get(user=user, item_id=item_id).submission_id


def test_it_refuses_the_second_tabs_different_answers_with_a_409_and_the_stored_values(
    bob, study, annotator
):
    item = claim(bob, study)
    page = bob.get(item).content.decode()
    tab1, tab2 = page_form(page, "0"), page_form(page, "1")  # two tabs, opened together
    assert bob.post(item + "submit/", tab1, headers=JSON).status_code == 200
    refused = bob.post(item + "submit/", tab2, headers=JSON)
    assert refused.status_code == 409
    body = refused.json()
    assert "another tab" in body["detail"]
    assert 'Stored: step 1, validity: "correct"' in body["errors"]
    assert body["conflict"]["version"] == str(stored_version(annotator, item))
    assert set(Judgement.objects.filter(rater__user=annotator).values_list("value", flat=True)) == {
        "correct",
        "yes",
    }
    # Without JavaScript: the page again, the posted answers kept, the stored ones listed.
    html = bob.post(item + "submit/", tab2)
    assert html.status_code == 409
    text = html.content.decode()
    assert (
        'id="overwrite-button"' in text and "Stored: step 2, validity: &quot;correct&quot;" in text
    )
    assert text.count(" checked") == 4 and f'value="{tab2["submission_id"]}"' in text
    assert 'name="base_submission_id" value=""' in text  # still the version it was made against


def test_it_stores_the_second_tabs_answers_once_the_overwrite_is_confirmed(bob, study, annotator):
    item = claim(bob, study)
    page = bob.get(item).content.decode()
    bob.post(item + "submit/", page_form(page, "0"), headers=JSON)
    tab2 = page_form(page, "1")
    version = bob.post(item + "submit/", tab2, headers=JSON).json()["conflict"]["version"]
    confirmed = bob.post(item + "submit/", {**tab2, "overwrite": version}, headers=JSON)
    assert confirmed.status_code == 200
    values = set(Judgement.objects.filter(rater__user=annotator).values_list("value", flat=True))
    assert values == {"incorrect", "no"}
    event = AuditEvent.objects.get(action=AuditAction.ANSWERS_OVERWRITE)
    assert event.actor == annotator and event.detail["replaced"] == version


def test_it_keeps_a_resubmit_of_the_same_answers_and_an_edit_through_u_working(
    bob, study, annotator
):
    item = claim(bob, study)
    page = bob.get(item).content.decode()
    first = page_form(page, "0")
    assert bob.post(item + "submit/", first, headers=JSON).status_code == 200
    assert bob.post(item + "submit/", first, headers=JSON).status_code == 200  # a retry
    same = page_form(page, "0")  # another tab, same answers: nothing to refuse
    assert bob.post(item + "submit/", same, headers=JSON).status_code == 200
    assert bob.get(url("previous", study.slug)).url == item  # `u`
    edit_page = bob.get(item).content.decode()
    assert f'name="base_submission_id" value="{stored_version(annotator, item)}"' in (edit_page)
    assert bob.post(item + "submit/", page_form(edit_page, "1"), headers=JSON).status_code == 200
    assert Judgement.objects.filter(rater__user=annotator, step=None).get().value == "no"
    assert not AuditEvent.objects.filter(action=AuditAction.ANSWERS_OVERWRITE).exists()


def test_it_applies_the_same_rule_to_the_api_when_it_names_its_base(study, annotator):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=annotator).key}")
    sheet = api.post(reverse("api:assignment-next", args=[study.slug])).json()
    assert sheet["version"] is None

    def body(value, whole, **extra):
        labels = [
            {"criterion": q["criterion"], "step": q["step"], "value": whole}
            if q["step"] is None
            else {"criterion": q["criterion"], "step": q["step"], "value": value}
            for q in sheet["questions"]
        ]
        return {"submission_id": str(uuid.uuid4()), "labels": labels, **extra}

    ok = api.post(sheet["submit_url"], body("correct", "yes", base_submission_id=None), "json")
    assert ok.status_code == 200
    refused = api.post(
        sheet["submit_url"], body("incorrect", "no", base_submission_id=None), "json"
    )
    assert refused.status_code == 409
    version = refused.json()["conflict"]["version"]
    assert api.get(sheet["url"]).json()["version"] == version
    again = body("incorrect", "no", base_submission_id=None, overwrite=version)
    assert api.post(sheet["submit_url"], again, "json").status_code == 200
    assert api.post(sheet["submit_url"], body("correct", "yes"), "json").status_code == 200


def test_it_counts_what_is_left_the_same_on_the_queue_and_the_item_page(bob, study, annotator):
    queue = bob.get(url("queue", study.slug)).content.decode()
    item = bob.get(claim(bob, study)).content.decode()
    left = re.compile(r'<span class="count">([^<]+)</span> left')
    assert left.search(queue).group(1) == left.search(item).group(1) == "4"


def test_it_names_the_item_in_the_tab_title_not_its_position(bob, study):
    item = claim(bob, study)
    item_id = int(item.rstrip("/").rsplit("/", 1)[1])
    title = re.search(r"<title>(.*?)</title>", bob.get(item).content.decode()).group(1)
    assert title.startswith(f"Item #{item_id} · ")


def test_it_keeps_an_open_form_to_the_criteria_it_asked(bob, study, annotator, tmp_path):
    item = claim(bob, study)
    page = bob.get(item).content.decode()
    extra = {"type": "criterion", "name": "clarity", "target": "item", "scale": "ordinal"}
    import_lines(study, tmp_path, [{**extra, "labels": [1, 2, 3]}], name="more.jsonl")
    response = bob.post(item + "submit/", page_form(page), headers=JSON)
    assert response.status_code == 200
    assert Judgement.objects.filter(rater__user=annotator).count() == 4
    # A form whose criterion is gone meanwhile is told so, clearly.
    second = claim(bob, study)
    stale = page_form(bob.get(second).content.decode())
    stale["criteria"] += ",987654"
    refused = bob.post(second + "submit/", stale, headers=JSON)
    assert refused.status_code == 400
    assert "questions changed since the page was opened" in refused.json()["detail"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    base=st.one_of(st.just(""), st.uuids().map(str), st.text(max_size=40)),
    overwrite=st.one_of(st.just(""), st.uuids().map(str), st.text(max_size=40)),
    criteria=st.one_of(st.just(""), st.text(alphabet="0123456789,-x ", max_size=40)),
)
def test_it_answers_any_posted_version_and_criteria_without_a_500(
    bob, study, annotator, base, overwrite, criteria
):
    assignment = Assignment.objects.filter(user=annotator).first()
    item = url("item", study.slug, assignment.item_id) if assignment else claim(bob, study)
    page = bob.get(item).content.decode()
    before = list(Judgement.objects.filter(rater__user=annotator).values_list("pk", "value"))
    data = page_form(page, base_submission_id=base, overwrite=overwrite, criteria=criteria)
    response = bob.post(item + "submit/", data, headers=JSON)
    assert response.status_code in (200, 400, 409)
    after = list(Judgement.objects.filter(rater__user=annotator).values_list("pk", "value"))
    assert response.status_code == 200 or after == before


def test_it_shows_the_import_format_with_every_field_and_examples_that_parse(client, lead):
    client.force_login(lead)
    page = client.get(reverse("annotations:import-format")).content.decode()
    for line in format_docs.import_format_docs():
        assert f"&quot;type&quot;: &quot;{line.type}&quot;" in page
        for field in line.fields:
            assert f"<code>{field.name}</code>" in page
    records = list(native.parse_lines(format_docs.EXAMPLES, source="example"))
    assert len(records) == len(format_docs.EXAMPLES)
    assert {type(r).__name__ for r in records} == {
        "CriterionRecord",
        "ItemRecord",
        "JudgementRecord",
        "ScoreRecord",
    }


def test_it_links_the_import_form_to_the_format_page(client, study, lead):
    client.force_login(lead)
    page = client.get(reverse("annotations:project-detail", args=[study.slug])).content.decode()
    assert f'href="{reverse("annotations:import-format")}"' in page
    assert "README" not in page
