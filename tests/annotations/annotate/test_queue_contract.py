"""The annotator queue's contract: every rule of next and submit, run against each engine.

The `queue` fixture runs each test on the ORM engine and, on PostgreSQL, on the SQL engine
(`annotations/annotate/queue_sql`), so a rule dropped from either one fails here.
"""

import random
import uuid

import pytest
from django.http import Http404
from scipy import stats

from annotations.annotate import rules, selectors, services
from annotations.annotate.rules import LabelInput, Submission
from annotations.audit import AuditAction, AuditEvent
from annotations.errors import DomainError
from annotations.models import (
    SCATTER_SPAN,
    Assignment,
    GoldItem,
    Item,
    Judgement,
    Membership,
    Project,
    Rater,
)
from tests.annotations.annotate.conftest import import_lines, item_label, step_labels
from tests.factories import PREFERENCE, VALIDITY, pair, solution


def full_labels(item, values=("correct", "correct", "correct"), whole="yes"):
    return step_labels(item, list(values)) + [item_label(item, "solution_correct", whole)]


def own_judgements(user, item):
    return Judgement.objects.filter(rater__user=user, item=item)


def test_it_gives_an_annotator_an_item_of_their_project(queue, study, annotator):
    assignment = queue.next(annotator, study)
    assert assignment.item.project == study
    assert assignment.slot == 0
    assert assignment.status == Assignment.Status.ASSIGNED


def test_it_returns_the_open_item_until_it_is_done(queue, study, annotator):
    first = queue.next(annotator, study)
    assert queue.next(annotator, study).pk == first.pk
    queue.submit(first, full_labels(first.item))
    assert queue.next(annotator, study).item_id != first.item_id


def test_it_never_gives_an_item_to_more_than_k_annotators(
    queue, study, annotator, second_annotator, lead
):
    services.project_annotation_set(project=study, overlap=2, error_ends_solution=False)
    Item.objects.filter(project=study).exclude(external_id="s0").delete()
    users = [annotator, second_annotator, lead]
    got = [queue.next(u, study) for u in users]
    assert [a is not None for a in got] == [True, True, False]
    assert sorted(a.slot for a in got if a) == [0, 1]


def test_it_never_gives_an_annotator_the_same_item_twice(queue, study, annotator):
    seen = []
    while (assignment := queue.next(annotator, study)) is not None:
        seen.append(assignment.item_id)
        queue.submit(assignment, full_labels(assignment.item))
    assert len(seen) == len(set(seen)) == 4


def test_it_gives_each_annotator_a_shuffled_order_of_their_own(
    queue, tmp_path, annotator, second_annotator, monkeypatch
):
    # Imported files come in blocks (one source, category or difficulty after another): no
    # annotator should work through them in file order, nor two annotators in the same order.
    monkeypatch.setattr(rules, "_claim_random", random.Random(11))
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
            assignment = queue.next(user, project)
            seen.append(file_order[assignment.item_id])
            services.assignment_skip(assignment=assignment, reason="")
        orders.append(seen)
        assert abs(stats.kendalltau(range(60), seen).statistic) < 0.25
    first, second = orders
    assert len(set(first[:20]) & set(second[:20])) < 10
    common = sorted(set(first) & set(second))
    ranks = [[order.index(i) for i in common] for order in orders]
    assert abs(stats.kendalltau(*ranks).statistic) < 0.4


def test_it_stores_judgements_under_the_annotators_own_human_rater(queue, study, second_annotator):
    assignment = queue.next(second_annotator, study)
    result = queue.submit(
        assignment, full_labels(assignment.item), rationale="fine", time_spent_ms=900
    )
    rater = Rater.objects.get(project=study, user=second_annotator)
    assert (rater.kind, rater.group, rater.name) == ("human", "crowd", "charlie")
    rows = own_judgements(second_annotator, assignment.item)
    assert result.stored == rows.count() == 4
    assert {j.rationale for j in rows} == {"fine"}
    assert {j.time_spent_ms for j in rows} == {900}
    assert {j.meta["source"] for j in rows} == {"annotate"}
    step0 = rows.get(step__index=0)
    assert (step0.value, step0.code) == ("correct", 0.0)


