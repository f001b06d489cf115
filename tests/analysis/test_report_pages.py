"""The report page, its HTML file and the report form, on a study with every chart kind."""

import re

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import headline, services
from analysis.config import RunConfig
from analysis.forms import RunForm, default_slice_keys
from analysis.models import AgreementRun, ReportDocument
from annotations import selectors as annotations_selectors
from tests.analysis.chart_study import chart_study_import

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def run(tmp_path, project, lead):
    chart_study_import(project, tmp_path)
    config = RunConfig.from_input({"slice_keys": ["turn"], "n_boot": 100, "seed": 2})
    run = services.agreement_run_start(project=project, user=lead, config=config)
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run


def page(client, user, run) -> str:
    client.force_login(user)
    response = client.get(reverse("analysis:run-detail", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_headlines_charts_and_linked_tables(client, lead, run):
    html = page(client, lead, run)

    for h in headline.headlines(run):
        assert h.text.replace("'", "&#x27;") in html
    names = set(re.findall(r'data-name="([^"]+)"', html))
    assert {"forest-preference-gpt-4", "forest-preference-claude", "ceiling-expert",
            "judges-preference", "steps-validity", "confusion-preference-gpt-4",
            "first-error-validity-prm", "roc-validity-math-prm",
            "pr-validity-math-prm"} <= names  # fmt: skip
    assert "all=all" not in html and "code 2" not in html
    assert "ties left out" in html
    assert "/projects/demo-study/review/targets/?criterion=preference&amp;slice=turn%3D2" in html
    header = re.search(r'<table class="shortfall">.*?</thead>', html, re.S).group(0)
    headings = re.findall(r"<th[^>]*>([^<]*)</th>", header)
    assert len([h for h in headings if h]) == len({h for h in headings if h})


def test_it_embeds_charts_without_inline_script(client, lead, run):
    html = page(client, lead, run)

    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "vendor/vega/vega-embed.min.js" in html and "analysis/charts.js" in html


def test_it_makes_the_html_file_in_the_task_with_inline_svg(client, lead, run):
    document = ReportDocument.objects.get(run=run)
    assert document.render_s > 0 and run.timings["document_s"] > 0

    client.force_login(lead)
    response = client.get(reverse("analysis:run-download", args=[run.pk, "report.html"]))

    assert response.status_code == 200
    assert "report.html" in response["Content-Disposition"]
    html = response.content.decode()
    assert html.count("<svg") >= 9 and "<script" not in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert headline.headlines(run)[0].text.replace("'", "&#x27;") in html


def test_it_keeps_one_html_file_when_a_run_is_computed_again(run):
    AgreementRun.objects.filter(pk=run.pk).update(status="running")
    services.agreement_run_execute(run_id=run.pk, redelivered=True)
    assert ReportDocument.objects.filter(run=run).count() == 1


def test_it_hides_the_html_file_from_an_outsider(client, outsider, run):
    client.force_login(outsider)
    response = client.get(reverse("analysis:run-download", args=[run.pk, "report.html"]))
    assert response.status_code == 404


def test_it_rejects_an_unknown_slice_key_with_a_message(client, lead, run):
    client.force_login(lead)
    response = client.post(
        reverse("analysis:run-create", args=[run.project.slug]),
        {"slice_keys": "turn, foo", "n_boot": 10, "seed": 1},
    )
    assert response.status_code == 400
    assert "No item of this project has the meta key &#x27;foo&#x27;" in response.content.decode()
    assert AgreementRun.objects.count() == 1


def test_it_suggests_slice_keys_and_lists_the_reference_group_once(client, lead, run):
    client.force_login(lead)
    html = client.get(reverse("analysis:run-list", args=[run.project.slug])).content.decode()

    assert '<option value="category">' in html and '<option value="turn">' in html
    assert 'list="slice-key-options"' in html
    select = re.search(r'<select name="reference_group".*?</select>', html, re.S).group(0)
    assert select.count("expert") == 1
    assert re.search(r'name="slice_keys"[^>]*value="category, subset, turn"', html)


def test_it_slices_by_default_by_keys_with_a_few_values():
    keys = {"turn": 2, "category": 8, "question_id": 80, "constant": 1}
    assert default_slice_keys(keys) == ["turn", "category"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=300))
def test_it_validates_any_slice_keys_text_without_crashing(project, text):
    form = RunForm(
        {"slice_keys": text, "n_boot": 0, "seed": 0},
        project=project,
        groups=["expert"],
        meta_keys={"turn": 2, "category": 5},
    )
    if form.is_valid():
        assert set(form.config().slice_keys) <= {"turn", "category"}
    else:
        assert form.errors


def test_it_says_which_raters_each_group_holds(client, lead, run):
    html = page(client, lead, run)
    section = re.search(r'<section id="group-members".*?</section>', html, re.S).group(0)
    members = annotations_selectors.group_members(project=run.project)
    assert members  # the study has groups
    for group, names in members.items():
        assert f"<dt>{group} <small>({len(names)} rater" in section
        assert ", ".join(names[:30]) in section


def test_it_takes_the_alt_test_epsilon_per_group_from_the_form(client, lead, run):
    client.force_login(lead)
    url = reverse("analysis:run-create", args=[run.project.slug])
    bad = client.post(url, {"n_boot": 10, "seed": 1, "group_epsilons": "expert=2"})
    assert bad.status_code == 400 and AgreementRun.objects.count() == 1
    client.post(url, {"n_boot": 10, "seed": 1, "epsilon": 0.15, "group_epsilons": "expert=0.1"})
    new = AgreementRun.objects.latest("pk")
    assert new.config["epsilon"] == 0.15 and new.config["group_epsilons"] == {"expert": 0.1}
    assert "ε 0.15, expert 0.1." in page(client, lead, new)


def test_the_form_offers_the_alt_test_epsilons_and_chunks(client, lead, run):
    client.force_login(lead)
    html = client.get(reverse("analysis:run-list", args=[run.project.slug])).content.decode()
    for name in ("epsilon", "group_epsilons", "chunk_items"):
        assert f'name="{name}"' in html and f'for="id_{name}"' in html


def test_it_starts_a_run_in_chunks_from_the_form(client, lead, run):
    client.force_login(lead)
    url = reverse("analysis:run-create", args=[run.project.slug])
    refused = client.post(url, {"n_boot": 0, "seed": 1, "chunk_items": 17})
    assert refused.status_code == 400 and "needs bootstrap resamples" in refused.content.decode()
    client.post(url, {"n_boot": 10, "seed": 1, "chunk_items": 17})
    new = AgreementRun.objects.latest("pk")
    assert new.config["chunk_items"] == 17 and new.status == "done", new.error
    assert 'id="streamed-note"' in page(client, lead, new)


def test_it_rejects_an_unknown_slice_key_in_the_api_and_the_cli_too(client, lead, run, tmp_path):
    from django.core.management import call_command  # noqa: PLC0415
    from django.core.management.base import CommandError  # noqa: PLC0415

    client.force_login(lead)
    url = reverse("analysis-api:run-create", args=[run.project.slug])
    response = client.post(url, {"slice_keys": ["turn", "foo"]}, content_type="application/json")
    assert response.status_code == 400 and "'foo'" in response.content.decode()
    with pytest.raises(CommandError, match="No item of this project has the meta key 'foo'"):
        call_command("agreement_report", project=run.project.name, out=str(tmp_path), by=["foo"])
    assert AgreementRun.objects.count() == 1
