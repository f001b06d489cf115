"""The review pages: who may open them (every URL x role), what the item page shows a lead,
the walk to the next disagreement, query counts, and every parameter fuzzed (no 500)."""

import re

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import Item, Judgement, Rater
from tests.annotations.review.conftest import CANARY

pytestmark = pytest.mark.django_db


def review_urls(project) -> list[str]:
    item = Item.objects.filter(project=project).order_by("pk").first()
    slug = project.slug
    return [
        reverse("annotations:review:targets", args=[slug]),
        reverse("annotations:review:targets", args=[slug])
        + "?group_a=expert&group_b=gpt-4&agree=0",
        reverse("annotations:review:items", args=[slug]),
        reverse("annotations:review:items", args=[slug]) + "?q=s1&status=judged",
        reverse("annotations:review:item", args=[slug, item.pk]),
        reverse("annotations:review:item", args=[slug, item.pk]) + "?group_a=expert&group_b=gpt-4",
    ]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 404),
        ("outsider", 404),
        ("annotator", 403),  # members are told the pages are for the leads
        ("second_annotator", 403),
        ("staff_annotator", 403),  # staff who annotate here stay blind here
        ("lead", 200),
        ("staff", 200),
        ("superuser", 200),
    ],
)
def test_it_shows_the_review_pages_to_leads_and_staff_only(
    client, study, request, django_user_model, role, status
):
    if role == "superuser":
        client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    elif role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    for url in review_urls(study):
        response = client.get(url)
        assert response.status_code == status, (role, url)
        if status != 200:
            assert CANARY not in response.content.decode()


def test_it_hides_another_projects_items_from_its_lead(client, study, lead, django_user_model):
    from annotations.models import Project

    other = Project.objects.create(name="Other", slug="other")
    item = Item.objects.filter(project=study).first()
    client.force_login(lead)
    assert (
        client.get(reverse("annotations:review:item", args=[other.slug, item.pk])).status_code
        == 404
    )
    assert client.get(reverse("annotations:review:targets", args=[other.slug])).status_code == 404


def test_it_shows_a_lead_every_label_rationale_and_the_judges_raw_answers(client, study, lead):
    client.force_login(lead)
    item = Item.objects.get(project=study, external_id="s1")
    page = client.get(
        reverse("annotations:review:item", args=[study.slug, item.pk])
    ).content.decode()
    for step in range(3):
        assert f'id="step-{step}"' in page
        assert f"expert 0 on s1#{step}" in page  # each expert's rationale, per step
    for group in ("expert", "crowd", "gpt-4", "answer-check"):
        assert f'data-group="{group}"' in page
    assert f"{CANARY}-raw" in page and f"{CANARY}-prompt" in page
    assert "parsed: failed" in page  # the checker's parser read "passed: false"
    assert "11 + 3 tokens" in page
    assert "subset" in page and "math" in page  # the meta, for leads


def test_it_walks_to_the_next_and_previous_disagreement_keeping_the_filters(client, study, lead):
    client.force_login(lead)
    ids = dict(Item.objects.filter(project=study).values_list("external_id", "pk"))
    params = "criterion=validity&group_a=expert&group_b=gpt-4&agree=0"
    listing = client.get(reverse("annotations:review:targets", args=[study.slug]) + "?" + params)
    links = re.findall(
        r'href="/projects/[^/]+/review/items/(\d+)/\?([^"#]*)', listing.content.decode()
    )
    assert [int(pk) for pk, _ in links] == [ids["s0"], ids["s1"], ids["s3"], ids["s3"]]
    assert all(query.replace("&amp;", "&") == params for _, query in links)
    page = client.get(
        reverse("annotations:review:item", args=[study.slug, ids["s1"]]) + "?" + params
    )
    body = page.content.decode()
    assert re.search(rf'id="previous-target"[^>]*href="[^"]*/items/{ids["s0"]}/\?', body)
    assert re.search(rf'id="next-target"[^>]*href="[^"]*/items/{ids["s3"]}/\?', body)
    assert "2 of 3" in body
    # Without agree, the walk still goes from disagreement to disagreement (s2 has none).
    page = client.get(
        reverse("annotations:review:item", args=[study.slug, ids["s1"]])
        + "?criterion=validity&group_a=expert&group_b=gpt-4"
    )
    assert re.search(
        rf'id="next-target"[^>]*href="[^"]*/items/{ids["s3"]}/\?', page.content.decode()
    )


def _more_judgements(project, n_raters: int) -> None:
    """n_raters more crowd raters labelling every step: more rows, the same pages."""
    steps = list(
        Judgement.objects.filter(
            item__project=project, criterion__name="validity", rater__name="gpt-4"
        )
    )
    for r in range(n_raters):
        rater = Rater.objects.create(
            project=project, name=f"extra_{r}", kind="human", group="crowd"
        )
        Judgement.objects.bulk_create(
            Judgement(
                rater=rater,
                item_id=j.item_id,
                step_id=j.step_id,
                criterion_id=j.criterion_id,
                value="correct",
                code=0.0,
            )
            for j in steps
        )


@pytest.mark.parametrize(
    ("name", "query", "limit"),
    [
        ("targets", "", 10),
        (
            "targets",
            "?criterion=validity&slice=subset%3Dmath&group_a=expert&group_b=crowd&agree=0",
            10,
        ),
        ("items", "?q=s&meta=subset%3Dmath&status=judged&group=crowd", 10),
        ("item", "?group_a=expert&group_b=gpt-4", 16),
    ],
)
def test_it_reads_a_page_in_a_fixed_number_of_queries(
    client, study, lead, django_assert_max_num_queries, name, query, limit
):
    client.force_login(lead)
    item = Item.objects.filter(project=study).first()
    args = [study.slug, item.pk] if name == "item" else [study.slug]
    url = reverse(f"annotations:review:{name}", args=args) + query
    for extra in (0, 6):  # the same limit with six more raters on every step
        _more_judgements(study, extra)
        with django_assert_max_num_queries(limit):
            assert client.get(url).status_code == 200


PARAMS = [
    "criterion",
    "slice",
    "group_a",
    "group_b",
    "agree",
    "page",
    "q",
    "meta",
    "status",
    "group",
]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["validity", "expert", "gpt-4", "crowd", "0", "1", "turn=2", "step_position=1-2",
         "solution_length=12+", "a=b=c", "=", "x\x00y", "9" * 30, "-1", "judged", "gold", "flagged"]
    ),
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(params=st.dictionaries(st.sampled_from(PARAMS), VALUES, max_size=6))
def test_it_answers_any_parameters_without_a_server_error(client, study, lead, params):
    client.force_login(lead)
    item = Item.objects.filter(project=study).first()
    for url in (
        reverse("annotations:review:targets", args=[study.slug]),
        reverse("annotations:review:items", args=[study.slug]),
        reverse("annotations:review:item", args=[study.slug, item.pk]),
    ):
        response = client.get(url, params)
        assert response.status_code in (200, 400), (url, params, response.status_code)
