"""The audit log: each lead action writes exactly one event with its actor and target, events
cannot be changed or removed through the app, and only the project's leads see the page."""

import json

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import services as analysis_services
from analysis.config import RunConfig
from annotations import services as core_services
from annotations.annotate import services
from annotations.audit import AppendOnlyError, AuditAction, AuditEvent, audit_record
from annotations.errors import DomainError
from annotations.judges import external
from annotations.judges import services as judge_services
from annotations.models import Assignment, Membership, Project
from tests.annotations.annotate.conftest import next_assignment

CHECKER = judge_services.JudgeSpec(
    name="checker", provider="checker", model="", template="answer-check", group="checker"
)


def only_event(action: str) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, [str(e) for e in AuditEvent.objects.all()]
    return events[0]


def assert_event(action: str, *, actor, target, project) -> AuditEvent:
    event = only_event(action)
    assert event.actor == actor and event.actor_name == (actor.username if actor else "")
    assert (event.target_type, event.target_id) == (target._meta.model_name, str(target.pk))
    assert event.project == project and event.project_slug == project.slug
    return event


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flagged(study, annotator) -> Assignment:
    assignment = next_assignment(annotator, study)
    return services.assignment_skip(assignment=assignment, reason="unreadable", flag=True)


# ---- one event per action ----------------------------------------------------------------


def test_it_records_an_import_started_and_finished(study, lead):
    upload = SimpleUploadedFile("more.jsonl", b'{"type": "item", "id": "n1", "kind": "response"}')
    job = core_services.import_job_create(project=study, user=lead, file=upload, format="native")
    started = assert_event(AuditAction.IMPORT_START, actor=lead, target=job, project=study)
    assert started.detail["file"] == "more.jsonl" and started.detail["format"] == "native"
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORT_FINISH).exists()

    core_services.import_job_run(job_id=job.pk)

    finished = assert_event(AuditAction.IMPORT_FINISH, actor=lead, target=job, project=study)
    assert finished.detail["status"] == "failed" and finished.detail["error_count"] == 1


def test_it_records_a_finished_import_with_its_counts(study, lead):
    line = b'{"type": "item", "id": "n1", "kind": "response", "response": "r"}\n'
    upload = SimpleUploadedFile("more.jsonl", line)
    job = core_services.import_job_create(project=study, user=lead, file=upload, format="native")
    core_services.import_job_run(job_id=job.pk)
    core_services.import_job_run(job_id=job.pk)  # a redelivery that finds it done: no event

    finished = assert_event(AuditAction.IMPORT_FINISH, actor=lead, target=job, project=study)
    assert finished.detail["status"] == "done" and finished.detail["counts"]["items_created"] == 1


def test_it_records_a_gold_item_set_on_the_lead_page(study, lead):
    response = logged_in(lead).post(
        reverse("annotations:annotate:lead-gold-set", args=[study.slug]),
        {"external_id": "s1", "expected": json.dumps({"solution_correct": "yes"})},
    )

    assert response.status_code == 302
    item = study.items.get(external_id="s1")
    event = assert_event(AuditAction.GOLD_SET, actor=lead, target=item, project=study)
    assert event.detail == {
        "item": "s1",
        "created": True,
        "expected": {"solution_correct": "yes"},
    }


def test_it_records_nothing_for_a_refused_gold_item(study, lead):
    item = study.items.get(external_id="s1")
    with pytest.raises(DomainError):
        services.gold_set(item=item, expected={"solution_correct": "maybe"}, user=lead)

    assert not AuditEvent.objects.exists()


def test_it_records_a_flag_released_by_a_lead(study, lead, annotator):
    assignment = flagged(study, annotator)
    url = reverse("annotations:annotate:lead-flag-release", args=[study.slug, assignment.pk])

    logged_in(lead).post(url)
    logged_in(lead).post(url)  # gone: nothing more to record

    event = assert_event(AuditAction.FLAG_RELEASE, actor=lead, target=assignment, project=study)
    assert event.detail["reason"] == "unreadable"


def test_it_records_an_annotator_added_once_with_their_group(study, lead, outsider):
    client = logged_in(lead)
    url = reverse("annotations:annotate:lead-annotator-add", args=[study.slug])

    client.post(url, {"username": "mallory", "rater_group": "crowd"})
    client.post(url, {"username": "mallory", "rater_group": ""})  # no change

    membership = Membership.objects.get(user=outsider, project=study)
    event = assert_event(AuditAction.ANNOTATOR_ADD, actor=lead, target=membership, project=study)
    assert event.detail == {
        "user": "mallory",
        "created": True,
        "role": "annotator",
        "group": "crowd",
    }
    assert AuditEvent.objects.count() == 1


