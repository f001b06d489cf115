"""A lead starts an export from the project's Exports page in a real browser; the page polls a
job still pending and, once it has run, shows its download link, which serves the file."""

import pytest
from django.contrib.auth import get_user_model

from annotations import export_jobs
from annotations.models import ExportJob, Membership, Project
from tests.annotations.test_exports_tidy import load, richer_lines

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),
]

PASSWORD = "judgeapp-demo"


def test_it_polls_an_export_and_offers_its_download(live_server, new_page, screenshot, tmp_path):
    lead = get_user_model().objects.create_user("lena", password=PASSWORD)
    project = Project.objects.create(name="Exported study", slug="exported")
    Membership.objects.create(user=lead, project=project, role="lead", rater_group="expert")
    load(tmp_path, project, richer_lines())
    page = new_page()
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "lena")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + "/projects/exported/")
    page.click("#exports-link")

    page.select_option("select[name=format]", "tidy-parquet")
    page.click("text=Start the export")  # runs inside the request (eager Celery)
    first = ExportJob.objects.get()
    page.locator(f"#export-{first.pk} a.download").wait_for()
    # A job the worker has not taken yet: the page polls it, then shows its link.
    waiting = ExportJob.objects.create(project=project, requested_by=lead, format="native")
    page.reload()
    row = page.locator(f"#export-{waiting.pk}")
    assert row.locator("[data-field=status]").inner_text() == "pending"
    screenshot(page, "export-pending")
    export_jobs.export_job_run(job_id=waiting.pk)
    row.locator("a.download").wait_for()
    with page.expect_download() as caught:
        row.locator("a.download").click()
    assert caught.value.suggested_filename == f"exported-export-{waiting.pk}.jsonl"
    assert "Tidy data set, Parquet" in page.locator("#export-jobs").inner_text()
    screenshot(page, "export-done")
