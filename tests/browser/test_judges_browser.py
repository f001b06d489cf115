"""Model judges in a real browser, as a lead who is not staff: configure a judge against a fake
OpenAI server, preview it, run it and watch the counts move, then compare it with the experts.
Screenshots of each page go to test-output/screenshots/."""

import re
import threading
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from annotations import dispatch
from annotations.judges.execute import judge_chunk_run
from annotations.judges.models import JudgeRun
from annotations.models import Membership, Project
from annotations.services import items_import
from tests.annotations.judges.fakes import FakeReply, FakeServer, fake_server
from tests.factories import PREFERENCE, judgement, write_jsonl

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),
]

PASSWORD = "judgeapp-demo"
N_ITEMS = 12
RUN_URL = re.compile(r"/judge-runs/(\d+)/$")


def _truth(i: int) -> str:
    return "b" if i % 3 == 0 else "a"


def _pair(i: int) -> dict:
    better, worse = f"DETAILED answer {i}: step by step.", f"TERSE answer {i}."
    a, b = (better, worse) if _truth(i) == "a" else (worse, better)
    category = "writing" if i % 2 else "math"
    question = f"Question {i}: explain why the sky is blue in {i + 2} sentences."
    return {
        "type": "item",
        "id": f"q{i}",
        "kind": "pair",
        "prompt": question,
        "response_a": a,
        "response_b": b,
        "meta": {"turn": 1, "category": category},
    }


def _expert_lines() -> list[dict]:
    lines = []
    for i in range(N_ITEMS):
        for rater in ("expert_1", "expert_2", "expert_3"):
            value = _truth(i)
            if rater == "expert_3" and i in (1, 5):
                value = "tie"  # the experts disagree now and then: a ceiling below 1
            lines.append(judgement(f"q{i}", "preference", value, rater=rater))
    return lines


def prefers_the_detailed_answer(body: dict, call_index: int) -> FakeReply:
    """The judge picks the detailed answer on whichever side it is shown (and calls the last
    item a tie), slowly enough for the page to show a run in progress."""
    prompt = body["messages"][-1]["content"]
    if "Question 11:" in prompt:
        text = "Both answers are fine. [[C]]"
    else:
        detailed_first = prompt.index("DETAILED") < prompt.index("TERSE")
        text = "The detailed one explains more. " + ("[[A]]" if detailed_first else "[[B]]")
    return FakeReply(text=text, delay_s=0.3, tokens_in=180, tokens_out=12)


@pytest.fixture
def study(transactional_db, tmp_path) -> Project:
    project = Project.objects.create(name="MT-bench pairs", slug="mt-pairs")
    lines = [PREFERENCE] + [_pair(i) for i in range(N_ITEMS)] + _expert_lines()
    items_import(project=project, paths=[write_jsonl(tmp_path / "pairs.jsonl", lines)])
    return project


@pytest.fixture
def openai_fake(settings) -> Iterator[FakeServer]:
    with fake_server("openai") as server:
        settings.JUDGE_ALLOWED_BASE_URLS = [server.base_url]
        yield server


def _read_uncommitted() -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")


@pytest.fixture
def chunks_in_background(monkeypatch) -> Iterator[list[threading.Thread]]:
    """Run judge chunks in a thread started after commit, as a worker would, instead of
    eagerly inside the POST: the run page then has a run in progress to watch."""
    threads: list[threading.Thread] = []
    # The test database is SQLite in memory with a shared cache, where a reader's table lock
    # makes a writer fail at once ("database table is locked", no busy timeout): the page's
    # polling (the live server shares this thread's connection) would break the chunk's
    # writes. Readers that take no locks (read_uncommitted) keep the two apart.
    _read_uncommitted()

    def work(chunk_id: int) -> None:
        try:
            _read_uncommitted()
            judge_chunk_run(chunk_id=chunk_id)
        finally:
            connection.close()

    def enqueue(*, chunk_id: int) -> None:
        def start() -> None:
            thread = threading.Thread(target=work, args=(chunk_id,), name=f"chunk-{chunk_id}")
            threads.append(thread)
            thread.start()

        transaction.on_commit(start)

    monkeypatch.setattr(dispatch, "judge_chunk_enqueue", enqueue)
    yield threads
    for thread in threads:
        thread.join(timeout=30)


