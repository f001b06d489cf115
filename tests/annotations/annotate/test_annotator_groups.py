"""Annotator groups: the project's group for new annotators, moving an annotator with their
judgements, which raters each group holds, and the lead page's gold example."""

import uuid

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations import selectors as core_selectors
from annotations import services as core_services
from annotations.annotate import lead, rules, services
from annotations.annotate.rules import LabelInput, Submission
from annotations.errors import DomainError
from annotations.importers.records import CriterionRecord, ItemRecord
from annotations.importers.writer import ImportWriter
from annotations.management.commands.load_demo import DEMO_DATA, PROJECTS
from annotations.models import Judgement, Membership, Project, Rater


def _submit_all(user, study, value="correct"):
    """Submit the user's next item with every step and the verdict labelled."""
    sheet = services.assignment_next(user=user, slug=study.slug)
    labels = [LabelInput("validity", step, value) for step in range(sheet.item.n_steps)]
    labels.append(LabelInput("solution_correct", None, "yes"))
    services.assignment_submit(
        user=user,
        slug=study.slug,
        item_id=sheet.item.pk,
        submission=Submission(uuid.uuid4(), labels, "", 1000),
    )


@pytest.mark.django_db
def test_it_puts_a_new_annotator_into_the_projects_annotator_group(study, django_user_model):
    dave = django_user_model.objects.create_user(username="dave")
    membership = services.annotator_add(project=study, username="dave")
    assert membership.rater_group == "annotators"
    services.project_annotation_set(
        project=study, overlap=1, error_ends_solution=False, annotator_group=" pilot "
    )
    erin = django_user_model.objects.create_user(username="erin")
    assert services.annotator_add(project=study, username="erin").rater_group == "pilot"
    _submit_all(erin, study)
    assert Rater.objects.get(project=study, user=erin).group == "pilot"
    assert Membership.objects.get(project=study, user=dave).rater_group == "annotators"


@pytest.mark.django_db
def test_it_moves_an_annotator_and_every_judgement_of_theirs(study, annotator):
    _submit_all(annotator, study)
    membership = Membership.objects.get(project=study, user=annotator)
    own = Judgement.objects.filter(rater__user=annotator)
    assert own.count() == 4 and set(own.values_list("rater__group", flat=True)) == {"expert"}
    core_services.annotator_group_move(membership=membership, group="annotators")
    assert set(own.values_list("rater__group", flat=True)) == {"annotators"}
    _submit_all(annotator, study)
    assert own.count() == 8 and set(own.values_list("rater__group", flat=True)) == {"annotators"}
    others = Judgement.objects.exclude(rater__user=annotator).values_list("rater__group", flat=True)
    assert set(others) == {"gpt-4", "expert"}  # the imported raters did not move


@pytest.mark.django_db
def test_it_refuses_to_pool_an_annotator_with_model_judges(study, annotator):
    membership = Membership.objects.get(project=study, user=annotator)
    for bad in ("gpt-4", "", "   ", "x" * 65, "tab\there"):
        with pytest.raises(DomainError):
            core_services.annotator_group_move(membership=membership, group=bad)
    membership.refresh_from_db()
    assert membership.rater_group == "expert"


@pytest.mark.django_db
def test_it_moves_an_existing_member_through_the_add_form_too(study, annotator):
    _submit_all(annotator, study)
    services.annotator_add(project=study, username="bob", rater_group="crowd")
    assert Rater.objects.get(project=study, user=annotator).group == "crowd"
    services.annotator_add(project=study, username="bob")  # blank: unchanged
    assert Membership.objects.get(project=study, user=annotator).rater_group == "crowd"


@pytest.mark.django_db
def test_it_lists_which_raters_each_group_holds(study, annotator):
    _submit_all(annotator, study)
    assert core_selectors.group_members(project=study) == {
        "expert": ["bob", "expert_9"],
        "gpt-4": ["gpt-4"],
    }
    membership = Membership.objects.get(project=study, user=annotator)
    core_services.annotator_group_move(membership=membership, group="annotators")
    assert core_selectors.group_members(project=study) == {
        "annotators": ["bob"],
        "expert": ["expert_9"],
        "gpt-4": ["gpt-4"],
    }


def _demo_sample(project: Project, demo, n_items: int = 3) -> None:
    """The demo project's criteria and first items, parsed from its real files."""
    records = demo.parse([DEMO_DATA / name for name in demo.files])
    wanted = (r for r in records if isinstance(r, CriterionRecord | ItemRecord))
    criteria_and_items, seen = [], 0
    for record in wanted:
        seen += isinstance(record, ItemRecord)
        criteria_and_items.append(record)
        if seen >= n_items:
            break
    ImportWriter(project).run(iter(criteria_and_items))


@pytest.mark.django_db
@pytest.mark.parametrize("demo", PROJECTS, ids=[d.name for d in PROJECTS])
def test_it_gives_each_demo_project_a_gold_example_its_criteria_accept(demo):
    project = core_services.project_get_or_create(name=demo.name)
    _demo_sample(project, demo)
    example = lead.gold_example(project=project)
    item = project.items.get(external_id=example.external_id)
    services.gold_expected_check(item=item, expected=example.expected)
    gold = services.gold_set(item=item, expected=example.expected, user=None)
    judged = rules.criteria_for_item(kind=item.kind, criteria=list(project.criteria.all()))
    assert set(gold.expected) == {c.name for c in judged} != set()


@pytest.mark.django_db
def test_it_shows_the_projects_own_gold_example_escaped(client, study, lead):
    study.items.filter(external_id="s0").update(external_id="<b>s0</b>")
    client.force_login(lead)
    page = client.get(reverse("annotations:annotate:lead", args=[study.slug])).content.decode()
    assert "For example, for item &lt;b&gt;s0&lt;/b&gt;:" in page
    assert "processbench" not in page.lower() and "<b>s0</b>" not in page
    assert "&quot;solution_correct&quot;: &quot;yes&quot;" in page


@pytest.mark.django_db
def test_it_has_no_gold_example_without_items(project):
    assert lead.gold_example(project=project) is None


@pytest.mark.django_db(transaction=False)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(group=st.text(max_size=80), username=st.sampled_from(["bob", "nobody", " bob ", ""]))
def test_it_answers_any_posted_group_with_a_page_or_a_redirect(
    client, study, lead, annotator, group, username
):
    client.force_login(lead)
    before = list(Membership.objects.order_by("pk").values_list("user_id", "rater_group"))
    response = client.post(
        reverse("annotations:annotate:lead-annotator-add", args=[study.slug]),
        {"username": username, "rater_group": group},
    )
    after = list(Membership.objects.order_by("pk").values_list("user_id", "rater_group"))
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert after == before
    for _, stored in after:
        assert stored == stored.strip() and 0 < len(stored) <= 64
    settings_response = client.post(
        reverse("annotations:annotate:lead-settings", args=[study.slug]),
        {"overlap": "2", "annotator_group": group},
    )
    assert settings_response.status_code in (302, 400)
    stored = Project.objects.get(pk=study.pk).annotator_group
    assert stored == stored.strip() and 0 < len(stored) <= 64
