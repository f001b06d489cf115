"""Blindness: no annotator-facing response shows a model's or a colleague's judgement.

Secrets are seeded into model judgements (values' rationales and meta), another annotator's
rationale, item meta, items' external ids (which name models and subsets) and a gold item's
expected labels; then every annotator URL and API
endpoint is fetched, including error responses, and none may contain them.
"""

import re
import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.annotate import selectors, services
from annotations.judges import services as judge_services
from annotations.judges.models import JudgeAnswer, JudgeConfig
from annotations.models import Assignment, Judgement
from tests.annotations.annotate.conftest import (
    COLLEAGUE_SECRET,
    SECRET,
    item_label,
    next_assignment,
    step_labels,
    submit_answers,
)

GOLD_SECRET = "GOLD-SECRET-5c21"
JUDGE_SECRET = "JUDGE-CONFIG-SECRET-0a7e"  # a judge configuration's name and template
PROMPT_SECRET = "RENDERED-PROMPT-SECRET-66d2"
RAW_SECRET = "RAW-ANSWER-SECRET-b41c"
EXTERNAL_ID_SECRET = "q157-gpt-4-vs-EXTID-SECRET-e3d9"  # as MT-bench's ids name the models


def seed_platform_judge(project) -> None:
    """A judge run from the platform: its configuration, rendered prompts and raw answers."""
    spec = judge_services.JudgeSpec(
        name="checker", provider="checker", model="", template="answer-check", group="checker"
    )
    config = judge_services.judge_config_create(project=project, spec=spec, user=None)
    JudgeConfig.objects.filter(pk=config.pk).update(
        name=JUDGE_SECRET, system_text=JUDGE_SECRET, template_text=JUDGE_SECRET
    )
    criterion = project.criteria.get(name="solution_correct")
    for item in project.items.all():
        JudgeAnswer.objects.create(
            ask_key=config.ask_key, config=config, criterion=criterion, item=item,
            prompt=f"{PROMPT_SECRET} {item.prompt}", raw=f"passed: false\n{RAW_SECRET}",
        )  # fmt: skip


@pytest.fixture
def seeded(study, annotator, second_annotator, lead):
    """Bob and charlie share every item (k=2); charlie has judged first with a secret."""
    services.project_annotation_set(project=study, overlap=2, error_ends_solution=False)
    study.guidelines = "Judge each step."
    study.save()
    item = study.items.get(external_id="s3")
    services.gold_set(item=item, expected={"solution_correct": "no"}, user=lead)
    item.gold.expected["note"] = GOLD_SECRET  # what a careless lead might store
    item.gold.save()
    while (theirs := next_assignment(second_annotator, study)) is not None:
        submit_answers(
            theirs,
            step_labels(theirs.item, ["incorrect"] * 3)
            + [item_label(theirs.item, "solution_correct", "no")],
            rationale=COLLEAGUE_SECRET,
        )
    seed_platform_judge(study)
    for item in study.items.all():
        item.external_id = f"{EXTERNAL_ID_SECRET}-{item.external_id}"
        item.save(update_fields=["external_id"])
    return study


SECRETS = (
    SECRET,
    COLLEAGUE_SECRET,
    GOLD_SECRET,
    JUDGE_SECRET,
    PROMPT_SECRET,
    RAW_SECRET,
    EXTERNAL_ID_SECRET,
)


def assert_blind(response) -> None:
    body = response.content.decode()
    for secret in SECRETS:
        assert secret not in body, (response.request["PATH_INFO"], secret)


