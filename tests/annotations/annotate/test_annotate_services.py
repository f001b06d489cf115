"""Business rules of the annotator queue and submissions, through the services."""

import random
import uuid

import pytest
from scipy import stats

from annotations.annotate import selectors, services
from annotations.errors import DomainError
from annotations.models import (
    Assignment,
    GoldItem,
    Item,
    Judgement,
    Membership,
    Project,
    Rater,
)
from tests.annotations.annotate.conftest import import_lines, item_label, step_labels
from tests.factories import VALIDITY, solution


def submit(assignment, labels, **kwargs):
    kwargs.setdefault("submission_id", uuid.uuid4())
    return services.assignment_submit(assignment=assignment, labels=labels, **kwargs)


def full_labels(item, values=("correct", "correct", "correct"), whole="yes"):
    return step_labels(item, list(values)) + [item_label(item, "solution_correct", whole)]


def own_judgements(user, item):
    return Judgement.objects.filter(rater__user=user, item=item)


def test_it_gives_an_annotator_an_item_of_their_project(study, annotator):
    assignment = services.assignment_next(user=annotator, project=study)
    assert assignment.item.project == study
    assert assignment.slot == 0
    assert assignment.status == Assignment.Status.ASSIGNED


def test_it_returns_the_open_item_until_it_is_done(study, annotator):
    first = services.assignment_next(user=annotator, project=study)
    assert services.assignment_next(user=annotator, project=study).pk == first.pk
    submit(first, full_labels(first.item))
    assert services.assignment_next(user=annotator, project=study).item_id != first.item_id


def test_it_never_gives_an_item_to_more_than_k_annotators(study, annotator, second_annotator, lead):
    services.project_annotation_set(project=study, overlap=2, error_ends_solution=False)
    Item.objects.filter(project=study).exclude(external_id="s0").delete()
    users = [annotator, second_annotator, lead]
    got = [services.assignment_next(user=u, project=study) for u in users]
    assert [a is not None for a in got] == [True, True, False]
    assert sorted(a.slot for a in got if a) == [0, 1]


def test_it_never_gives_an_annotator_the_same_item_twice(study, annotator):
    seen = []
    while (assignment := services.assignment_next(user=annotator, project=study)) is not None:
        seen.append(assignment.item_id)
        submit(assignment, full_labels(assignment.item))
    assert len(seen) == len(set(seen)) == 4


def test_it_gives_each_annotator_a_shuffled_order_of_their_own(
    tmp_path, annotator, second_annotator, monkeypatch
):
    # Imported files come in blocks (one source, category or difficulty after another): no
    # annotator should work through them in file order, nor two annotators in the same order.
    monkeypatch.setattr(selectors, "_claim_random", random.Random(11))
    project = Project.objects.create(name="Order", slug="order", overlap=2)
    import_lines(project, tmp_path, [VALIDITY] + [solution(f"s{i:03d}", 2) for i in range(120)])
    file_order = {
        pk: i for i, pk in enumerate(project.items.order_by("pk").values_list("pk", flat=True))
    }
    orders = []
    for user in (annotator, second_annotator):
        Membership.objects.create(user=user, project=project, role="annotator")
        seen = []
        for _ in range(60):
            assignment = services.assignment_next(user=user, project=project)
            seen.append(file_order[assignment.item_id])
            services.assignment_skip(assignment=assignment, reason="")
        orders.append(seen)
        assert abs(stats.kendalltau(range(60), seen).statistic) < 0.25
    first, second = orders
    assert len(set(first[:20]) & set(second[:20])) < 10
    common = sorted(set(first) & set(second))
    ranks = [[order.index(i) for i in common] for order in orders]
    assert abs(stats.kendalltau(*ranks).statistic) < 0.4


def test_it_stores_judgements_under_the_annotators_own_human_rater(study, second_annotator):
    assignment = services.assignment_next(user=second_annotator, project=study)
    result = submit(assignment, full_labels(assignment.item), rationale="fine", time_spent_ms=900)
    rater = Rater.objects.get(project=study, user=second_annotator)
    assert (rater.kind, rater.group, rater.name) == ("human", "crowd", "charlie")
    rows = own_judgements(second_annotator, assignment.item)
    assert result.stored == rows.count() == 4
    assert {j.rationale for j in rows} == {"fine"}
    assert {j.time_spent_ms for j in rows} == {900}
    assert {j.meta["source"] for j in rows} == {"annotate"}
    step0 = rows.get(step__index=0)
    assert (step0.value, step0.code) == ("correct", 0.0)


