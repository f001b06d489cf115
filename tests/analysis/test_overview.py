"""The lead overview: what it counts, that it polls only while something runs, who sees it,
and a query count that does not grow with the number of projects."""

import pytest
from django.urls import reverse

from analysis.models import AgreementRun
from annotations.annotate.raters import rater_for_user
from annotations.judges import services as judge_services
from annotations.judges.models import JudgeRun
from annotations.models import Assignment, ImportJob, Item, Judgement, Membership, Project
from annotations.overview import project_overviews, projects_led
from annotations.services import items_import
from tests.factories import VALIDITY, judgement, solution, write_jsonl

PAIRWISE = {"type": "criterion", "name": "preference", "target": "item", "scale": "pairwise"}


def _study(name: str, lead, tmp_path, *, overlap: int = 2) -> Project:
    project = Project.objects.create(name=name, slug=name.lower(), overlap=overlap)
    Membership.objects.create(project=project, user=lead, role="lead", rater_group="expert")
    lines = [VALIDITY, PAIRWISE] + [solution(f"s{i}", n_steps=2) for i in range(3)]
    lines.append({"type": "item", "id": "p0", "kind": "pair", "prompt": "q"})
    lines += [judgement(f"s{i}", "validity", "correct", step=0) for i in range(3)]
    lines.append(
        judgement("p0", "preference", "a", rater="gpt", rater_kind="model", rater_group="gpt")
    )
    items_import(project=project, paths=[write_jsonl(tmp_path / f"{name}.jsonl", lines)])
    return project


def _judge(project: Project, user):
    spec = judge_services.JudgeSpec(
        name="answer checker", provider="checker", model="", template="answer-check", group="check"
    )
    return judge_services.judge_config_create(project=project, spec=spec, user=user)


@pytest.fixture
def studies(db, lead, annotator, tmp_path):
    first = _study("First", lead, tmp_path)
    Membership.objects.create(
        project=first, user=annotator, role="annotator", rater_group="annotators"
    )
    rater = rater_for_user(user_id=annotator.pk, project_id=first.pk)
    validity = first.criteria.get(name="validity")
    s0 = Item.objects.get(project=first, external_id="s0")
    for step in s0.steps.all():
        Judgement.objects.create(
            rater=rater, item=s0, step=step, criterion=validity, value="correct", code=0
        )
    Assignment.objects.create(project=first, item=s0, user=annotator, slot=0, status="submitted")
    s1 = Item.objects.get(project=first, external_id="s1")
    Assignment.objects.create(project=first, item=s1, user=annotator, status="flagged", reason="x")
    return first


@pytest.mark.django_db
def test_it_counts_items_groups_progress_and_flags(studies, lead, annotator):
    overviews = {o.project.name: o for o in project_overviews(projects=projects_led(user=lead))}
    assert set(overviews) == {"Demo study", "First"}
    first = overviews["First"]
    assert first.n_items == 4
    assert {(g.group, g.kind, g.judgements) for g in first.groups} == {
        ("expert", "human", 3),
        ("gpt", "model", 1),
        ("annotators", "human", 2),
    }
    progress = {c.name: (c.done, c.needed, c.left) for c in first.criteria}
    # validity applies to the 3 solutions, preference to the pair; k = 2.
    assert progress == {"validity": (1, 6, 5), "preference": (0, 2, 2)}
    assert [(a.username, a.submitted, a.flagged) for a in first.annotators] == [("bob", 1, 1)]
    assert first.open_flags == 1