def test_it_shows_an_annotator_nothing_of_models_or_colleagues(seeded, annotator):
    client = APIClient()
    client.force_login(annotator)
    slug = seeded.slug
    annotate = "annotations:annotate:"
    seen = []

    def get(url):
        response = client.get(url, follow=True)
        assert_blind(response)
        seen.append(url)
        return response

    def post(url, data=None, fmt=None, **headers):
        response = client.post(url, data or {}, format=fmt, headers=headers)
        assert_blind(response)
        seen.append(url)
        return response

    get(reverse(annotate + "queue", args=[slug]))
    get(reverse(annotate + "guidelines", args=[slug]))
    get(reverse("annotations:project-detail", args=[slug]))
    post(reverse(annotate + "next", args=[slug]))
    api_item = post(reverse("api:assignment-next", args=[slug])).json()
    assert_blind(get(api_item["url"]))
    item_id = api_item["item"]
    item_url = reverse(annotate + "item", args=[slug, item_id])
    page = get(item_url).content.decode()
    # A fresh item shows no answer at all, although a model and charlie labelled it.
    assert " checked" not in page
    assert all(q["value"] is None for q in api_item["questions"])
    # Error responses: a wrong value, a missing answer, an unknown criterion.
    submit_url = reverse(annotate + "submit", args=[slug, item_id])
    names = dict.fromkeys(re.findall(r'type="radio" name="([^"]+)"', page))
    form = {name: "1" for name in names} | {"submission_id": str(uuid.uuid4())}
    post(submit_url, {k: v for k, v in form.items() if not k.startswith("s0")})
    post(
        submit_url,
        {k: v for k, v in form.items() if not k.startswith("s0")},
        accept="application/json",
    )
    post(submit_url, form | {next(iter(names)): "9"}, accept="application/json")
    api_submit = api_item["submit_url"]
    sid = str(uuid.uuid4())
    post(
        api_submit,
        {"submission_id": sid, "labels": [{"criterion": "validity", "step": 0, "value": "x"}]},
        "json",
    )
    post(
        api_submit, {"submission_id": sid, "labels": [{"criterion": "nope", "value": "x"}]}, "json"
    )
    post(api_submit, {"submission_id": sid, "labels": []}, "json")
    # The whole queue: submit through the page, then through the API, skip one, edit one.
    post(submit_url, form, accept="application/json")
    get(reverse(annotate + "previous", args=[slug]))
    get(item_url)
    assert_blind(get(reverse("api:assignment-detail", args=[slug, item_id])))
    while (nxt := client.post(reverse("api:assignment-next", args=[slug]))).status_code == 200:
        assert_blind(nxt)
        item = nxt.json()
        assert_blind(get(reverse(annotate + "item", args=[slug, item["item"]])))
        labels = [
            {"criterion": q["criterion"], "step": q["step"], "value": q["labels"][0]}
            for q in item["questions"]
        ]
        post(item["submit_url"], {"submission_id": str(uuid.uuid4()), "labels": labels}, "json")
        post(item["skip_url"], {}, "json")  # refused: already submitted
    post(reverse(annotate + "next", args=[slug]))
    get(reverse(annotate + "queue", args=[slug]))
    assert Assignment.objects.filter(user=annotator, status="submitted").count() == 4
    # The lead's pages that show judges, prompts, raw answers and everyone's labels: not found.
    lead_only = [
        reverse("annotations:review:targets", args=[slug]),
        reverse("annotations:review:targets", args=[slug]) + "?group_a=expert&group_b=gpt-4",
        reverse("annotations:review:items", args=[slug]),
        reverse("annotations:review:item", args=[slug, item_id]),
        reverse("annotations:judges:list", args=[slug]),
        reverse("annotations:annotate:lead", args=[slug]),
    ]
    for url in lead_only:
        assert get(url).status_code in (403, 404), url
    assert len(seen) > 25


def test_it_builds_item_sheets_from_the_annotators_own_judgements_only(seeded, annotator):
    assignment = next_assignment(annotator, seeded)
    assert Judgement.objects.filter(item=assignment.item).exclude(rater__user=annotator).exists()
    sheet = selectors.item_sheet_get(assignment=assignment)
    assert [g.current for g in sheet.groups] == [""] * 4
    assert sheet.rationale == ""


def test_it_shows_the_judges_prompts_and_raw_answers_to_a_lead_only(client, seeded, lead):
    """The secrets the crawl looks for are on the lead's pages, so the crawl can catch a leak."""
    client.force_login(lead)
    item = seeded.items.first()
    page = client.get(reverse("annotations:review:item", args=[seeded.slug, item.pk]))
    body = page.content.decode()
    assert PROMPT_SECRET in body and RAW_SECRET in body and COLLEAGUE_SECRET in body
    assert EXTERNAL_ID_SECRET in body  # leads keep the external ids