def test_it_names_the_rater_apart_from_an_imported_rater_of_the_same_name(study, annotator):
    Rater.objects.create(project=study, name="bob", kind="model", group="bob-model")
    assignment = services.assignment_next(user=annotator, project=study)
    submit(assignment, full_labels(assignment.item))
    rater = Rater.objects.get(project=study, user=annotator)
    assert rater.name == f"bob (user {annotator.pk})"


def test_it_rejects_a_submission_with_a_missing_step(study, annotator):
    assignment = services.assignment_next(user=annotator, project=study)
    labels = full_labels(assignment.item)[1:]
    with pytest.raises(DomainError) as exc:
        submit(assignment, labels)
    assert exc.value.errors == ["Step 1 needs a label for validity."]
    assert not own_judgements(annotator, assignment.item).exists()


def test_it_lets_an_error_end_the_solution_when_the_project_says_so(study, annotator):
    services.project_annotation_set(project=study, overlap=1, error_ends_solution=True)
    study.refresh_from_db()
    assignment = services.assignment_next(user=annotator, project=study)
    item = assignment.item
    labels = step_labels(item, ["correct", "incorrect", "correct"])
    result = submit(assignment, labels[:2] + [item_label(item, "solution_correct", "no")])
    assert result.stored == 3
    # Later steps sent anyway are not stored: the solution ended at the error.
    assignment = Assignment.objects.get(pk=assignment.pk)
    submit(assignment, labels + [item_label(item, "solution_correct", "no")])
    assert not own_judgements(annotator, item).filter(step__index=2).exists()


def test_it_requires_every_step_when_an_error_does_not_end_the_solution(study, annotator):
    assignment = services.assignment_next(user=annotator, project=study)
    item = assignment.item
    labels = step_labels(item, ["correct", "incorrect"]) + [
        item_label(item, "solution_correct", "no")
    ]
    with pytest.raises(DomainError) as exc:
        submit(assignment, labels)
    assert exc.value.errors == ["Step 3 needs a label for validity."]


def test_it_rejects_a_value_outside_the_labels_naming_only_the_submitted_value(study, annotator):
    assignment = services.assignment_next(user=annotator, project=study)
    labels = full_labels(assignment.item)
    labels[0] = step_labels(assignment.item, ["maybe"])[0]
    with pytest.raises(DomainError) as exc:
        submit(assignment, labels)
    assert exc.value.message == 'validity: "maybe" is not one of "correct", "incorrect".'


def test_it_rejects_a_step_out_of_range_and_a_step_on_an_item_criterion(study, annotator):
    assignment = services.assignment_next(user=annotator, project=study)
    item = assignment.item
    bad_step = [services.LabelInput(step_labels(item, ["correct"])[0].criterion_id, 3, "correct")]
    with pytest.raises(DomainError, match="has steps 1 to 3"):
        submit(assignment, bad_step)
    on_item = [
        services.LabelInput(item_label(item, "solution_correct", "yes").criterion_id, 0, "yes")
    ]
    with pytest.raises(DomainError, match="judges the whole item"):
        submit(assignment, on_item)


def test_it_records_a_repeated_submission_once(study, annotator):
    assignment = services.assignment_next(user=annotator, project=study)
    sid = uuid.uuid4()
    first = submit(assignment, full_labels(assignment.item), submission_id=sid, time_spent_ms=500)
    again = submit(assignment, full_labels(assignment.item), submission_id=sid, time_spent_ms=500)
    assert (first.repeated, again.repeated) == (False, True)
    assert own_judgements(annotator, assignment.item).count() == 4
    assert Assignment.objects.get(pk=assignment.pk).time_spent_ms == 500


def test_it_updates_an_edited_submission_in_place(study, annotator):
    assignment = services.assignment_next(user=annotator, project=study)
    submit(assignment, full_labels(assignment.item), time_spent_ms=1000)
    before = set(own_judgements(annotator, assignment.item).values_list("pk", flat=True))
    assignment.refresh_from_db()
    submit(assignment, full_labels(assignment.item, whole="no"), time_spent_ms=250)
    rows = own_judgements(annotator, assignment.item)
    assert set(rows.values_list("pk", flat=True)) == before
    assert rows.get(step=None).value == "no"
    assert rows.first().time_spent_ms == 1250