def test_it_names_the_rater_apart_from_an_imported_rater_of_the_same_name(queue, study, annotator):
    Rater.objects.create(project=study, name="bob", kind="model", group="bob-model")
    assignment = queue.next(annotator, study)
    queue.submit(assignment, full_labels(assignment.item))
    rater = Rater.objects.get(project=study, user=annotator)
    assert rater.name == f"bob (user {annotator.pk})"


def test_it_rejects_a_submission_with_a_missing_step(queue, study, annotator):
    assignment = queue.next(annotator, study)
    labels = full_labels(assignment.item)[1:]
    with pytest.raises(DomainError) as exc:
        queue.submit(assignment, labels)
    assert exc.value.errors == ["Step 1 needs a label for validity."]
    assert not own_judgements(annotator, assignment.item).exists()


def test_it_lets_an_error_end_the_solution_when_the_project_says_so(queue, study, annotator):
    services.project_annotation_set(project=study, overlap=1, error_ends_solution=True)
    study.refresh_from_db()
    assignment = queue.next(annotator, study)
    item = assignment.item
    labels = step_labels(item, ["correct", "incorrect", "correct"])
    result = queue.submit(assignment, labels[:2] + [item_label(item, "solution_correct", "no")])
    assert result.stored == 3
    # Later steps sent anyway are not stored: the solution ended at the error.
    assignment = Assignment.objects.get(pk=assignment.pk)
    queue.submit(assignment, labels + [item_label(item, "solution_correct", "no")])
    assert not own_judgements(annotator, item).filter(step__index=2).exists()


def test_it_requires_every_step_when_an_error_does_not_end_the_solution(queue, study, annotator):
    assignment = queue.next(annotator, study)
    item = assignment.item
    labels = step_labels(item, ["correct", "incorrect"]) + [
        item_label(item, "solution_correct", "no")
    ]
    with pytest.raises(DomainError) as exc:
        queue.submit(assignment, labels)
    assert exc.value.errors == ["Step 3 needs a label for validity."]


def test_it_rejects_a_value_outside_the_labels_naming_only_the_submitted_value(
    queue, study, annotator
):
    assignment = queue.next(annotator, study)
    labels = full_labels(assignment.item)
    labels[0] = step_labels(assignment.item, ["maybe"])[0]
    with pytest.raises(DomainError) as exc:
        queue.submit(assignment, labels)
    assert exc.value.message == 'validity: "maybe" is not one of "correct", "incorrect".'


def test_it_rejects_a_step_out_of_range_and_a_step_on_an_item_criterion(queue, study, annotator):
    assignment = queue.next(annotator, study)
    bad_step = [LabelInput("validity", 3, "correct")]
    with pytest.raises(DomainError, match="has steps 1 to 3"):
        queue.submit(assignment, bad_step)
    on_item = [LabelInput("solution_correct", 0, "yes")]
    with pytest.raises(DomainError, match="judges the whole item"):
        queue.submit(assignment, on_item)


def test_it_records_a_repeated_submission_once(queue, study, annotator):
    assignment = queue.next(annotator, study)
    sid = uuid.uuid4()
    first = queue.submit(
        assignment, full_labels(assignment.item), submission_id=sid, time_spent_ms=500
    )
    again = queue.submit(
        assignment, full_labels(assignment.item), submission_id=sid, time_spent_ms=500
    )
    assert (first.repeated, again.repeated) == (False, True)
    assert own_judgements(annotator, assignment.item).count() == 4
    assert Assignment.objects.get(pk=assignment.pk).time_spent_ms == 500


