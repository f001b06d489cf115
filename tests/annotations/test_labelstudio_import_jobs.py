"""Label Studio imports from the web form and the REST API: the labeling config, mapping,
group and item id field travel with the job; its notes (what the export lacks) are shown."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotations.models import ImportJob, Item, Judgement, Rater

DATA = Path(__file__).resolve().parent / "importers" / "data" / "labelstudio"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


def upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (DATA / name).read_bytes())


def test_it_imports_an_export_with_its_config_and_options_from_the_form(client, lead, project):
    client.force_login(lead)

    response = client.post(
        reverse("annotations:import-create", args=[project.slug]),
        {
            "file": upload("rubric.json"),
            "format": "labelstudio",
            "config": upload("rubric.xml"),
            "human_group": "raters",
            "mapping": "prompt=model_id, response=summary",
            "item_id_field": "summeval_id",
        },
    )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert job.status == "done", job.errors
    assert job.options["mapping"] == {"prompt": "model_id", "response": "summary"}
    assert job.options["config"] == (DATA / "rubric.xml").read_text()
    assert job.counts["annotations_skipped"] == 1
    assert Judgement.objects.count() == 116
    assert set(Rater.objects.values_list("group", flat=True)) == {"raters"}
    item = Item.objects.get(external_id="dm-test-130ff8f2dfb6ab67861d5924b0ff5acd63c7d8ce")
    assert item.prompt == "M9"
    page = client.get(response.url).content.decode()
    assert "20 prediction(s) are listed by id only" in page


def test_it_refuses_label_studio_options_with_another_format(client, lead, project):
    client.force_login(lead)

    response = client.post(
        reverse("annotations:import-create", args=[project.slug]),
        {"file": upload("rubric.json"), "format": "native", "config": upload("rubric.xml")},
    )

    assert response.status_code == 400
    assert "are for labelstudio" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_it_shows_the_task_of_a_bad_export_on_the_job_page(client, lead, project):
    client.force_login(lead)

    response = client.post(
        reverse("annotations:import-create", args=[project.slug]),
        {"file": upload("pairwise.json"), "format": "labelstudio", "config": upload("rubric.xml")},
    )

    job = ImportJob.objects.get()
    assert job.status == "failed"
    page = client.get(response.url).content.decode()
    assert "pairwise.json task 1, field &#x27;data.summary&#x27;" in page
    assert not Item.objects.exists()


class TestApi:
    def test_it_imports_a_snapshot_with_its_config_and_mapping(self, client, lead, project):
        client.force_login(lead)

        body = client.post(
            reverse("api:import-create", args=[project.slug]),
            {
                "file": upload("pairwise.snapshot.json"),
                "format": "labelstudio",
                "config": upload("pairwise.xml"),
                "mapping": ["prompt=category"],
            },
        ).json()

        assert body["status"] == "done", body
        assert body["counts"]["judgements_created"] == 120
        assert body["notes"] == []
        assert Rater.objects.get(kind="model").group == "gpt-4-judge"
        assert set(Item.objects.values_list("prompt", flat=True)) <= {
            "writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem",
            "humanities",
        }  # fmt: skip

    def test_it_refuses_a_bad_mapping_with_a_400(self, client, lead, project):
        client.force_login(lead)

        response = client.post(
            reverse("api:import-create", args=[project.slug]),
            {"file": upload("pairwise.json"), "format": "labelstudio", "mapping": ["answer"]},
        )

        assert response.status_code == 400
        assert "FIELD=DATA_KEY" in response.content.decode()
        assert not ImportJob.objects.exists()
