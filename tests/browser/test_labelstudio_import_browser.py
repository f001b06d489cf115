"""A lead imports a Label Studio export with its labeling config from the project page, in a
real browser, and reads the counts and the note on what the export lacked."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from annotations.models import Judgement, Membership, Project

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),
]

PASSWORD = "judgeapp-demo"
DATA = Path(__file__).resolve().parents[1] / "annotations" / "importers" / "data" / "labelstudio"


def test_it_imports_a_label_studio_export_from_the_project_page(live_server, new_page, screenshot):
    lead = get_user_model().objects.create_user("lena", password=PASSWORD)
    project = Project.objects.create(name="SummEval in Label Studio", slug="ls")
    Membership.objects.create(user=lead, project=project, role="lead", rater_group="expert")
    page = new_page()
    page.set_default_timeout(60_000)  # the import runs inside the request (eager Celery)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "lena")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + "/projects/ls/")

    page.select_option("select[name=format]", "labelstudio")
    page.set_input_files("input[name=file]", str(DATA / "rubric.json"))
    page.set_input_files("input[name=config]", str(DATA / "rubric.xml"))
    page.fill("input[name=mapping]", "prompt=article")
    screenshot(page, "labelstudio-import-form")
    page.click("text=Upload and import")

    page.locator("#job-status.status-done").wait_for(timeout=30_000)
    text = page.locator("main").inner_text()
    assert "20 prediction(s) are listed by id only" in text
    assert Judgement.objects.filter(item__project=project).count() == 116
    screenshot(page, "labelstudio-import-done")