def test_it_updates_an_edited_submission_in_place(queue, study, annotator):
    assignment = queue.next(annotator, study)
    queue.submit(assignment, full_labels(assignment.item), time_spent_ms=1000)
    before = set(own_judgements(annotator, assignment.item).values_list("pk", flat=True))
    assignment.refresh_from_db()
    queue.submit(assignment, full_labels(assignment.item, whole="no"), time_spent_ms=250)
    rows = own_judgements(annotator, assignment.item)
    assert set(rows.values_list("pk", flat=True)) == before
    assert rows.get(step=None).value == "no"
    assert rows.first().time_spent_ms == 1250


def test_it_drops_later_steps_when_an_edit_adds_an_ending_error(queue, study, annotator):
    services.project_annotation_set(project=study, overlap=1, error_ends_solution=True)
    assignment = queue.next(annotator, study)
    queue.submit(assignment, full_labels(assignment.item))
    assignment.refresh_from_db()
    edited = step_labels(assignment.item, ["incorrect"])
    queue.submit(assignment, edited + [item_label(assignment.item, "solution_correct", "no")])
    assert own_judgements(annotator, assignment.item).count() == 2


def test_it_gives_the_slot_back_when_an_item_is_skipped(queue, study, annotator, second_annotator):
    Item.objects.filter(project=study).exclude(external_id="s0").delete()
    skipped = queue.next(annotator, study)
    assert queue.next(second_annotator, study) is None
    services.assignment_skip(assignment=skipped, reason="too long")
    taken = queue.next(second_annotator, study)
    assert taken.item_id == skipped.item_id and taken.slot == 0
    queue.submit(taken, full_labels(taken.item))
    assert queue.next(annotator, study) is None
    assert Assignment.objects.get(pk=skipped.pk).reason == "too long"


def test_it_holds_back_a_flagged_item_until_a_lead_releases_it(
    queue, study, annotator, second_annotator
):
    services.project_annotation_set(project=study, overlap=2, error_ends_solution=False)
    Item.objects.filter(project=study).exclude(external_id="s0").delete()
    flagged = queue.next(annotator, study)
    services.assignment_skip(assignment=flagged, reason="steps are garbled", flag=True)
    assert queue.next(second_annotator, study) is None
    services.assignment_release_flag(assignment=flagged)
    assert queue.next(second_annotator, study) is not None
    assert queue.next(annotator, study) is None


def test_it_requires_a_reason_to_flag_and_refuses_to_skip_a_submitted_item(queue, study, annotator):
    assignment = queue.next(annotator, study)
    with pytest.raises(DomainError, match="Say what is wrong"):
        services.assignment_skip(assignment=assignment, reason=" ", flag=True)
    queue.submit(assignment, full_labels(assignment.item))
    with pytest.raises(DomainError, match="not submitted"):
        services.assignment_skip(assignment=assignment, reason="")


def test_it_stores_pairwise_values_in_the_items_orientation(queue, pairs, bob_in_pairs):
    swaps = set()
    while (assignment := queue.next(bob_in_pairs, pairs)) is not None:
        queue.submit(assignment, [LabelInput("preference", None, "a")])
        row = own_judgements(bob_in_pairs, assignment.item).get()
        assert (row.value, row.code) == ("a", 0.0)
        assert row.meta["swapped"] is assignment.swapped
        sheet = selectors.item_sheet_get(assignment=assignment)
        assert [a.side for a in sheet.answers] == (["b", "a"] if assignment.swapped else ["a", "b"])
        assert [c.value for c in sheet.item_groups[0].choices][:2] == [
            a.side for a in sheet.answers
        ]
        swaps.add(assignment.swapped)
    assert swaps  # both items were judged


def test_it_shows_gold_items_to_every_annotator_and_scores_them(
    queue, study, annotator, second_annotator, lead
):
    Item.objects.filter(project=study).exclude(external_id="s0").delete()
    item = Item.objects.get(project=study)
    services.gold_set(
        item=item,
        expected={"validity": ["correct", "incorrect", None], "solution_correct": "no"},
        user=lead,
    )
    for user, whole in ((annotator, "no"), (second_annotator, "yes")):
        assignment = queue.next(user, study)
        assert assignment.is_gold and assignment.slot is None
        queue.submit(assignment, full_labels(item, ("correct", "correct", "correct"), whole))
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