@pytest.mark.django_db
def test_it_polls_only_while_a_job_or_report_runs(client, studies, lead):
    client.force_login(lead)
    page = client.get(reverse("analysis:overview")).content.decode()
    assert 'data-moving="false"' in page and "hx-trigger" not in page
    run = AgreementRun.objects.create(project=studies, status="running", progress=0.4)
    page = client.get(reverse("analysis:overview")).content.decode()
    assert 'hx-trigger="every 3s"' in page and "vendor/htmx/htmx.min.js" in page
    assert f'href="/reports/{run.pk}/"' in page
    run.status = "done"
    run.save()
    config = _judge(studies, lead)
    JudgeRun.objects.create(
        config=config, criterion=studies.criteria.get(name="validity"), status="running", n_chunks=4
    )
    ImportJob.objects.create(project=studies, file="x.jsonl", status="pending")
    live = client.get(reverse("analysis:overview-live")).content.decode()
    assert 'hx-trigger="every 3s"' in live and "0 / 4 chunks" in live and "native import" in live
    assert "<html" not in live


@pytest.mark.django_db
def test_it_is_the_home_of_leads_and_not_of_annotators(client, studies, lead, annotator, outsider):
    assert client.get("/").status_code == 302  # anonymous: to the login page
    assert client.get(reverse("analysis:overview")).status_code == 302
    client.force_login(lead)
    assert b'id="overview-body"' in client.get("/").content
    for user in (annotator, outsider):
        client.force_login(user)
        home = client.get("/")
        assert home.status_code == 200 and b'id="overview-body"' not in home.content
        assert client.get(reverse("analysis:overview")).status_code == 404
        assert client.get(reverse("analysis:overview-live")).status_code == 404
    assert b"not a member of any project" in client.get("/").content  # the outsider's home


@pytest.mark.django_db
def test_it_shows_a_lead_only_the_projects_they_lead(
    client, studies, lead, tmp_path, django_user_model
):
    dave = django_user_model.objects.create_user(username="dave")
    _study("Secret", dave, tmp_path)
    client.force_login(lead)
    page = client.get(reverse("analysis:overview")).content.decode()
    assert "First" in page and "Secret" not in page


@pytest.mark.django_db
def test_it_reads_a_fixed_number_of_queries_whatever_the_number_of_projects(
    client, studies, lead, tmp_path, django_assert_max_num_queries
):
    client.force_login(lead)
    url = reverse("analysis:overview-live")
    AgreementRun.objects.create(project=studies, status="done")
    client.get(url)
    # session, user, projects, latest reports, their headline rows (2), then 8 reads of
    # annotations (see overview.py)
    with django_assert_max_num_queries(14) as one:
        client.get(url)
    for i in range(4):
        project = _study(f"More{i}", lead, tmp_path)
        AgreementRun.objects.create(project=project, status="done" if i % 2 else "running")
        config = _judge(project, lead)
        JudgeRun.objects.create(config=config, criterion=project.criteria.first(), status="running")
        ImportJob.objects.create(project=project, file="x.jsonl", status="running")
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(url).content.decode()
    assert page.count('class="project"') == 6  # Demo study, First and four more


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("eager_celery")
def test_it_shows_the_latest_finished_reports_verdicts_in_words(client, lead, tmp_path):
    from io import StringIO  # noqa: PLC0415

    from django.core.management import call_command  # noqa: PLC0415

    project = Project.objects.create(name="Pairs", slug="pairs")
    Membership.objects.create(project=project, user=lead, role="lead", rater_group="expert")
    lines = [PAIRWISE]
    for i in range(12):
        lines.append({"type": "item", "id": f"p{i}", "kind": "pair", "prompt": f"q{i}"})
        for rater in ("e1", "e2", "e3"):
            lines.append(judgement(f"p{i}", "preference", "a" if i % 3 else "b", rater=rater))
        verdict = "a" if i % 2 else "b"
        lines.append(
            judgement(f"p{i}", "preference", verdict, rater="gpt", rater_kind="model",
                      rater_group="gpt")
        )  # fmt: skip
    items_import(project=project, paths=[write_jsonl(tmp_path / "pairs.jsonl", lines)])
    client.force_login(lead)
    assert "agree" not in client.get(reverse("analysis:overview")).content.decode()
    call_command("agreement_report", project="Pairs", out=tmp_path / "out", stdout=StringIO())
    page = client.get(reverse("analysis:overview")).content.decode()
    assert '<ul class="headline">' in page
    assert "gpt " in page and "on preference overall" in page
