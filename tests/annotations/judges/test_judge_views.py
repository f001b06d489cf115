"""The lead's judge pages: configure, preview, run, watch, cancel; nobody else sees them."""

import pytest
from django.urls import reverse

from annotations.annotate import services as annotate_services
from annotations.judges.models import JudgeAnswer, JudgeConfig, JudgeRun
from annotations.models import Membership
from annotations.services import items_import
from tests.annotations.judges.fakes import FakeReply
from tests.factories import PREFERENCE, pair, write_jsonl

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]
CANARY = "RAW-ANSWER-CANARY-51f0"


@pytest.fixture
def study(project, tmp_path):
    lines = [PREFERENCE] + [pair(f"q{i}") for i in range(3)]
    items_import(project=project, paths=[write_jsonl(tmp_path / "p.jsonl", lines)])
    return project


@pytest.fixture
def alice(client, lead):
    client.force_login(lead)
    return client


def form(server, **extra) -> dict:
    return {
        "name": "fake", "provider": "openai", "model": "fake-model", "base_url": server.base_url,
        "template": "mtbench-pair", "system_text": "", "template_text": "", "temperature": "0",
        "samples": "1", "both_orders": "on", "concurrency": "2", "group": "llm-judge",
        "criterion": "preference", **extra,
    }  # fmt: skip


@pytest.fixture
def allowed(settings, openai_server):
    settings.JUDGE_ALLOWED_BASE_URLS = [openai_server.base_url]


def test_it_previews_the_prompt_and_estimate_without_asking(alice, study, openai_server, allowed):
    url = reverse("annotations:judges:list", args=[study.slug])
    page = alice.post(url, form(openai_server, action="preview")).content.decode()
    assert "3 items, 6 requests" in page
    assert "[The Start of Assistant A&#x27;s Answer]" in page
    assert not openai_server.requests and not JudgeConfig.objects.exists()


def test_it_creates_a_judge_runs_it_and_shows_the_counts(alice, study, openai_server, allowed):
    openai_server.use(lambda body, i: FakeReply(text=f"[[A]] {CANARY}", tokens_in=7))
    url = reverse("annotations:judges:list", args=[study.slug])
    response = alice.post(url, form(openai_server, action="run"))
    run = JudgeRun.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/judge-runs/{run.pk}/")
    page = alice.get(response.url).content.decode()
    assert "done" in page and CANARY in page and 'id="compare-button"' in page
    status = alice.get(reverse("annotations:judges:run-status", args=[run.pk])).json()
    assert status["asked"] == 6 and status["judged"] == 3 and status["tokens_in"] == 42
    assert status["status"] == "done"


def test_it_refuses_a_base_url_that_is_not_allowed_to_a_lead(alice, study, openai_server):
    url = reverse("annotations:judges:list", args=[study.slug])
    response = alice.post(url, form(openai_server, base_url="http://169.254.169.254/v1"))
    assert response.status_code == 400
    assert not openai_server.requests and not JudgeConfig.objects.exists()


def test_it_cancels_a_run(alice, study, openai_server, allowed):
    from annotations.judges import services
    from annotations.judges.services import JudgeSpec, Selection

    config = services.judge_config_create(
        project=study,
        spec=JudgeSpec("x", "openai", "m", "mtbench-pair", "g", openai_server.base_url),
        user=None,
    )
    run = JudgeRun.objects.create(config=config, criterion=study.criteria.get(), n_items=3)
    alice.post(reverse("annotations:judges:run-cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == JudgeRun.Status.CANCELLED
    assert Selection().as_dict() == {}


def test_it_hides_judges_from_annotators_and_outsiders(
    client, study, annotator, outsider, openai_server, allowed
):
    openai_server.use(lambda body, i: FakeReply(text=f"[[B]] {CANARY}"))
    from annotations.judges import services
    from annotations.judges.services import JudgeSpec, Selection

    config = services.judge_config_create(
        project=study,
        spec=JudgeSpec("x", "openai", "m", "mtbench-pair", "g", openai_server.base_url),
        user=None,
    )
    run = services.judge_run_start(
        config=config, criterion=study.criteria.get(), selection=Selection(), user=None
    )
    assert JudgeAnswer.objects.filter(raw__contains=CANARY).exists()
    urls = [
        reverse("annotations:judges:list", args=[study.slug]),
        reverse("annotations:judges:run-detail", args=[run.pk]),
        reverse("annotations:judges:run-status", args=[run.pk]),
    ]
    for user in (annotator, outsider):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code in ((403, 404) if user == annotator else (404,)), (
                user,
                url,
            )
        assert (
            client.post(reverse("annotations:judges:run-cancel", args=[run.pk])).status_code == 404
        )
    # The annotator's own pages and API answers never carry a judge's answer.
    client.force_login(annotator)
    sheet = annotate_services.assignment_next(user=annotator, slug=study.slug)
    for url in (
        reverse("annotations:annotate:queue", args=[study.slug]),
        reverse("annotations:annotate:item", args=[study.slug, sheet.item.pk]),
        reverse("api:assignment-detail", args=[study.slug, sheet.item.pk]),
        reverse("annotations:project-detail", args=[study.slug]),
    ):
        body = client.get(url).content.decode()
        assert CANARY not in body and "judge-runs" not in body, url
    assert Membership.objects.get(user=annotator).role == "annotator"