def test_it_counts_progress_for_the_annotator(queue, study, annotator):
    assert selectors.queue_progress(user=annotator, project=study).remaining == 4
    assignment = queue.next(annotator, study)
    queue.submit(assignment, full_labels(assignment.item))
    progress = selectors.queue_progress(user=annotator, project=study)
    assert (progress.done, progress.remaining) == (1, 3)


def _left_by_the_rule(user, project) -> int:
    """What is left for the user, decided item by item from the assignments alone."""
    from annotations.models import Assignment, GoldItem

    project.refresh_from_db()
    left = 0
    for item in project.items.all():
        rows = Assignment.objects.filter(item=item)
        if rows.filter(user=user).exists() or rows.filter(status="flagged").exists():
            continue
        gold = GoldItem.objects.filter(item=item).exists()
        left += gold or rows.filter(slot__isnull=False).count() < project.overlap
    return left


def _counters(project) -> tuple:
    from annotations.models import QueueCounter

    items = sorted(project.items.values_list("pk", "open_slots", "flags"))
    counter = QueueCounter.objects.filter(project=project).values_list("items_open", flat=True)
    return items, (counter[0] if counter else 0)


def _assert_exact(project, *users) -> None:
    from annotations.annotate import openness
    from annotations.models import Assignment

    kept = _counters(project)
    openness.queue_counters_refresh(project_id=project.pk)
    assert _counters(project) == kept  # what the writes kept = a recount from scratch
    for user in users:
        mine_open = Assignment.objects.filter(user=user, project=project, status="assigned")
        expected = _left_by_the_rule(user, project) + mine_open.count()
        assert selectors.queue_progress(user=user, project=project).remaining == expected


def test_it_keeps_the_count_of_what_is_left_exact_through_every_change(
    queue, study, annotator, second_annotator, lead
):
    from datetime import timedelta

    from annotations.models import Assignment

    users = (annotator, second_annotator)
    services.project_annotation_set(project=study, overlap=2, error_ends_solution=False)
    _assert_exact(study, *users)
    first = queue.next(annotator, study)
    _assert_exact(study, *users)
    queue.submit(first, full_labels(first.item))
    theirs = queue.next(second_annotator, study)
    _assert_exact(study, *users)
    services.assignment_skip(assignment=theirs, reason="")
    _assert_exact(study, *users)
    flagged = queue.next(second_annotator, study)
    services.assignment_skip(assignment=flagged, reason="unreadable", flag=True)
    _assert_exact(study, *users)
    services.assignment_release_flag(assignment=flagged, actor=lead)
    _assert_exact(study, *users)
    stale = queue.next(annotator, study)
    Assignment.objects.filter(pk=stale.pk).update(created_at=stale.created_at - timedelta(days=2))
    assert services.assignments_release_stale(older_than=timedelta(days=1)) == 1
    _assert_exact(study, *users)
    services.project_annotation_set(project=study, overlap=1, error_ends_solution=False)
    _assert_exact(study, *users)
    full = study.items.get(pk=first.item_id)  # k = 1: the submitted item is full
    services.gold_set(item=full, expected={"solution_correct": "no"}, user=lead)
    _assert_exact(study, *users)
    while (taken := queue.next(second_annotator, study)) is not None:
        queue.submit(taken, full_labels(taken.item))
    _assert_exact(study, *users)
    assert selectors.queue_progress(user=second_annotator, project=study).remaining == 0