def test_it_drops_later_steps_when_an_edit_adds_an_ending_error(study, annotator):
    services.project_annotation_set(project=study, overlap=1, error_ends_solution=True)
    assignment = services.assignment_next(user=annotator, project=study)
    submit(assignment, full_labels(assignment.item))
    assignment.refresh_from_db()
    edited = step_labels(assignment.item, ["incorrect"])
    submit(assignment, edited + [item_label(assignment.item, "solution_correct", "no")])
    assert own_judgements(annotator, assignment.item).count() == 2


def test_it_gives_the_slot_back_when_an_item_is_skipped(study, annotator, second_annotator):
    Item.objects.filter(project=study).exclude(external_id="s0").delete()
    skipped = services.assignment_next(user=annotator, project=study)
    assert services.assignment_next(user=second_annotator, project=study) is None
    services.assignment_skip(assignment=skipped, reason="too long")
    taken = services.assignment_next(user=second_annotator, project=study)
    assert taken.item_id == skipped.item_id and taken.slot == 0
    submit(taken, full_labels(taken.item))
    assert services.assignment_next(user=annotator, project=study) is None
    assert Assignment.objects.get(pk=skipped.pk).reason == "too long"


def test_it_holds_back_a_flagged_item_until_a_lead_releases_it(study, annotator, second_annotator):
    services.project_annotation_set(project=study, overlap=2, error_ends_solution=False)
    Item.objects.filter(project=study).exclude(external_id="s0").delete()
    flagged = services.assignment_next(user=annotator, project=study)
    services.assignment_skip(assignment=flagged, reason="steps are garbled", flag=True)
    assert services.assignment_next(user=second_annotator, project=study) is None
    services.assignment_release_flag(assignment=flagged)
    assert services.assignment_next(user=second_annotator, project=study) is not None
    assert services.assignment_next(user=annotator, project=study) is None


def test_it_requires_a_reason_to_flag_and_refuses_to_skip_a_submitted_item(study, annotator):
    assignment = services.assignment_next(user=annotator, project=study)
    with pytest.raises(DomainError, match="Say what is wrong"):
        services.assignment_skip(assignment=assignment, reason=" ", flag=True)
    submit(assignment, full_labels(assignment.item))
    with pytest.raises(DomainError, match="not submitted"):
        services.assignment_skip(assignment=assignment, reason="")


def test_it_stores_pairwise_values_in_the_items_orientation(pairs, bob_in_pairs):
    swaps = set()
    while (assignment := services.assignment_next(user=bob_in_pairs, project=pairs)) is not None:
        criterion = pairs.criteria.get(name="preference")
        submit(assignment, [services.LabelInput(criterion.pk, None, "a")])
        row = own_judgements(bob_in_pairs, assignment.item).get()
        assert (row.value, row.code) == ("a", 0.0)
        assert row.meta["swapped"] is assignment.swapped
        assert assignment.swapped == selectors.pair_swapped(
            user_id=bob_in_pairs.pk, item_id=assignment.item_id
        )
        sheet = selectors.item_sheet_get(assignment=assignment)
        assert [a.side for a in sheet.answers] == (["b", "a"] if assignment.swapped else ["a", "b"])
        assert [c.value for c in sheet.item_groups[0].choices][:2] == [
            a.side for a in sheet.answers
        ]
        swaps.add(assignment.swapped)
    assert swaps  # both items were judged


def test_it_shows_gold_items_to_every_annotator_and_scores_them(
    study, annotator, second_annotator, lead
):
    Item.objects.filter(project=study).exclude(external_id="s0").delete()
    item = Item.objects.get(project=study)
    services.gold_set(
        item=item,
        expected={"validity": ["correct", "incorrect", None], "solution_correct": "no"},
        user=lead,
    )
    for user, whole in ((annotator, "no"), (second_annotator, "yes")):
        assignment = services.assignment_next(user=user, project=study)
        assert assignment.is_gold and assignment.slot is None
        submit(assignment, full_labels(item, ("correct", "correct", "correct"), whole))
    scores = dict(Assignment.objects.values_list("user__username", "gold_correct"))
    assert scores == {"bob": 2, "charlie": 1}
    assert set(Assignment.objects.values_list("gold_total", flat=True)) == {3}


