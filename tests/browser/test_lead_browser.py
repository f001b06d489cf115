"""The lead overview and the annotator QC page in a real browser: the overview updates a
running report without a reload and stops polling when it ends; QC outliers, links and a
group move; narrow screens and dark mode. Screenshots go to test-output/screenshots/."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from analysis.models import AgreementRun
from annotations.models import Membership, Project
from annotations.services import items_import
from tests.factories import judgement, write_jsonl

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "judgeapp-demo"
SAMPLE = Path(__file__).with_name("processbench_sample.jsonl")
VERDICT = {
    "type": "criterion",
    "name": "verdict",
    "target": "item",
    "scale": "nominal",
    "labels": ["yes", "no"],
}


@pytest.fixture
def projects(transactional_db, tmp_path) -> tuple[Project, Project]:
    lead = get_user_model().objects.create_user("lena", password=PASSWORD)
    annotator = get_user_model().objects.create_user("anna", password=PASSWORD)
    pb = Project.objects.create(name="ProcessBench sample", slug="pb", overlap=2)
    items_import(project=pb, paths=[SAMPLE])
    pool = Project.objects.create(name="Summaries", slug="summaries", overlap=2)
    lines = [VERDICT]
    for i in range(30):
        lines.append(
            {"type": "item", "id": f"r{i}", "kind": "response", "prompt": "p", "response": "r"}
        )
        truth = "yes" if i % 3 else "no"
        other = "no" if truth == "yes" else "yes"
        for n, rater in enumerate(("expert_1", "expert_2", "expert_3", "crowd_1")):
            # each good rater slips on different items, one in seven
            value = other if (i + 2 * n) % 7 == 0 else truth
            lines.append(judgement(f"r{i}", "verdict", value, rater=rater))
        lines.append(judgement(f"r{i}", "verdict", other if i % 4 else truth, rater="crowd_bad"))
    items_import(project=pool, paths=[write_jsonl(tmp_path / "pool.jsonl", lines)])
    for project in (pb, pool):
        Membership.objects.create(user=lead, project=project, role="lead", rater_group="expert")
        Membership.objects.create(
            user=annotator, project=project, role="annotator", rater_group="annotators"
        )
    return pb, pool


def login(page, live_server, username: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")


def test_it_updates_a_running_report_on_the_overview_without_a_reload(
    live_server, new_page, screenshot, projects
):
    pb, _ = projects
    run = AgreementRun.objects.create(project=pb, status="running", progress=0.25)
    page = new_page()
    login(page, live_server, "lena")
    body = page.locator("#overview-body")
    assert body.get_attribute("data-moving") == "true"
    page.evaluate("window.__marker = 'same page'")
    screenshot(page, "lead-overview-running")
    AgreementRun.objects.filter(pk=run.pk).update(status="done", progress=1.0)
    page.locator("#overview-body[data-moving=false]").wait_for(timeout=15_000)
    assert page.evaluate("window.__marker") == "same page"  # swapped in place, no reload
    assert page.locator(f"#project-pb a[href='/reports/{run.pk}/'] + .status-done").count() == 1
    assert page.locator("#overview-body").get_attribute("hx-trigger") is None  # polling ends
    screenshot(page, "lead-overview-done")


def test_it_shows_the_overview_and_qc_on_a_phone_in_dark_mode(
    live_server, new_page, screenshot, projects
):
    page = new_page(viewport={"width": 390, "height": 844}, color_scheme="dark")
    login(page, live_server, "lena")
    assert page.locator("#project-summaries").is_visible()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 20, 25)"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # wide tables scroll inside their box, the page does not
    screenshot(page, "lead-overview-phone-dark")
    page.goto(live_server.url + "/projects/summaries/qc/")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshot(page, "qc-phone-dark")


def test_it_marks_an_outlier_links_its_items_and_moves_an_annotator(
    live_server, new_page, screenshot, projects
):
    page = new_page()
    login(page, live_server, "lena")
    page.goto(live_server.url + "/projects/summaries/qc/")
    bad = page.locator("#qc-table tr", has=page.locator("th", has_text="crowd_bad"))
    assert bad.locator(".flag-outlier").count() == 1
    href = bad.locator("a.qc-cell").first.get_attribute("href")
    assert href == "/projects/summaries/review/items/?rater=crowd_bad&criterion=verdict"
    for name in ("expert_1", "expert_2", "expert_3", "crowd_1"):
        row = page.locator("#qc-table tr", has=page.locator("th", has_text=name))
        assert row.locator(".flag-outlier").count() == 0
    screenshot(page, "qc-desktop")
    page.fill(
        "#move-" + str(Membership.objects.get(user__username="anna", project__slug="summaries").pk),
        "pilot",
    )
    page.locator("form.move", has_text="anna").locator("button").click()
    page.wait_for_url(live_server.url + "/projects/summaries/qc/")
    assert "anna and their judgements are now in pilot" in page.locator(".messages").inner_text()
    assert (
        Membership.objects.get(user__username="anna", project__slug="summaries").rater_group
        == "pilot"
    )


def test_it_keeps_the_annotators_home_and_hides_the_lead_pages(live_server, new_page, projects):
    page = new_page()
    login(page, live_server, "anna")
    assert page.locator("#overview-body").count() == 0
    assert page.locator("h1").inner_text() == "Projects"
    response = page.goto(live_server.url + "/projects/summaries/qc/")
    assert response.status == 403
    assert "for the project's leads" in page.content()