def test_it_checks_interval_scores_against_their_bounds(queue, project, annotator, tmp_path):
    from tests.annotations.annotate.conftest import import_lines

    score = {"type": "criterion", "name": "score", "target": "item", "scale": "interval",
             "min": 0, "max": 10}  # fmt: skip
    response = {"type": "item", "id": "r1", "kind": "response", "prompt": "p", "response": "r"}
    import_lines(project, tmp_path, [score, response])
    assignment = queue.next(annotator, project)
    for bad, message in ((11, "outside 0 to 10"), ("7", "not a number"), (True, "not a number")):
        with pytest.raises(DomainError, match=message):
            queue.submit(assignment, [LabelInput("score", None, bad)])
    queue.submit(assignment, [LabelInput("score", None, 7.5)])
    assert own_judgements(annotator, assignment.item).get().code == 7.5
    sheet = selectors.item_sheet_get(assignment=Assignment.objects.get(pk=assignment.pk))
    assert sheet.item_groups[0].is_number and sheet.item_groups[0].current == "7.5"


def test_it_releases_an_item_claimed_long_ago_and_never_submitted(
    queue, study, annotator, second_annotator
):
    from datetime import timedelta

    from django.utils import timezone

    Item.objects.filter(project=study).exclude(external_id__in=["s0", "s1"]).delete()
    stale = queue.next(annotator, study)
    done = queue.next(second_annotator, study)
    queue.submit(done, full_labels(done.item))
    long_ago = timezone.now() - timedelta(hours=30)
    Assignment.objects.filter(pk__in=[stale.pk, done.pk]).update(created_at=long_ago)

    assert services.assignments_release_stale(older_than=timedelta(hours=24)) == 1

    assert not Assignment.objects.filter(pk=stale.pk).exists()
    assert Assignment.objects.get(pk=done.pk).status == Assignment.Status.SUBMITTED
    assert own_judgements(second_annotator, done.item).exists()
    again = queue.next(second_annotator, study)
    assert again.item_id == stale.item_id and again.slot == 0


def _scatter_order(project: Project, start: int) -> list[int]:
    """The project's item ids in the queue's order from `start`, wrapping around."""
    items = list(project.items.values_list("scatter", "pk"))
    return [pk for _, pk in sorted(items, key=lambda x: (x[0] - start) % SCATTER_SPAN)]


def test_it_claims_the_first_claimable_item_from_the_start_in_scatter_order(
    queue, annotator, second_annotator, lead, tmp_path
):
    project = Project.objects.create(name="Order", slug="order", overlap=1)
    import_lines(project, tmp_path, [VALIDITY] + [solution(f"s{i:02d}", 1) for i in range(30)])
    for user in (annotator, second_annotator, lead):
        Membership.objects.get_or_create(user=user, project=project)
    rng = random.Random(3)
    for turn in range(24):
        user = (annotator, second_annotator, lead)[turn % 3]
        start = rng.randrange(SCATTER_SPAN)
        free = set(
            selectors.items_claimable(user_id=user.pk, project=project).values_list("pk", flat=True)
        )
        expected = next(pk for pk in _scatter_order(project, start) if pk in free)
        assignment = queue.next(user, project, start=start)
        assert assignment.item_id == expected
        if turn % 4 == 0:  # a skipped item gives its slot back
            services.assignment_skip(assignment=assignment, reason="")
        else:
            queue.submit(assignment, [LabelInput("validity", 0, "correct")])


def test_it_shows_a_pair_in_the_side_order_it_stores(queue, tmp_path, annotator, second_annotator):
    project = Project.objects.create(name="Sides", slug="sides", overlap=2)
    import_lines(project, tmp_path, [PREFERENCE] + [pair(f"p{i}") for i in range(40)])
    sides = {}
    for user in (annotator, second_annotator):
        Membership.objects.create(user=user, project=project, role="annotator")
        while (sheet := queue.engine.assignment_next(user=user, slug="sides")) is not None:
            stored = Assignment.objects.get(pk=sheet.claim.pk)
            assert sheet.claim.swapped == stored.swapped
            assert [a.side for a in sheet.answers] == (["b", "a"] if stored.swapped else ["a", "b"])
            first_text = sheet.answers[0].text
            item = stored.item
            assert first_text == (item.response_b if stored.swapped else item.response_a)
            sides[user.pk, stored.item_id] = stored.swapped
            queue.submit(stored, [LabelInput("preference", None, "a")])
    mine = [sides[annotator.pk, i] for i in sorted(i for _, i in sides)[::2]]
    theirs = [sides[second_annotator.pk, i] for i in sorted(i for _, i in sides)[::2]]
    # Both sides occur for each annotator, and the two do not see the same order every time.
    assert 5 <= sum(mine) <= 35 and 5 <= sum(theirs) <= 35
    assert mine != theirs