def test_it_records_one_event_when_adding_moves_a_member(study, lead, annotator):
    services.annotator_add(project=study, username="bob", rater_group="crowd", actor=lead)

    event = only_event(AuditAction.ANNOTATOR_ADD)
    assert event.detail == {"user": "bob", "group": ["expert", "crowd"]}
    assert AuditEvent.objects.count() == 1


def test_it_records_a_role_change_through_membership_set(study, lead, annotator):
    membership = core_services.membership_set(
        project=study, user=annotator, role="lead", actor=lead
    )

    event = assert_event(AuditAction.MEMBERSHIP_SET, actor=lead, target=membership, project=study)
    assert event.detail == {"user": "bob", "role": ["annotator", "lead"]}


def test_it_records_a_group_move_on_the_qc_page(study, lead, annotator):
    membership = Membership.objects.get(user=annotator, project=study)

    logged_in(lead).post(
        reverse("analysis:qc-move", args=[study.slug]),
        {"membership": membership.pk, "group": "seniors"},
    )

    event = assert_event(AuditAction.GROUP_MOVE, actor=lead, target=membership, project=study)
    assert event.detail == {"user": "bob", "group": ["expert", "seniors"]}


def test_it_records_nothing_for_a_group_move_that_rolls_back(study, lead, annotator):
    membership = Membership.objects.get(user=annotator, project=study)
    with pytest.raises(DomainError):
        core_services.annotator_group_move(membership=membership, group="gpt-4", actor=lead)

    assert not AuditEvent.objects.exists()


def test_it_records_a_report_started(study, lead):
    config = RunConfig.from_input({"n_boot": 0, "seed": 1})
    run = analysis_services.agreement_run_start(project=study, user=lead, config=config)

    event = assert_event(AuditAction.REPORT_START, actor=lead, target=run, project=study)
    assert event.detail == {"criteria": []}


def test_it_records_report_downloads_on_the_page_and_the_api(study, lead):
    run = analysis_services.agreement_run_start(
        project=study, user=lead, config=RunConfig.from_input({"n_boot": 0, "seed": 1})
    )
    analysis_services.agreement_run_execute(run_id=run.pk)
    client = logged_in(lead)

    page = client.get(reverse("analysis:run-download", args=[run.pk, "disagreements.csv"]))
    api = client.get(reverse("analysis-api:run-file", args=[run.pk, "agreement.csv"]))
    html = client.get(reverse("analysis:run-download", args=[run.pk, "report.html"]))
    missing = client.get(reverse("analysis:run-download", args=[run.pk, "nope.csv"]))

    assert [page.status_code, api.status_code, html.status_code] == [200, 200, 200]
    assert missing.status_code == 404
    events = AuditEvent.objects.filter(action=AuditAction.DOWNLOAD).order_by("id")
    files = [e.detail["file"] for e in events]
    assert files == ["disagreements.csv", "agreement.csv", "report.html"]
    assert {(e.actor, e.target_id) for e in events} == {(lead, str(run.pk))}


def test_it_records_a_judge_version_once_and_each_run(study, lead):
    config = judge_services.judge_config_create(project=study, spec=CHECKER, user=lead)
    again = judge_services.judge_config_create(project=study, spec=CHECKER, user=lead)
    run = judge_services.judge_run_start(
        config=config,
        criterion=study.criteria.get(name="solution_correct"),
        selection=judge_services.Selection(),
        user=lead,
    )

    assert again == config
    created = assert_event(
        AuditAction.JUDGE_CONFIG_CREATE, actor=lead, target=config, project=study
    )
    assert created.detail["provider"] == "checker" and created.detail["group"] == "checker"
    started = assert_event(AuditAction.JUDGE_RUN_START, actor=lead, target=run, project=study)
    assert started.detail["n_items"] == 4


def test_it_records_a_judge_run_cancelled_once(study, lead):
    config = judge_services.judge_config_create(project=study, spec=CHECKER, user=lead)
    run = judge_services.judge_run_start(
        config=config,
        criterion=study.criteria.get(name="solution_correct"),
        selection=judge_services.Selection(),
        user=lead,
    )
    client = logged_in(lead)
    url = reverse("annotations:judges:run-cancel", args=[run.pk])

    client.post(url)
    client.post(url)  # already ended

    assert_event(AuditAction.JUDGE_RUN_CANCEL, actor=lead, target=run, project=study)


