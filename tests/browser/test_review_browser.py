"""The lead's drill-down in a real browser: the targets list filtered to disagreements, an
item with every group's step labels side by side and a judge's raw answer, and the keyboard
walk to the next disagreement; on a wide screen, a phone-sized one and in dark mode.
Screenshots go to test-output/screenshots/review-*.png."""

import pytest

from annotations.models import Item
from tests.annotations.review.conftest import CANARY
from tests.annotations.review.conftest import study as study  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILTERS = "criterion=validity&group_a=expert&group_b=gpt-4&agree=0"


def login(page, live_server, lead) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", lead.username)
    page.fill("#id_password", "pw-" + lead.username)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("wide", {"viewport": {"width": 1280, "height": 900}}),
        ("narrow-dark", {"viewport": {"width": 390, "height": 844}, "color_scheme": "dark"}),
    ],
)
def test_a_lead_walks_from_disagreement_to_disagreement(
    study, lead, live_server, new_page, screenshot, mode, options
):
    ids = dict(Item.objects.filter(project=study).values_list("external_id", "pk"))
    page = new_page(**options)
    login(page, live_server, lead)
    page.goto(f"{live_server.url}/projects/{study.slug}/")
    page.click("#review-targets-link")
    page.select_option("#id_criterion", "validity")
    page.select_option("#id_group_a", "expert")
    page.select_option("#id_group_b", "gpt-4")
    page.select_option("#id_agree", "0")
    page.click("#target-filters button[type=submit]")
    assert page.inner_text("#target-count").startswith("4 targets")
    assert page.locator("#targets tbody tr.disagree").count() == 4
    screenshot(page, f"review-targets-{mode}")

    page.click("#targets tbody tr >> nth=0 >> a")  # s0, step 2
    page.wait_for_selector("#review-item")
    assert f"/items/{ids['s0']}/" in page.url and "agree=0" in page.url
    step = page.locator("#step-1")
    assert "marked" in (step.get_attribute("class") or "")
    groups = step.locator(".group-card")
    assert [groups.nth(i).get_attribute("data-group") for i in range(groups.count())] == [
        "expert",
        "crowd",
        "gpt-4",
    ]
    assert step.locator('[data-group="expert"] .label').all_inner_texts() == [
        "correct",
        "incorrect",
        "incorrect",
    ]
    assert step.locator('[data-group="gpt-4"] .label').inner_text() == "correct"
    # The platform judge's raw answer and its parse status, linked from its group's card.
    page.click('[data-group="answer-check"] .answers-link')
    answer = page.locator(".judge-answer").first
    assert f"{CANARY}-raw" in answer.locator(".raw-answer").inner_text()
    assert answer.locator(".parse-status").inner_text() == "parsed: failed"
    assert page.locator(".katex").count() > 0  # the steps' LaTeX, rendered
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, f"review-item-{mode}")

    page.keyboard.press("j")
    page.wait_for_url(f"**/items/{ids['s1']}/?*")
    assert "agree=0" in page.url
    assert page.inner_text("#walk-position").startswith("2 of 3")
    page.keyboard.press("j")
    page.wait_for_url(f"**/items/{ids['s3']}/?*")
    page.keyboard.press("k")
    page.wait_for_url(f"**/items/{ids['s1']}/?*")
    screenshot(page, f"review-item-next-{mode}", full_page=False)
    page.click("#back-to-list")
    assert page.inner_text("#target-count").startswith("4 targets")

    page.goto(f"{live_server.url}/projects/{study.slug}/review/items/?meta=subset%3Dmath")
    assert page.inner_text("#item-count").startswith("2 items")
    screenshot(page, f"review-items-{mode}")