def test_it_validates_gold_labels(study, lead):
    item = Item.objects.filter(project=study).first()
    with pytest.raises(DomainError, match="list of 3 labels"):
        services.gold_set(item=item, expected={"validity": ["correct"]}, user=lead)
    with pytest.raises(DomainError, match="not one of"):
        services.gold_set(item=item, expected={"solution_correct": "perhaps"}, user=lead)
    with pytest.raises(DomainError, match="not a criterion"):
        services.gold_set(item=item, expected={"fluency": 3}, user=lead)
    assert not GoldItem.objects.exists()


def test_it_adds_an_annotator_and_keeps_a_lead_a_lead(study, lead, outsider):
    membership = services.annotator_add(project=study, username="mallory", rater_group="crowd")
    assert (membership.role, membership.rater_group) == ("annotator", "crowd")
    services.annotator_add(project=study, username="alice", rater_group="expert")
    assert Membership.objects.get(user=lead, project=study).role == "lead"
    with pytest.raises(DomainError, match="no user called 'nobody'"):
        services.annotator_add(project=study, username="nobody", rater_group="x")


def test_it_rejects_an_overlap_out_of_range(study):
    with pytest.raises(DomainError):
        services.project_annotation_set(project=study, overlap=0, error_ends_solution=False)


def test_it_counts_progress_for_the_annotator(study, annotator):
    assert selectors.queue_progress(user=annotator, project=study).remaining == 4
    assignment = services.assignment_next(user=annotator, project=study)
    submit(assignment, full_labels(assignment.item))
    progress = selectors.queue_progress(user=annotator, project=study)
    assert (progress.done, progress.remaining, progress.more) == (1, 3, False)


def test_it_stops_counting_what_is_left_at_the_cap(study, annotator, second_annotator, monkeypatch):
    monkeypatch.setattr(selectors, "PROGRESS_CAP", 2)
    progress = selectors.queue_progress(user=annotator, project=study)
    assert (progress.remaining, progress.more) == (2, True)
    services.assignment_next(user=annotator, project=study)  # open: counted apart
    assert selectors.queue_progress(user=annotator, project=study).remaining == 3
    services.project_annotation_set(project=study, overlap=1, error_ends_solution=False)
    for _ in range(2):  # the second annotator takes two more, which fill at k = 1
        taken = services.assignment_next(user=second_annotator, project=study)
        submit(taken, full_labels(taken.item))
    progress = selectors.queue_progress(user=annotator, project=study)
    assert (progress.remaining, progress.more) == (2, False)  # its open item + one free


def test_it_checks_interval_scores_against_their_bounds(project, annotator, tmp_path):
    from annotations.models import Criterion
    from tests.annotations.annotate.conftest import import_lines

    score = {"type": "criterion", "name": "score", "target": "item", "scale": "interval",
             "min": 0, "max": 10}  # fmt: skip
    response = {"type": "item", "id": "r1", "kind": "response", "prompt": "p", "response": "r"}
    import_lines(project, tmp_path, [score, response])
    assignment = services.assignment_next(user=annotator, project=project)
    criterion = Criterion.objects.get(name="score")
    for bad, message in ((11, "outside 0 to 10"), ("7", "not a number"), (True, "not a number")):
        with pytest.raises(DomainError, match=message):
            submit(assignment, [services.LabelInput(criterion.pk, None, bad)])
    submit(assignment, [services.LabelInput(criterion.pk, None, 7.5)])
    assert own_judgements(annotator, assignment.item).get().code == 7.5
    sheet = selectors.item_sheet_get(assignment=Assignment.objects.get(pk=assignment.pk))
    assert sheet.item_groups[0].is_number and sheet.item_groups[0].current == "7.5"


def test_it_releases_an_item_claimed_long_ago_and_never_submitted(
    study, annotator, second_annotator
):
    from datetime import timedelta

    from django.utils import timezone

    Item.objects.filter(project=study).exclude(external_id__in=["s0", "s1"]).delete()
    stale = services.assignment_next(user=annotator, project=study)
    done = services.assignment_next(user=second_annotator, project=study)
    submit(done, full_labels(done.item))
    long_ago = timezone.now() - timedelta(hours=30)
    Assignment.objects.filter(pk__in=[stale.pk, done.pk]).update(created_at=long_ago)

    assert services.assignments_release_stale(older_than=timedelta(hours=24)) == 1

    assert not Assignment.objects.filter(pk=stale.pk).exists()
    assert Assignment.objects.get(pk=done.pk).status == Assignment.Status.SUBMITTED
    assert own_judgements(second_annotator, done.item).exists()
    again = services.assignment_next(user=second_annotator, project=study)
    assert again.item_id == stale.item_id and again.slot == 0
