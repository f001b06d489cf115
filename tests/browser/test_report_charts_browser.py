"""A lead opens a finished agreement report: headlines, every chart kind drawn by the vendored
vega-embed (with SVG/PNG export and links to the targets), on a wide, a narrow and a dark
screen; then the report form rejects an unknown slice key."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model

from analysis import services
from analysis.config import RunConfig
from annotations.models import Membership, Project
from tests.analysis.chart_study import chart_study_import

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),
]

PASSWORD = "judgeapp-demo"
CHART_KINDS = ("forest-", "ceiling-", "judges-", "steps-", "confusion-", "first-error-", "roc-",
               "pr-")  # fmt: skip


@pytest.fixture
def finished_run(transactional_db, tmp_path):
    project = Project.objects.create(name="Chart study", slug="chart-study")
    chart_study_import(project, tmp_path)
    lead = get_user_model().objects.create_user("alice", password=PASSWORD)
    Membership.objects.create(user=lead, project=project, role="lead", rater_group="expert")
    config = RunConfig.from_input({"slice_keys": ["turn"], "n_boot": 100, "seed": 2})
    run = services.agreement_run_start(project=project, user=lead, config=config)
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run


def login(page, live_server) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.press("#id_password", "Enter")
    page.wait_for_url(live_server.url + "/")


def open_report(page, live_server, run) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, live_server)
    page.goto(f"{live_server.url}/reports/{run.pk}/")
    n = page.locator("figure[data-chart]").count()
    page.wait_for_function(
        f"document.querySelectorAll('figure.rendered .chart svg').length >= {n}", timeout=20_000
    )
    return errors


def test_a_lead_reads_a_report_with_every_chart_kind(
    finished_run, live_server, new_page, screenshot
):
    page = new_page()
    errors = open_report(page, live_server, finished_run)

    assert errors == []
    names = page.eval_on_selector_all("figure[data-chart]", "els => els.map(e => e.dataset.name)")
    for kind in CHART_KINDS:
        assert any(name.startswith(kind) for name in names), (kind, names)
    headline = page.inner_text(".headlines li >> nth=0")
    assert re.search(r"agrees with the expert group .* on preference overall \(gap ", headline)
    # Each chart offers SVG and PNG downloads.
    page.click("figure[data-name^=confusion-] details summary")
    actions = page.inner_text("figure[data-name^=confusion-] .vega-actions")
    assert "Save as SVG" in actions and "Save as PNG" in actions
    screenshot(page, "report-charts-wide")
    # A mark opens the drill-down list of its targets, with the slice and groups in the query.
    page.keyboard.press("Escape")
    turn_2 = page.locator(
        "figure[data-name=forest-preference-gpt-4] path[aria-roledescription=point]"
        "[aria-label*='slice: turn 2;']"
    )
    turn_2.click()
    page.wait_for_url(re.compile(r"/projects/chart-study/review/targets/\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query == {
        "criterion": ["preference"],
        "slice": ["turn=2"],
        "group_a": ["expert"],
        "group_b": ["gpt-4"],
    }


def test_the_report_fits_a_narrow_screen(finished_run, live_server, new_page, screenshot):
    page = new_page(viewport={"width": 390, "height": 844})
    open_report(page, live_server, finished_run)

    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1  # wide charts and tables scroll inside their boxes
    screenshot(page, "report-charts-narrow")


def test_the_report_follows_a_dark_colour_scheme(finished_run, live_server, new_page, screenshot):
    page = new_page(color_scheme="dark")
    open_report(page, live_server, finished_run)

    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 20, 25)"
    label = page.locator("figure[data-name^=ceiling-] svg text").first
    fill = label.evaluate("t => getComputedStyle(t).fill")
    assert fill != "rgb(0, 0, 0)"  # the dark theme's light text, not black on dark
    screenshot(page, "report-charts-dark")


def test_the_report_form_rejects_an_unknown_slice_key(finished_run, live_server, new_page):
    page = new_page()
    login(page, live_server)
    page.goto(f"{live_server.url}/projects/chart-study/reports/")

    assert page.input_value("#id_slice_keys") == "category, subset, turn"
    page.fill("#id_slice_keys", "turn, foo")
    page.click("form.card button[type=submit]")

    assert "No item of this project has the meta key 'foo'" in page.inner_text("form.card")


def test_a_chart_mark_leads_to_the_labels_of_a_step(
    finished_run, live_server, new_page, screenshot
):
    """From the agreement-by-step-position chart to the targets behind a point, then to the
    item: every group's labels of that step, side by side."""
    page = new_page()
    assert open_report(page, live_server, finished_run) == []
    point = page.locator("figure[data-name=steps-validity] path[aria-roledescription=point]").first
    point.click()
    page.wait_for_url(re.compile(r"/review/targets/\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["criterion"] == ["validity"] and query["slice"][0].startswith("step_position=")
    assert page.locator("#targets tbody tr").count() > 0
    page.click("#targets tbody tr >> nth=0 >> a")
    page.wait_for_url(re.compile(r"/review/items/\d+/"))
    step = page.locator("#" + urlsplit(page.url).fragment)  # the step the target row named
    assert step.locator(".group-card").count() >= 2  # experts and another group, side by side
    assert step.locator('[data-group="expert"] .label').count() >= 1
    screenshot(page, "report-drill-to-step")
