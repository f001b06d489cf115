"""The HTML pages of the annotator interface and the lead page."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from annotations.annotate import services
from annotations.annotate.rules import LabelInput, Submission
from annotations.models import Assignment, GoldItem, Judgement, Membership
from tests.annotations.annotate.conftest import next_assignment


def url(name, *args):
    return reverse(f"annotations:annotate:{name}", args=args)


@pytest.fixture
def bob(client, annotator):
    client.force_login(annotator)
    return client


def claim(client, project):
    response = client.post(url("next", project.slug))
    assert response.status_code == 302
    return response.url


def form_data(page: str, choose: dict | None = None) -> dict:
    """The item form as a browser would post it, picking the first choice of every group."""
    data = {"submission_id": str(uuid.uuid4()), "rationale": "ok", "time_spent_ms": "1200"}
    for name in dict.fromkeys(re.findall(r'type="radio" name="([^"]+)"', page)):
        data[name] = "0"
    data.update(choose or {})
    return data


def test_it_shows_the_queue_with_a_start_button(bob, study):
    response = bob.get(url("queue", study.slug))
    assert response.status_code == 200
    assert b"0</span> done" in response.content
    assert b'id="start-button"' in response.content


def test_it_sends_anonymous_users_to_log_in(client, study):
    response = client.get(url("queue", study.slug))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_claims_only_on_post(bob, study):
    assert bob.get(url("next", study.slug)).status_code == 405
    assert not Assignment.objects.exists()
    location = claim(bob, study)
    assert location == url("item", study.slug, Assignment.objects.get().item_id)


def test_it_renders_a_solution_with_steps_key_hints_and_escaped_text(bob, study):
    page = bob.get(claim(bob, study)).content.decode()
    assert page.count('class="step"') == 3
    assert page.count('role="radiogroup"') == 4  # 3 steps + the whole solution
    assert (
        '<kbd aria-hidden="true">1</kbd>correct' in page
        and '<kbd aria-hidden="true">2</kbd>incorrect' in page
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    maths = '<span class="math inline">x</span> if <span class="math inline">x^2 = 4</span>'
    assert f"Find {maths}" in page
    assert "csrfmiddlewaretoken" in page
    assert "katex.min.js" in page and "annotate.js" in page
    assert " checked" not in page


def test_it_records_a_posted_form_and_redirects_to_the_next_item(bob, study, annotator):
    first = claim(bob, study)
    page = bob.get(first).content.decode()
    response = bob.post(first + "submit/", form_data(page))
    assert response.status_code == 302
    assert response.url != first and response.url.startswith(url("queue", study.slug) + "items/")
    rows = Judgement.objects.filter(rater__user=annotator)
    assert rows.count() == 4
    assert set(rows.values_list("value", flat=True)) == {"correct", "yes"}


def test_it_answers_fetch_with_json_and_the_next_url(bob, study):
    first = claim(bob, study)
    data = form_data(bob.get(first).content.decode())
    response = bob.post(first + "submit/", data, headers={"accept": "application/json"})
    assert response.status_code == 200
    assert response.json()["next_url"].startswith(url("queue", study.slug) + "items/")
    again = bob.post(first + "submit/", data, headers={"accept": "application/json"})
    assert again.json() == response.json()
    assert Judgement.objects.filter(rater__user__username="bob").count() == 4


def test_it_reports_missing_answers_as_json_and_keeps_the_posted_form(bob, study):
    first = claim(bob, study)
    data = form_data(bob.get(first).content.decode())
    missing = next(k for k in data if k.startswith("s1-"))
    del data[missing]
    response = bob.post(first + "submit/", data, headers={"accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"] == ["Step 2 needs a label for validity."]
    page = bob.post(first + "submit/", data)
    assert page.status_code == 400
    assert b"Step 2 needs a label for validity." in page.content
    assert page.content.count(b" checked") == 3
    assert data["submission_id"].encode() in page.content


def test_it_rejects_a_choice_that_is_not_a_button(bob, study):
    first = claim(bob, study)
    data = form_data(bob.get(first).content.decode())
    data[next(k for k in data if k.startswith("s0-"))] = "7"
    response = bob.post(first + "submit/", data, headers={"accept": "application/json"})
    assert response.status_code == 400
    assert "pick one of the buttons" in response.json()["detail"]


def test_it_enforces_csrf_on_fetch_and_accepts_the_header(study, annotator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    queue = client.get(url("queue", study.slug))
    token = queue.cookies["csrftoken"].value
    assert client.post(url("next", study.slug)).status_code == 403
    first = client.post(url("next", study.slug), {"csrfmiddlewaretoken": token}).url
    data = form_data(client.get(first).content.decode())
    assert client.post(first + "submit/", data).status_code == 403
    response = client.post(
        first + "submit/", data, headers={"x-csrftoken": token, "accept": "application/json"}
    )
    assert response.status_code == 200
    assert client.post(first + "skip/", {"reason": "x"}).status_code == 403


def test_it_skips_and_flags_and_moves_on(bob, study):
    first = claim(bob, study)
    response = bob.post(first + "skip/", {"reason": "too hard"})
    assert response.status_code == 302 and response.url != first
    assert bob.get(first).status_code == 404
    second = response.url
    assert bob.post(second + "flag/", {"reason": ""}).status_code == 302  # back to the item
    assert Assignment.objects.filter(status="flagged").count() == 0
    bob.post(second + "flag/", {"reason": "garbled"})
    assert Assignment.objects.filter(status="flagged").count() == 1


def test_it_goes_back_to_the_last_submission_to_edit_it(bob, study, annotator):
    first = claim(bob, study)
    bob.post(first + "submit/", form_data(bob.get(first).content.decode()))
    response = bob.get(url("previous", study.slug))
    assert response.url == first
    page = bob.get(first).content.decode()
    assert "You have submitted this item" in page
    assert page.count(" checked") == 4
    data = form_data(page, {next(k for k in form_data(page) if k.startswith("c")): "1"})
    bob.post(first + "submit/", data)
    assert Judgement.objects.filter(rater__user=annotator, step=None).get().value == "no"
    assert Judgement.objects.filter(rater__user=annotator).count() == 4


def test_it_renders_pairs_side_by_side_in_the_annotators_order(client, pairs, bob_in_pairs):
    client.force_login(bob_in_pairs)
    page = client.get(claim(client, pairs)).content.decode()
    assignment = Assignment.objects.get()
    assert "Answer A" in page and "Answer B" in page
    values = re.findall(r'type="radio" name="c\d+" value="(\w+)"', page)
    assert values == (["b", "a", "tie"] if assignment.swapped else ["a", "b", "tie"])
    assert (
        '<kbd aria-hidden="true">a</kbd>A is better' in page
        and '<kbd aria-hidden="true">t</kbd>Tie' in page
    )


def test_it_renders_guidelines_as_markdown_with_html_escaped(bob, study):
    study.guidelines = "# Rules\n\nA step is *wrong* if \\(x\\) is.\n\n<img src=x onerror=alert(1)>"
    study.save()
    page = bob.get(url("guidelines", study.slug)).content.decode()
    assert "<h1>Rules</h1>" in page and "<em>wrong</em>" in page
    assert '<span class="math inline">x</span>' in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    item_page = bob.get(claim(bob, study)).content.decode()
    assert '<dialog id="guidelines-dialog"' in item_page and "<h1>Rules</h1>" in item_page


def test_it_tells_the_annotator_when_nothing_is_left(bob, study):
    Assignment.objects.all().delete()
    study.items.all().delete()
    response = bob.post(url("next", study.slug), follow=True)
    assert b"Nothing is left for you" in response.content


# ---- lead page -------------------------------------------------------------------------------


@pytest.fixture
def alice(client, lead):
    client.force_login(lead)
    return client


def test_it_shows_leads_annotators_with_gold_accuracy(alice, study, annotator, lead):
    item = study.items.first()
    study.items.exclude(pk=item.pk).delete()  # the queue's order is random
    services.gold_set(item=item, expected={"solution_correct": "yes"}, user=lead)
    assignment = next_assignment(annotator, study)
    labels = [LabelInput("validity", i, "correct") for i in range(3)]
    labels.append(LabelInput("solution_correct", None, "yes"))
    services.assignment_submit(
        user=annotator,
        slug=study.slug,
        item_id=assignment.item_id,
        submission=Submission(uuid.uuid4(), labels),
    )
    page = alice.get(url("lead", study.slug)).content.decode()
    assert "1.00 (1/1)" in page
    assert "bob" in page and item.external_id in page


def test_it_lets_a_lead_set_overlap_add_annotators_and_mark_gold(alice, study, outsider):
    response = alice.post(
        url("lead-settings", study.slug), {"overlap": "3", "error_ends_solution": "on"}
    )
    assert response.status_code == 302
    study.refresh_from_db()
    assert (study.overlap, study.error_ends_solution) == (3, True)
    alice.post(url("lead-annotator-add", study.slug), {"username": "mallory", "rater_group": "x"})
    assert Membership.objects.get(user=outsider, project=study).rater_group == "x"
    response = alice.post(
        url("lead-gold-set", study.slug),
        {"external_id": "s1", "expected": '{"solution_correct": "no"}'},
    )
    assert response.status_code == 302
    assert GoldItem.objects.get().item.external_id == "s1"
    bad = alice.post(url("lead-gold-set", study.slug), {"external_id": "zz", "expected": "{}"})
    assert bad.status_code == 400


def test_it_lets_a_lead_release_a_flagged_item(alice, study, annotator):
    assignment = next_assignment(annotator, study)
    services.assignment_skip(assignment=assignment, reason="garbled", flag=True)
    assert b"garbled" in alice.get(url("lead", study.slug)).content
    alice.post(url("lead-flag-release", study.slug, assignment.pk))
    assert Assignment.objects.get().status == "skipped"


def test_it_hides_the_lead_page_from_annotators(bob, study):
    assert bob.get(url("lead", study.slug)).status_code == 403  # a member: "for the leads"
    response = bob.post(url("lead-settings", study.slug), {"overlap": "5"})
    assert response.status_code == 403


def test_it_lists_assignments_and_gold_items_in_the_admin(
    client, study, annotator, django_user_model
):
    admin = django_user_model.objects.create_superuser("root", password="pw-root")
    client.force_login(admin)
    next_assignment(annotator, study)
    services.gold_set(item=study.items.first(), expected={"solution_correct": "yes"}, user=admin)
    assert client.get("/admin/annotations/assignment/").status_code == 200
    assert client.get("/admin/annotations/golditem/").status_code == 200


def test_it_renders_a_response_with_an_interval_score_as_a_number_field(bob, project, tmp_path):
    from tests.annotations.annotate.conftest import import_lines

    score = {"type": "criterion", "name": "score", "target": "item", "scale": "interval",
             "min": 0, "max": 10}  # fmt: skip
    response = {"type": "item", "id": "r1", "kind": "response", "prompt": "p", "response": "$r$"}
    import_lines(project, tmp_path, [score, response])
    item_url = claim(bob, project)
    page = bob.get(item_url).content.decode()
    assert 'type="number"' in page and 'min="0"' in page and 'max="10"' in page
    assert '<h2 id="response-heading">Response</h2>' in page
    assert '<span class="math inline">r</span>' in page
    name = re.search(r'type="number" name="(c\d+)"', page).group(1)
    data = {"submission_id": str(uuid.uuid4()), name: "12"}
    response = bob.post(item_url + "submit/", data, headers={"accept": "application/json"})
    assert response.json()["detail"] == "score: 12 is outside 0 to 10."
    response = bob.post(item_url + "submit/", data | {name: "7"}, headers={"accept": "json"})
    assert response.status_code == 302


def test_it_offers_a_queue_only_to_members(study, annotator, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x")  # noqa: S106
    page = reverse("annotations:project-detail", args=[study.slug])
    client = Client()
    client.force_login(admin)
    content = client.get(page).content.decode()
    assert "annotate-link" not in content and "Annotators and gold" in content
    assert client.get(url("queue", study.slug)).status_code == 404
    Membership.objects.create(user=admin, project=study, role="lead")
    assert "annotate-link" in client.get(page).content.decode()
    client.force_login(annotator)
    content = client.get(page).content.decode()
    assert "annotate-link" in content and "Annotators and gold" not in content