def test_it_refuses_a_removed_member_next_and_submit_and_stores_nothing(queue, study, annotator):
    assignment = queue.next(annotator, study)
    Membership.objects.filter(user=annotator, project=study).delete()
    with pytest.raises(Http404):
        queue.next(annotator, study)
    with pytest.raises(Http404):
        queue.submit(assignment, full_labels(assignment.item))
    assert not own_judgements(annotator, assignment.item).exists()


def test_it_refuses_an_item_that_is_not_in_the_users_queue(
    queue, study, annotator, second_annotator
):
    theirs = queue.next(second_annotator, study)
    mine = queue.next(annotator, study)
    with pytest.raises(Http404):
        queue.engine.assignment_submit(
            user=annotator,
            slug=study.slug,
            item_id=theirs.item_id,
            submission=Submission(uuid.uuid4(), full_labels(theirs.item)),
        )
    services.assignment_skip(assignment=mine, reason="")
    with pytest.raises(Http404):
        queue.submit(mine, full_labels(mine.item))
    assert not Judgement.objects.filter(rater__user=annotator).exists()


def test_it_caps_the_time_a_submission_counts(queue, study, annotator):
    assignment = queue.next(annotator, study)
    queue.submit(assignment, full_labels(assignment.item), time_spent_ms=-5)
    assert Assignment.objects.get(pk=assignment.pk).time_spent_ms == 0
    queue.submit(assignment, full_labels(assignment.item), time_spent_ms=10**12)
    assert (
        Assignment.objects.get(pk=assignment.pk).time_spent_ms == rules.MAX_TIME_PER_SUBMISSION_MS
    )


def test_it_rescores_a_gold_item_when_its_answers_are_edited(queue, study, annotator, lead):
    Item.objects.filter(project=study).exclude(external_id="s0").delete()
    item = Item.objects.get(project=study)
    services.gold_set(item=item, expected={"solution_correct": "no"}, user=lead)
    assignment = queue.next(annotator, study)
    queue.submit(assignment, full_labels(item, whole="yes"))
    scores = Assignment.objects.values_list("gold_correct", "gold_total").get(pk=assignment.pk)
    assert scores == (0, 1)
    queue.submit(assignment, full_labels(item, whole="no"))
    scores = Assignment.objects.values_list("gold_correct", "gold_total").get(pk=assignment.pk)
    assert scores == (1, 1)


def test_it_answers_nothing_left_when_every_item_has_k_annotators(
    queue, study, annotator, second_annotator
):
    for _ in range(4):
        taken = queue.next(second_annotator, study)
        queue.submit(taken, full_labels(taken.item))
    assert queue.next(second_annotator, study) is None
    assert queue.next(annotator, study) is None  # k = 1: every item is someone's
    assert not Assignment.objects.filter(user=annotator).exists()


# ---- two tabs, one item: no silent overwrite --------------------------------------------------


def test_it_refuses_a_second_tabs_different_answers_and_shows_the_stored_ones(
    queue, study, annotator
):
    assignment = queue.next(annotator, study)
    first = queue.submit(assignment, full_labels(assignment.item), base=None, rationale="tab 1")
    assert first.repeated is False
    stored = Assignment.objects.get(pk=assignment.pk).submission_id
    with pytest.raises(rules.SubmissionConflict) as caught:
        queue.submit(assignment, full_labels(assignment.item, whole="no"), base=None)
    conflict = caught.value
    assert conflict.version == stored
    assert {
        "criterion": "solution_correct",
        "step": None,
        "value": "yes",
        "rationale": "tab 1",
    } in (conflict.stored)
    assert 'step 1, validity: "correct"' in " ".join(conflict.errors)
    assert conflict.as_data()["conflict"]["version"] == str(stored)
    rows = own_judgements(annotator, assignment.item)
    assert rows.get(step=None).value == "yes"
    assert Assignment.objects.get(pk=assignment.pk).submission_id == stored