def make_user(username: str, project: Project, role: str):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    Membership.objects.create(user=user, project=project, role=role, rater_group="expert")
    return user


def login(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(live_server.url + "/")


def count(page, name: str) -> int:
    return int(page.inner_text(f"[data-count={name}]"))


def horizontal_overflow(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def fill_judge_form(page, server: FakeServer) -> None:
    page.fill("#id_name", "fake-gpt")
    page.select_option("#id_provider", "openai")
    page.fill("#id_model", "fake-model")
    page.select_option("#id_base_url", server.base_url)
    page.select_option("#id_template", "mtbench-pair")
    page.fill("#id_concurrency", "2")
    page.fill("#id_group", "llm-judge")
    page.select_option("#id_criterion", "preference")


def test_a_lead_previews_runs_watches_and_compares_a_judge_with_the_experts(
    study, openai_fake, chunks_in_background, live_server, new_page, screenshot
):
    assert not get_user_model().objects.filter(is_staff=True).exists()
    make_user("alice", study, role="lead")
    openai_fake.use(prefers_the_detailed_answer)
    page = new_page()
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/projects/{study.slug}/")
    page.click("#judges-link")
    page.wait_for_url(f"{live_server.url}/projects/{study.slug}/judges/")
    # Not staff: the base URL is a choice among the operator's, not a text box.
    options = page.locator("#id_base_url option").all_inner_texts()
    assert openai_fake.base_url in options

    fill_judge_form(page, openai_fake)
    page.click("#preview-button")
    page.wait_for_selector("#preview")
    estimate = page.inner_text("#estimate")
    assert f"{N_ITEMS} items, {2 * N_ITEMS} requests" in estimate
    estimated_in = int(re.search(r"about (\d+) input", estimate).group(1))
    prompts = page.locator("#preview pre.prompt")
    assert "impartial judge" in prompts.first.inner_text()
    assert "[The Start of Assistant A's Answer]" in page.inner_text("#preview")
    assert openai_fake.requests == []
    # The form keeps what was typed, so Run sends the same judge.
    assert page.input_value("#id_model") == "fake-model"
    assert page.url.endswith("#preview")  # the browser scrolls to what it asked for
    assert horizontal_overflow(page) <= 0  # long prompt lines wrap
    screenshot(page, "judges-01-preview")

    page.click("#run-button")
    page.wait_for_url(RUN_URL)  # without the #preview of the page before
    run_id = int(RUN_URL.search(page.url).group(1))
    run_url = page.url
    seen_asked = [count(page, "asked")]
    seen_status = [page.inner_text("#run-status")]
    in_progress_shot = False
    while True:
        page.wait_for_timeout(250)
        if page.url != run_url:
            break
        status = page.inner_text("#run-status")
        if status == "done" and page.locator("#compare-button").count():
            break
        seen_status.append(status)
        seen_asked.append(count(page, "asked"))
        if not in_progress_shot and 0 < seen_asked[-1] < 2 * N_ITEMS:
            screenshot(page, "judges-02-run-in-progress")
            in_progress_shot = True
        # 2 minutes: the run takes about 4 s, far longer on a loaded CI machine.
        assert len(seen_asked) < 480, f"the run did not finish: {seen_status[-1]}"
    # The counts moved while the page stayed: the poll wrote them, not a reload.
    moving = [n for n in seen_asked if 0 < n < 2 * N_ITEMS]
    assert len(set(moving)) >= 2, seen_asked
    assert "running" in seen_status
    assert page.url == run_url  # a reload at the end keeps the address

    run = JudgeRun.objects.get(pk=run_id)
    assert run.status == JudgeRun.Status.DONE
    assert len(openai_fake.requests) == 2 * N_ITEMS
    sent = [m["content"] for r in openai_fake.requests for m in r.body["messages"]]
    assert estimated_in == pytest.approx(sum(map(len, sent)) / 4, abs=1)
    assert count(page, "asked") == 2 * N_ITEMS
    assert count(page, "judged") == N_ITEMS
    assert count(page, "chunks_done") == 1
    assert page.locator("#answers tbody tr").count() == 2 * N_ITEMS
    # No price is known for fake-model: the page says so instead of showing $0.
    assert page.inner_text("#cost-unknown") == "unknown"
    page.click("#answers details summary >> nth=0")
    assert "[The Start of Assistant A's Answer]" in page.inner_text("#answers details[open]")
    assert horizontal_overflow(page) <= 0
    screenshot(page, "judges-03-run-done")

    page.click("#compare-button")
    page.wait_for_url(re.compile(r"/reports/\d+/$"))
    assert page.inner_text("#run-status") == "done"
    rows = page.locator("table tr", has_text="llm-judge with expert").filter(
        has_text="Percent agreement"
    )
    assert rows.count() >= 1
    screenshot(page, "judges-04-report")

    page.goto(f"{live_server.url}/projects/{study.slug}/judges/")
    assert page.locator("#judge-runs tbody tr", has_text="done").count() == 1
    screenshot(page, "judges-05-list-after-run")


def test_an_annotator_of_the_project_is_kept_off_the_judge_pages(
    study, openai_fake, live_server, new_page
):
    make_user("bob", study, role="annotator")
    from annotations.judges import services
    from annotations.judges.services import JudgeSpec, Selection

    openai_fake.use(lambda body, i: FakeReply(text="[[A]]"))
    config = services.judge_config_create(
        project=study,
        spec=JudgeSpec("x", "openai", "m", "mtbench-pair", "g", openai_fake.base_url),
        user=None,
    )
    run = services.judge_run_start(
        config=config,
        criterion=study.criteria.get(),
        selection=Selection(ids=("q0",)),
        user=None,
    )
    page = new_page()
    login(page, live_server, "bob")
    page.goto(f"{live_server.url}/projects/{study.slug}/")
    assert page.locator("#judges-link").count() == 0
    for path in (
        f"/projects/{study.slug}/judges/",
        f"/judge-runs/{run.pk}/",
        f"/judge-runs/{run.pk}/status/",
    ):
        response = page.goto(live_server.url + path)
        # The project's pages tell a member they are for the leads; a run id says nothing.
        assert response.status == (403 if path.startswith("/projects/") else 404), path
        assert "[[A]]" not in page.content()


def test_the_judge_pages_fit_a_narrow_screen(study, openai_fake, live_server, new_page, screenshot):
    make_user("alice", study, role="lead")
    from annotations.judges import services
    from annotations.judges.services import JudgeSpec, Selection

    openai_fake.use(lambda body, i: FakeReply(text="A long answer without a break " * 20))
    spec = JudgeSpec("narrow", "openai", "fake-model", "mtbench-pair", "g", openai_fake.base_url)
    config = services.judge_config_create(project=study, spec=spec, user=None)
    run = services.judge_run_start(
        config=config, criterion=study.criteria.get(), selection=Selection(ids=("q0",)), user=None
    )
    page = new_page(viewport={"width": 390, "height": 844})
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/projects/{study.slug}/judges/")
    fill_judge_form(page, openai_fake)
    page.click("#preview-button")
    page.wait_for_selector("#preview")
    screenshot(page, "judges-06-narrow-list")
    assert horizontal_overflow(page) <= 0
    page.goto(f"{live_server.url}/judge-runs/{run.pk}/")
    page.click("#answers details summary >> nth=0")
    screenshot(page, "judges-07-narrow-run")
    assert horizontal_overflow(page) <= 0
