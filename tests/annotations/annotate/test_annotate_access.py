"""Annotators read and judge only items of their own queue; everything else is a 404."""

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.annotate import services
from annotations.models import Assignment, Item
from tests.annotations.annotate.conftest import next_assignment


def page(name, *args):
    return reverse(f"annotations:annotate:{name}", args=args)


def api(name, *args):
    return reverse(f"api:assignment-{name}", args=args)


def item_urls(slug: str, item_id: int) -> list[tuple[str, str]]:
    return [
        ("get", page("item", slug, item_id)),
        ("post", page("submit", slug, item_id)),
        ("post", page("skip", slug, item_id)),
        ("post", page("flag", slug, item_id)),
        ("get", api("detail", slug, item_id)),
        ("post", api("submit", slug, item_id)),
        ("post", api("skip", slug, item_id)),
    ]


def assert_all_404(client, slug, item_id):
    for method, url in item_urls(slug, item_id):
        data = {"submission_id": str(uuid.uuid4()), "labels": [], "reason": "x"}
        response = (
            getattr(client, method)(url, data, format="json")
            if method == "post"
            else client.get(url)
        )
        assert response.status_code == 404, (method, url, response.status_code)


@pytest.fixture
def bob(annotator):
    client = APIClient()
    client.force_login(annotator)
    return client


def test_it_hides_another_annotators_item(bob, study, second_annotator):
    theirs = next_assignment(second_annotator, study)
    assert_all_404(bob, study.slug, theirs.item_id)
    assert Assignment.objects.get(pk=theirs.pk).status == "assigned"


def test_it_hides_an_item_never_assigned_to_the_annotator(bob, study):
    item = Item.objects.filter(project=study).first()
    assert_all_404(bob, study.slug, item.pk)


def test_it_hides_an_item_of_another_project_even_one_assigned_there(
    bob, study, pairs, bob_in_pairs
):
    mine_elsewhere = next_assignment(bob_in_pairs, pairs)
    assert_all_404(bob, study.slug, mine_elsewhere.item_id)


def test_it_hides_projects_the_user_is_not_a_member_of(study, outsider, pairs):
    client = APIClient()
    client.force_login(outsider)
    for url in (
        page("queue", study.slug),
        page("guidelines", study.slug),
        page("previous", study.slug),
    ):
        assert client.get(url).status_code == 404
    assert client.post(page("next", study.slug)).status_code == 404
    assert client.post(api("next", study.slug)).status_code == 404
    assert not Assignment.objects.exists()


def test_it_hides_an_item_once_skipped(bob, study, annotator):
    assignment = next_assignment(annotator, study)
    services.assignment_skip(assignment=assignment, reason="")
    assert_all_404(bob, study.slug, assignment.item_id)


def test_it_hides_the_queue_from_a_removed_member(bob, study, annotator):
    assignment = next_assignment(annotator, study)
    study.memberships.filter(user=annotator).delete()
    assert_all_404(bob, study.slug, assignment.item_id)


def test_it_hides_lead_pages_from_annotators_and_outsiders(bob, study, outsider):
    # A member is told the page is for leads; to anyone else the project does not exist.
    for name in ("lead",):
        assert bob.get(page(name, study.slug)).status_code == 403
    for name in ("lead-settings", "lead-annotator-add", "lead-gold-set"):
        assert bob.post(page(name, study.slug), {}).status_code == 403
    assert bob.post(page("lead-flag-release", study.slug, 1)).status_code == 403
    bob.force_login(outsider)
    assert bob.get(page("lead", study.slug)).status_code == 404
    assert bob.post(page("lead-gold-set", study.slug), {}).status_code == 404
