"""An annotator's day in a real browser (issue 12): every key does what it says, two tabs on one
item never overwrite each other silently, the counts, titles and messages say the truth where
the annotator looks, an import does not change an open form, and every page passes axe-core
(vendored, injected by the test only) with no serious or critical violation, light and dark.

Screenshots (wide, 390 px narrow and dark) go to test-output/screenshots/day-*.png.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from annotations.models import Assignment, Judgement, Membership, Project
from annotations.services import items_import
from tests.factories import COHERENCE, PREFERENCE, write_jsonl

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "judgeapp-demo"
SAMPLE = Path(__file__).with_name("processbench_sample.jsonl")
AXE = Path(__file__).resolve().parents[2] / "judgeapp/static/vendor/axe-core/axe.min.js"
ITEM_URL = re.compile(r"/annotate/[\w-]+/items/(\d+)/$")
NARROW = {"viewport": {"width": 390, "height": 844}}
DARK = {"color_scheme": "dark"}
CLARITY = {"type": "criterion", "name": "clarity", "target": "item", "scale": "ordinal"}


def make_user(username: str, *projects: Project, role: str = "annotator"):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    for project in projects:
        Membership.objects.create(user=user, project=project, role=role, rater_group="expert")
    return user


@pytest.fixture
def pb(transactional_db) -> Project:
    project = Project.objects.create(name="ProcessBench sample", slug="pb", overlap=2)
    items_import(project=project, paths=[SAMPLE])
    return project


@pytest.fixture
def mt(transactional_db, tmp_path) -> Project:
    project = Project.objects.create(name="MT-bench sample", slug="mt")
    items = [
        {
            "type": "item",
            "id": f"q{n}-turn1",
            "kind": "pair",
            "prompt": f"Question {n}: write a short travel note.",
            "response_a": f"Answer one to {n}.\n\n- a list\n- of two",
            "response_b": f"Answer two to {n}.",
        }
        for n in (81, 82)
    ]
    path = write_jsonl(tmp_path / "mt.jsonl", [PREFERENCE, *items])
    items_import(project=project, paths=[path])
    return project


@pytest.fixture
def rubric(transactional_db, tmp_path) -> Project:
    project = Project.objects.create(name="Rubric sample", slug="rubric")
    score = {"type": "criterion", "name": "score", "target": "item", "scale": "interval"}
    items = [
        {
            "type": "item",
            "id": f"sum-{n}",
            "kind": "response",
            "prompt": f"Summarise article {n}.",
            "response": f"Summary {n}: the article says little.",
        }
        for n in (1, 2)
    ]
    lines = [COHERENCE, {**score, "min": 0, "max": 10}, *items]
    items_import(project=project, paths=[write_jsonl(tmp_path / "rubric.jsonl", lines)])
    return project


def login(page, live_server, username: str) -> None:
    # The live server's first answer may be slow on a busy machine (it is the module's first).
    page.goto(live_server.url + "/accounts/login/", timeout=60_000)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(live_server.url + "/")


def ready(page) -> None:
    """The item page with its script running (it focuses the first question)."""
    page.wait_for_function(
        "document.activeElement && document.activeElement.closest('[data-group]')"
    )


def start(page, live_server, slug: str) -> str:
    page.goto(f"{live_server.url}/annotate/{slug}/")
    page.click("#start-button")
    page.wait_for_url(ITEM_URL)
    ready(page)
    return page.url


def item_of(url: str) -> int:
    return int(ITEM_URL.search(url).group(1))


# ---- every key does what it says -------------------------------------------------------------


def test_it_lets_the_last_key_pressed_win_until_submit(mt, live_server, new_page, screenshot):
    annotator = make_user("ann", mt)
    page = new_page()
    login(page, live_server, "ann")
    first = start(page, live_server, "mt")
    swapped = Assignment.objects.get(user=annotator, item_id=item_of(first)).swapped
    page.keyboard.press("t")
    page.keyboard.press("b")  # changed my mind: the answer on the right
    assert page.locator("input[type=radio]:checked").get_attribute("data-keys") == "b 2"
    screenshot(page, "day-01-pick-changed")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != first)
    stored = Judgement.objects.get(rater__user=annotator, item_id=item_of(first)).value
    assert stored == ("a" if swapped else "b")

    second = page.url
    ready(page)
    page.keyboard.press("1")
    page.keyboard.press("3")
    page.keyboard.press("2")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != second)
    swapped = Assignment.objects.get(user=annotator, item_id=item_of(second)).swapped
    stored = Judgement.objects.get(rater__user=annotator, item_id=item_of(second)).value
    assert stored == ("a" if swapped else "b")  # 1 (left), 3 (tie), then 2: the right one


def test_it_changes_the_last_step_answered_by_key_once_all_are_given(pb, live_server, new_page):
    annotator = make_user("ann", pb)
    page = new_page()
    login(page, live_server, "ann")
    first = start(page, live_server, "pb")
    for key in "1111":  # three steps and the whole solution: the submit button has focus
        page.keyboard.press(key)
    assert page.evaluate("document.activeElement.id") == "submit-button"
    page.keyboard.press("2")  # the whole solution is wrong after all
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != first)
    rows = Judgement.objects.filter(rater__user=annotator, item_id=item_of(first))
    assert rows.get(step=None).value == "no"
    assert sorted(rows.exclude(step=None).values_list("value", flat=True)) == ["correct"] * 3


def test_it_submits_the_skip_reason_with_ctrl_enter_and_shows_the_panel(
    pb, live_server, new_page, screenshot
):
    annotator = make_user("ann", pb)
    page = new_page(**NARROW)
    login(page, live_server, "ann")
    first = start(page, live_server, "pb")
    # The summary at the very bottom of the screen, as after reading the last step; a click.
    page.evaluate(
        """() => {
            const summary = document.querySelector("#skip-panel summary");
            const r = summary.getBoundingClientRect();
            window.scrollBy(0, r.bottom - window.innerHeight + 2);
            summary.click();
        }"""
    )
    page.wait_for_selector("#skip-panel[open]")
    expect(page.locator("#skip-panel button")).to_be_in_viewport(ratio=0.95)
    screenshot(page, "day-02-skip-panel-narrow", full_page=False)
    page.click("#skip-reason")
    page.keyboard.type("Not my field.")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != first)
    skipped = Assignment.objects.get(user=annotator, item_id=item_of(first))
    assert (skipped.status, skipped.reason) == ("skipped", "Not my field.")


# ---- two tabs, one item ----------------------------------------------------------------------


def test_it_refuses_a_second_tabs_other_answer_shows_the_stored_one_and_asks(
    mt, live_server, new_page, screenshot
):
    annotator = make_user("ann", mt)
    tab1 = new_page(**DARK)
    login(tab1, live_server, "ann")
    item = start(tab1, live_server, "mt")
    tab2 = tab1.context.new_page()  # the same browser, another tab
    tab2.goto(item)
    ready(tab2)
    tab1.keyboard.press("t")
    tab1.keyboard.press("Control+Enter")
    tab1.wait_for_url(lambda url: url != item)

    tab2.keyboard.press("a")
    tab2.keyboard.press("Control+Enter")
    tab2.wait_for_selector("#overwrite-button")
    text = tab2.inner_text("#form-errors")
    assert "another tab" in text and 'preference: "tie"' in text
    assert Judgement.objects.get(rater__user=annotator, item_id=item_of(item)).value == "tie"
    assert tab2.url == item
    screenshot(tab2, "day-03-conflict-dark")

    tab2.click("#overwrite-button")
    tab2.wait_for_url(lambda url: url != item)
    swapped = Assignment.objects.get(user=annotator, item_id=item_of(item)).swapped
    stored = Judgement.objects.get(rater__user=annotator, item_id=item_of(item)).value
    assert stored == ("b" if swapped else "a")


def test_it_lets_an_edit_through_u_replace_the_stored_answer(mt, live_server, new_page):
    annotator = make_user("ann", mt)
    page = new_page()
    login(page, live_server, "ann")
    item = start(page, live_server, "mt")
    page.keyboard.press("t")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != item)
    ready(page)
    page.keyboard.press("u")
    page.wait_for_url(item)
    ready(page)
    assert page.inner_text("#draft-status") == ""  # the stored answers, no draft
    page.keyboard.press("a")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != item)
    assert Judgement.objects.get(rater__user=annotator, item_id=item_of(item)).value != "tie"


# ---- what the page says ---------------------------------------------------------------------


def test_it_says_draft_restored_only_when_a_draft_was_restored(pb, live_server, new_page):
    make_user("ann", pb)
    page = new_page()
    login(page, live_server, "ann")
    start(page, live_server, "pb")
    page.reload()  # nothing answered yet
    ready(page)
    assert page.inner_text("#draft-status") == ""
    page.keyboard.press("1")
    page.reload()
    ready(page)
    assert page.inner_text("#draft-status") == "Draft restored."
    assert page.locator("input[type=radio]:checked").count() == 1


def test_it_shows_the_missing_answers_message_where_the_annotator_looks(
    pb, live_server, new_page, screenshot
):
    make_user("ann", pb)
    page = new_page(**NARROW)
    login(page, live_server, "ann")
    start(page, live_server, "pb")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("1")  # step 3 only
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("text=3 answers are missing; the first one has focus.")
    visible = page.evaluate(
        """() => Array.from(document.querySelectorAll("body *")).some((el) => {
            if (el.children.length || !el.textContent.includes("answers are missing")) return false;
            const r = el.getBoundingClientRect();
            return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
        })"""
    )
    assert visible
    assert page.get_attribute("#form-errors", "role") == "alert"  # read out as it appears
    screenshot(page, "day-04-missing-narrow", full_page=False)


def test_it_counts_what_is_left_alike_on_the_queue_and_item_pages(mt, live_server, new_page):
    make_user("ann", mt)
    page = new_page()
    login(page, live_server, "ann")
    page.goto(f"{live_server.url}/annotate/mt/")
    on_queue = page.inner_text("#progress")
    start(page, live_server, "mt")
    assert page.inner_text("#progress") == on_queue == "0 done · 2 left"


def test_it_names_the_item_in_the_tab_title(mt, live_server, new_page):
    make_user("ann", mt)
    page = new_page()
    login(page, live_server, "ann")
    first = start(page, live_server, "mt")
    assert page.title().startswith(f"Item #{item_of(first)} · ")
    page.keyboard.press("t")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != first)
    ready(page)
    assert page.title().startswith(f"Item #{item_of(page.url)} · ")
    page.goto(first)  # the same item, later: the same title
    assert page.title().startswith(f"Item #{item_of(first)} · ")


def test_it_keeps_a_criterion_imported_mid_item_out_of_the_open_form(
    pb, live_server, new_page, tmp_path
):
    annotator = make_user("ann", pb)
    page = new_page()
    login(page, live_server, "ann")
    first = start(page, live_server, "pb")
    items_import(
        project=pb, paths=[write_jsonl(tmp_path / "c.jsonl", [{**CLARITY, "labels": [1, 2, 3]}])]
    )
    for key in "1111":
        page.keyboard.press(key)
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != first)
    assert Judgement.objects.filter(rater__user=annotator, item_id=item_of(first)).count() == 4
    ready(page)
    assert page.locator("legend", has_text="clarity").count() == 1  # the next form asks it


def test_it_links_the_import_form_to_a_page_showing_the_format(
    pb, live_server, new_page, screenshot
):
    make_user("lead", pb, role="lead")
    page = new_page(**NARROW)
    login(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/pb/")
    page.click("text=the import format")
    page.wait_for_selector("h1:has-text('Import format')")
    assert '"type": "judgement"' in page.inner_text("pre.code")
    screenshot(page, "day-05-import-format-narrow")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


# ---- accessible -----------------------------------------------------------------------------


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter((v) => v.impact === 'serious' || v.impact === 'critical')"
        ".map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '))"
    )
    return results


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_it_passes_axe_on_the_queue_and_every_kind_of_item(
    pb, mt, rubric, live_server, new_page, screenshot, scheme
):
    user = make_user("ann", pb, mt, rubric)
    # The CSP (script-src 'self') refuses injected scripts: the test's own context bypasses it.
    page = new_page(color_scheme=scheme, bypass_csp=True)
    login(page, live_server, "ann")
    page.goto(f"{live_server.url}/annotate/pb/")
    found = {"queue": axe_violations(page)}
    for slug in ("pb", "mt", "rubric"):
        start(page, live_server, slug)
        page.keyboard.press("1")  # a picked button, a focused one
        found[slug] = axe_violations(page)
        screenshot(page, f"day-06-axe-{slug}-{scheme}")
    assert found == {"queue": [], "pb": [], "mt": [], "rubric": []}
    assert Assignment.objects.filter(user=user).count() == 3


def test_it_names_every_control_and_announces_the_picked_label(rubric, live_server, new_page):
    make_user("ann", rubric)
    page = new_page()
    login(page, live_server, "ann")
    start(page, live_server, "rubric")
    page.keyboard.press("4")
    tree = page.locator("body").aria_snapshot()
    controls = re.findall(r"^\s*- (radio|button|link|textbox|spinbutton)\b(.*)$", tree, re.M)
    assert len(controls) > 8
    unnamed = [c for c in controls if not re.match(r' "[^"]+"', c[1])]
    assert unnamed == [], tree
    picked = re.findall(r'- radio "([^"]+)" \[checked\]', tree)
    assert picked == ["4"], tree  # its state is read out; the key hint is not part of its name
    # Every control is reachable by Tab, and the focused one is drawn with an outline.
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "getComputedStyle(document.activeElement.matches('input[type=radio]')"
        " ? document.activeElement.nextElementSibling : document.activeElement).outlineStyle"
    )
    assert outline != "none"
