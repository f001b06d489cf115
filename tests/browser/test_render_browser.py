"""Real demo items as the annotator and the lead see them: Markdown, highlighted code and maths
(server-marked, KaTeX-rendered), a pair side by side on wide screens and stacked on narrow ones,
a turn-2 pair's first turn collapsed above the answers, dark mode. Screenshots (wide, narrow,
dark) go to test-output/screenshots/render-*.png."""

import re

import pytest
from django.contrib.auth import get_user_model

from annotations.importers.records import ItemRecord
from annotations.management.commands.load_demo import DEMO_DATA, PROJECTS
from annotations.models import Membership, Project
from annotations.services import items_import
from tests.factories import PREFERENCE, write_jsonl

PASSWORD = "render-browser-pw"
PAIR_ID = "q121-claude-v1-vs-gpt-3.5-turbo-t2"  # turn 2: a Python program in both answers
SOLUTION_ID = "gsm8k-12"  # "$6.00 each and bowls each cost $5.00", and a bare \boxed{}
VALIDITY = {"type": "criterion", "name": "validity", "target": "step", "scale": "nominal",
            "labels": ["correct", "incorrect"], "error_labels": ["incorrect"]}  # fmt: skip
WIDE = {"width": 1400, "height": 900}
NARROW = {"width": 390, "height": 844}


def demo_record(project_name: str, external_id: str) -> ItemRecord:
    demo = next(d for d in PROJECTS if d.name == project_name)
    records = demo.parse([DEMO_DATA / f for f in demo.files])
    return next(r for r in records if isinstance(r, ItemRecord) and r.external_id == external_id)


def item_line(record: ItemRecord) -> dict:
    fields = ("prompt", "steps", "response_a", "response_b", "reference_answer", "meta")
    line = {"type": "item", "id": record.external_id, "kind": record.kind}
    return line | {f: getattr(record, f) for f in fields if getattr(record, f)}


def project_with(slug: str, criterion: dict, record: ItemRecord, tmp_path, user) -> Project:
    project = Project.objects.create(name=f"Render {slug}", slug=slug)
    path = write_jsonl(tmp_path / f"{slug}.jsonl", [criterion, item_line(record)])
    items_import(project=project, paths=[path])
    Membership.objects.create(user=user, project=project, role="lead", rater_group="expert")
    return project


@pytest.fixture
def demo_items(transactional_db, tmp_path):
    user = get_user_model().objects.create_user("reader", password=PASSWORD)
    pair = demo_record("MT-bench", PAIR_ID)
    solution = demo_record("ProcessBench", SOLUTION_ID)
    project_with("mt", PREFERENCE, pair, tmp_path, user)
    project_with("pb", VALIDITY, solution, tmp_path, user)
    return pair, solution


def login_and_open(page, live_server, slug: str) -> None:
    page.set_default_timeout(30_000)  # 50 kB pages on a shared two-core machine
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(live_server.url + "/")
    page.goto(f"{live_server.url}/annotate/{slug}/")
    page.click("#start-button")
    page.wait_for_url(re.compile(r"/annotate/\w+/items/\d+/$"))


def boxes(page, selector: str) -> list[dict]:
    return [page.locator(selector).nth(i).bounding_box() for i in range(2)]


def test_it_shows_a_real_pair_side_by_side_with_highlighted_code_and_the_first_turn(
    demo_items, live_server, new_page, screenshot
):
    page = new_page(viewport=WIDE)
    login_and_open(page, live_server, "mt")
    left, right = boxes(page, "#item-form > .answers > .answer")
    assert abs(left["y"] - right["y"]) < 2 and right["x"] > left["x"] + left["width"] - 1
    # Each answer scrolls on its own: the page does not grow with the longer answer.
    body = page.locator("#item-form > .answers .answer-body").first
    assert body.evaluate("e => getComputedStyle(e).overflowY") == "auto"
    code = page.locator("#item-form > .answers .highlight pre")
    assert code.count() >= 2  # both answers' programs, highlighted on the server
    assert code.first.locator("span.k, span.kn, span.nf").count() > 0
    assert page.locator("#item-form > .answers ol li, #item-form > .answers ul li").count() > 0
    assert "```" not in page.locator("#item-form > .answers").inner_text()
    first_turn = page.locator("#first-turn")
    assert first_turn.evaluate("e => e.open") is False  # collapsed by default
    screenshot(page, "render-wide-pair", full_page=False)
    first_turn.locator("summary").click()
    assert first_turn.locator(".answer-body").first.is_visible()
    assert first_turn.locator(".answer-body").count() == 2
    screenshot(page, "render-wide-pair-first-turn")


def test_it_stacks_a_pair_on_a_narrow_screen_without_sideways_scroll(
    demo_items, live_server, new_page, screenshot
):
    page = new_page(viewport=NARROW, device_scale_factor=2, is_mobile=True, has_touch=True)
    login_and_open(page, live_server, "mt")
    top, bottom = boxes(page, "#item-form > .answers > .answer")
    assert bottom["y"] >= top["y"] + top["height"] - 1 and abs(bottom["x"] - top["x"]) < 2
    overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"{overflow}px of sideways scroll"
    screenshot(page, "render-narrow-pair", full_page=False)


def test_it_colours_code_for_dark_mode(demo_items, live_server, new_page, screenshot):
    page = new_page(viewport=WIDE, color_scheme="dark")
    login_and_open(page, live_server, "mt")
    background = page.locator(".highlight").first.evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert sum(map(int, re.findall(r"\d+", background)[:3])) < 150, background  # dark, not #f8f8f8
    page.locator("#item-form > .answers .highlight").first.scroll_into_view_if_needed()
    screenshot(page, "render-dark-pair", full_page=False)


def test_it_keeps_dollar_amounts_as_text_and_renders_a_bare_boxed(
    demo_items, live_server, new_page, screenshot
):
    page = new_page(viewport=WIDE)
    login_and_open(page, live_server, "pb")
    page.wait_for_selector(".katex")
    problem = page.locator(".prompt .md")
    assert "$6.00 each and bowls each cost $5.00" in problem.inner_text()
    steps = page.locator(".step-text")
    assert "3 plates × $6.00/plate = $18.00" in steps.nth(1).inner_text()
    assert problem.locator(".katex").count() == 0 and steps.nth(1).locator(".katex").count() == 0
    boxed = steps.filter(has=page.locator(".katex .fbox, .katex .boxpad"))
    assert boxed.count() >= 1
    assert "\\boxed" not in page.locator(".steps").inner_text()
    screenshot(page, "render-solution")


def test_it_shows_the_lead_the_same_rendering_on_the_review_page(
    demo_items, live_server, new_page, screenshot
):
    page = new_page(viewport=WIDE)
    login_and_open(page, live_server, "pb")  # logs in; the reader leads both projects
    item = Project.objects.get(slug="mt").items.get()
    page.goto(f"{live_server.url}/projects/mt/review/items/{item.pk}/")
    assert page.locator(".pair-answers .highlight pre").count() >= 2
    assert page.locator("#first-turn").evaluate("e => e.open") is False
    solution = Project.objects.get(slug="pb").items.get()
    page.goto(f"{live_server.url}/projects/pb/review/items/{solution.pk}/")
    page.wait_for_selector(".katex")
    assert "$6.00 each and bowls each cost $5.00" in page.locator(".prompt .md").inner_text()
    assert page.locator(".review-steps .katex .fbox, .review-steps .katex .boxpad").count() >= 1
    screenshot(page, "render-review-solution")