def test_it_answers_a_second_tab_with_the_same_answers_as_a_repeat(queue, study, annotator):
    assignment = queue.next(annotator, study)
    queue.submit(assignment, full_labels(assignment.item), base=None)
    stored = Assignment.objects.get(pk=assignment.pk).submission_id
    again = queue.submit(assignment, full_labels(assignment.item), base=None)
    assert again.repeated is True
    assert Assignment.objects.get(pk=assignment.pk).submission_id == stored


def test_it_stores_an_edit_made_against_the_stored_answers(queue, study, annotator):
    assignment = queue.next(annotator, study)
    queue.submit(assignment, full_labels(assignment.item), base=None)
    stored = Assignment.objects.get(pk=assignment.pk).submission_id
    edit = queue.submit(assignment, full_labels(assignment.item, whole="no"), base=stored)
    assert edit.repeated is False
    assert own_judgements(annotator, assignment.item).get(step=None).value == "no"
    assert not AuditEvent.objects.filter(action=AuditAction.ANSWERS_OVERWRITE).exists()


def test_it_replaces_the_stored_answers_once_the_overwrite_is_confirmed_and_audits_it(
    queue, study, annotator
):
    assignment = queue.next(annotator, study)
    queue.submit(assignment, full_labels(assignment.item), base=None)
    stored = Assignment.objects.get(pk=assignment.pk).submission_id
    stale = uuid.uuid4()  # a version that is not the stored one: still refused
    with pytest.raises(rules.SubmissionConflict):
        queue.submit(
            assignment, full_labels(assignment.item, whole="no"), base=None, overwrite=stale
        )
    sid = uuid.uuid4()
    queue.submit(
        assignment,
        full_labels(assignment.item, whole="no"),
        base=None,
        overwrite=stored,
        submission_id=sid,
    )
    assert own_judgements(annotator, assignment.item).get(step=None).value == "no"
    event = AuditEvent.objects.get(action=AuditAction.ANSWERS_OVERWRITE)
    assert (event.actor, event.project) == (annotator, study)
    assert event.detail == {"item": assignment.item_id, "replaced": str(stored), "by": str(sid)}


def test_it_lets_a_submission_that_names_no_base_replace_the_stored_answers(
    queue, study, annotator
):
    assignment = queue.next(annotator, study)
    queue.submit(assignment, full_labels(assignment.item))
    queue.submit(assignment, full_labels(assignment.item, whole="no"))  # the API without a base
    assert own_judgements(annotator, assignment.item).get(step=None).value == "no"


def test_it_does_not_ask_a_criterion_imported_while_the_form_was_open(
    queue, study, annotator, tmp_path
):
    assignment = queue.next(annotator, study)
    asked = frozenset(study.criteria.values_list("pk", flat=True))
    extra = {"type": "criterion", "name": "clarity", "target": "item", "scale": "ordinal"}
    import_lines(study, tmp_path, [{**extra, "labels": [1, 2, 3]}], name="more.jsonl")
    with pytest.raises(DomainError) as caught:
        queue.submit(assignment, full_labels(assignment.item))  # today's questions: one missing
    assert "clarity needs an answer." in caught.value.errors
    result = queue.submit(assignment, full_labels(assignment.item), criteria=asked)
    assert result.stored == 4


def test_it_says_clearly_when_a_criterion_the_form_asked_is_gone(queue, study, annotator):
    assignment = queue.next(annotator, study)
    asked = frozenset([*study.criteria.values_list("pk", flat=True), 987654])
    with pytest.raises(DomainError, match="questions changed since the page was opened"):
        queue.submit(assignment, full_labels(assignment.item), criteria=asked)
    assert not own_judgements(annotator, assignment.item).exists()