def test_it_records_a_rater_key_without_the_key(study, lead):
    response = logged_in(lead).post(
        reverse("annotations:judges:token-create", args=[study.slug]),
        {"key-name": "my-judge", "key-group": "external", "key-model_name": ""},
    )

    assert response.status_code == 200
    rater = study.raters.get(name="my-judge")
    event = assert_event(AuditAction.RATER_TOKEN_CREATE, actor=lead, target=rater, project=study)
    assert event.detail == {"key_prefix": rater.api_token.key_prefix, "replaced": False}
    key = external.rater_token_create(project=study, name="my-judge", group="external", user=lead)
    assert key.key not in json.dumps(list(AuditEvent.objects.values("detail", "target_label")))
    assert AuditEvent.objects.filter(action=AuditAction.RATER_TOKEN_CREATE).count() == 2


def test_it_records_a_projectless_event_for_other_helpers(lead):
    """`audit_record` is the one call for any new action (e.g. a user's own API token)."""
    event = audit_record(actor=lead, project=None, action=AuditAction.API_TOKEN_CREATE)

    assert (event.project, event.project_slug, event.actor_name) == (None, "", "alice")
    with pytest.raises(Exception, match="Unknown audit action"):
        audit_record(actor=lead, project=None, action="made.up")


# ---- append-only -------------------------------------------------------------------------


@pytest.fixture
def event(study, lead):
    return audit_record(
        actor=lead, project=study, action=AuditAction.GOLD_SET, detail={"item": "s1"}
    )


def test_it_refuses_to_change_or_delete_an_event(event):
    event.detail = {"item": "forged"}
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="gold.forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()

    event.refresh_from_db()
    assert event.detail == {"item": "s1"}


def test_it_shows_events_read_only_in_the_admin(event, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client = logged_in(root)
    change = reverse("admin:annotations_auditevent_change", args=[event.pk])
    delete = reverse("admin:annotations_auditevent_delete", args=[event.pk])

    assert client.get(change).status_code == 200  # a view-only page
    assert client.post(change, {"action": "gold.forged"}).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:annotations_auditevent_add")).status_code == 403
    request = RequestFactory().get("/")
    request.user = root
    model_admin = admin.site._registry[AuditEvent]
    assert model_admin.get_actions(request) == {}  # no bulk "delete selected"
    event.refresh_from_db()
    assert event.action == AuditAction.GOLD_SET


def test_it_keeps_events_when_their_project_and_actor_are_deleted(event, study, lead):
    Project.objects.filter(pk=study.pk).delete()
    lead.delete()

    event.refresh_from_db()
    assert (event.project, event.actor) == (None, None)
    assert (event.project_slug, event.actor_name) == ("demo-study", "alice")


# ---- the page ----------------------------------------------------------------------------


@pytest.fixture
def many_events(study, lead):
    for i in range(60):
        audit_record(actor=lead, project=study, action=AuditAction.DOWNLOAD, detail={"i": i})
    audit_record(actor=lead, project=study, action=AuditAction.GOLD_SET, detail={"item": "s2"})
    other = Project.objects.create(name="Other", slug="other")
    audit_record(actor=lead, project=other, action=AuditAction.GOLD_SET, detail={"item": "x9"})


def test_it_shows_a_lead_the_projects_events_paginated_and_filtered(many_events, study, lead):
    client = logged_in(lead)
    url = reverse("annotations:audit-log", args=[study.slug])

    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()
    gold = client.get(url, {"action": "gold.set"}).content.decode()

    assert "<strong>61</strong> events" in first and "page 1 of 2" in first
    assert first.count("<tr><td><time") == 50 and second.count("<tr><td><time") == 11
    assert "<strong>1</strong> event" in gold and "x9" not in gold
    assert "{&quot;item&quot;: &quot;s2&quot;}" in gold


def test_it_links_the_log_from_the_project_page_for_leads_only(study, lead, annotator):
    link = reverse("annotations:audit-log", args=[study.slug])
    project_page = reverse("annotations:project-detail", args=[study.slug])

    assert link in logged_in(lead).get(project_page).content.decode()
    assert link not in logged_in(annotator).get(project_page).content.decode()


def test_it_hides_the_log_from_annotators_and_outsiders(event, study, annotator, outsider):
    url = reverse("annotations:audit-log", args=[study.slug])

    refused = logged_in(annotator).get(url)  # a member: told the page is for leads
    assert refused.status_code == 403 and str(event.action) not in refused.content.decode()
    assert logged_in(outsider).get(url).status_code == 404
    assert Client().get(url).status_code == 302


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(action=TEXT, page=TEXT)
def test_it_answers_any_filter_and_page_without_an_error(many_events, study, lead, action, page):
    response = logged_in(lead).get(
        reverse("annotations:audit-log", args=[study.slug]), {"action": action, "page": page}
    )

    assert response.status_code == 200
    shown = response.content.decode()
    assert "<strong>1</strong> event" in shown if action == "gold.set" else "events" in shown
