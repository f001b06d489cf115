"""The PostgreSQL fast path of next item and submit keeps the queue's rules.

The API tests run through it too (on PostgreSQL); these check what they cannot see: the same
order and pair sides as the ORM path, races between annotators, edits and gold scores.
"""

import random
import uuid

import pytest
from django.contrib.auth import get_user_model

from annotations.annotate import hotpath, selectors, services
from annotations.models import Assignment, Criterion, Item, Judgement, Membership, Project
from tests.annotations.annotate.conftest import import_lines
from tests.annotations.annotate.test_annotate_concurrency import labels, make_study, run_together
from tests.factories import PREFERENCE, VALIDITY, pair, solution


def _claim(user, project: Project) -> Assignment:
    sheet = hotpath.assignment_next_sheet(user=user, slug=project.slug)
    assert isinstance(sheet, selectors.ItemSheet)
    return sheet.assignment


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_claims_what_the_orm_path_would_claim_from_the_same_start(tmp_path):
    project, users = make_study(tmp_path, n_items=40, overlap=2, n_users=3)
    rng = random.Random(5)
    for turn, user in enumerate(users * 8):
        start = rng.randrange(selectors.SCATTER_SPAN)
        expected = selectors.items_claimable(user=user, project=project, limit=1, start=start)
        sheet = hotpath.assignment_next_sheet(user=user, slug=project.slug, start=start)
        assignment = sheet.assignment
        assert assignment.item_id == expected[0].item_id
        assert assignment.slot == min(set(range(2)) - expected[0].taken)
        if turn % 3:  # submitted items keep their slot, skipped ones give it back
            services.assignment_submit(
                assignment=Assignment.objects.get(pk=assignment.pk),
                labels=labels(Item.objects.get(pk=assignment.item_id)),
                rationale="",
                time_spent_ms=0,
                submission_id=uuid.uuid4(),
            )
        else:
            services.assignment_skip(assignment=assignment, reason="")


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_shows_pairs_on_the_same_sides_as_the_orm_path(tmp_path, annotator):
    project = Project.objects.create(name="Pairs", slug="pairs")
    import_lines(project, tmp_path, [PREFERENCE] + [pair(f"p{i}") for i in range(12)])
    Membership.objects.create(user=annotator, project=project, role="annotator")
    while isinstance(
        sheet := hotpath.assignment_next_sheet(user=annotator, slug="pairs"), selectors.ItemSheet
    ):
        assignment = sheet.assignment
        assert assignment.swapped == selectors.pair_swapped(
            user_id=annotator.pk, item_id=assignment.item_id
        )
        services.assignment_skip(assignment=assignment, reason="")
    assert Assignment.objects.filter(user=annotator).count() == 12
    assert services.assignment_next(user=annotator, project=project) is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_never_gives_more_than_k_annotators_the_same_item_on_the_fast_path(tmp_path):
    project, users = make_study(tmp_path, n_items=6, overlap=2, n_users=12)

    def work(i: int) -> int | None:
        sheet = hotpath.assignment_next_sheet(user=users[i], slug=project.slug)
        if isinstance(sheet, hotpath.NextMiss):
            assignment = services.assignment_next(user=users[i], project=sheet.project)
            return assignment and assignment.item_id
        return sheet and sheet.assignment.item_id

    got = run_together(12, work)
    assert None not in got
    counts = {pk: got.count(pk) for pk in set(got)}
    assert counts == {
        pk: 2 for pk in Item.objects.filter(project=project).values_list("pk", flat=True)
    }
    assert Assignment.objects.filter(slot__isnull=False).count() == 12


def _submit(user, project: Project, item: Item, labels, sid=None) -> services.SubmitResult:
    result = hotpath.assignment_submit(
        user=user,
        slug=project.slug,
        item_id=item.pk,
        labels=labels,
        rationale="",
        time_spent_ms=10,
        submission_id=sid or uuid.uuid4(),
    )
    assert result is not None
    return result


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_removes_answers_an_edit_no_longer_needs(tmp_path, annotator):
    project = Project.objects.create(name="E", slug="e", error_ends_solution=True)
    import_lines(project, tmp_path, [VALIDITY, solution("s1", n_steps=3)])
    Membership.objects.create(user=annotator, project=project, role="annotator")
    item = _claim(annotator, project).item
    every = [("validity", i, "correct") for i in range(3)]
    assert _submit(annotator, project, item, every).stored == 3
    sid = uuid.uuid4()
    first_wrong = [("validity", 0, "incorrect")]
    assert _submit(annotator, project, item, first_wrong, sid).stored == 1
    assert list(Judgement.objects.values_list("value", flat=True)) == ["incorrect"]
    again = _submit(annotator, project, item, first_wrong, sid)
    assert again.repeated and again.stored == 1
    assignment = Assignment.objects.get(user=annotator)
    assert assignment.submission_id == sid and assignment.time_spent_ms == 20


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_scores_gold_items_and_gives_them_to_everyone(tmp_path, annotator, django_user_model):
    project = Project.objects.create(name="G", slug="g", overlap=1)
    import_lines(project, tmp_path, [VALIDITY, solution("s1", n_steps=2)])
    item = Item.objects.get(project=project)
    services.gold_set(item=item, expected={"validity": ["correct", "incorrect"]}, user=None)
    carol = get_user_model().objects.create_user("carol")
    for user in (annotator, carol):
        Membership.objects.create(user=user, project=project, role="annotator")
        assignment = _claim(user, project)
        assert assignment.is_gold and assignment.slot is None
        _submit(user, project, item, [("validity", 0, "correct"), ("validity", 1, "correct")])
    scores = Assignment.objects.values_list("gold_correct", "gold_total")
    assert list(scores) == [(1, 2), (1, 2)]
    assert Criterion.objects.get(project=project).name == "validity"
