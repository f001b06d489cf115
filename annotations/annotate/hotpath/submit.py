"""Submit on PostgreSQL: one read, then one statement that updates and upserts."""

import json
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from annotations.annotate import services
from annotations.annotate.hotpath.auth import by_token
from annotations.annotate.hotpath.db import CRITERIA, criteria_from_rows, fetch, json_value
from annotations.errors import DomainError
from annotations.models import Assignment, GoldItem, Item, Project

_SUBMIT_READ = f"""
SELECT a.id, a.status, a.submission_id, a.time_spent_ms, a.swapped, a.submitted_at,
    i.id, i.kind, i.n_steps, p.id, p.error_ends_solution,
    (SELECT r.id FROM annotations_rater r WHERE r.project_id = p.id AND r.user_id = a.user_id),
    (SELECT g.expected FROM annotations_golditem g WHERE g.item_id = i.id),
    {CRITERIA},
    (SELECT coalesce(json_agg(json_build_array(s.index, s.id)), '[]')
     FROM annotations_step s WHERE s.item_id = i.id)
FROM annotations_assignment a
JOIN annotations_project p ON p.id = a.project_id
JOIN annotations_item i ON i.id = a.item_id
WHERE a.user_id = %(user)s AND p.slug = %(slug)s AND a.item_id = %(item_id)s
    AND a.status IN ('assigned', 'submitted')
    AND EXISTS (
        SELECT 1 FROM annotations_membership m
        WHERE m.project_id = p.id AND m.user_id = a.user_id
    )
"""
SUBMIT_READ_BY_TOKEN = by_token(_SUBMIT_READ)

# What a repeated submission stored (a retry is answered with the first answer's count).
_STORED = """
SELECT count(*) FROM annotations_judgement j JOIN annotations_rater r ON r.id = j.rater_id
WHERE j.item_id = %(item)s AND r.project_id = %(project)s AND r.user_id = %(user)s
"""

_UPSERT = """
    INSERT INTO annotations_judgement (
        rater_id, item_id, step_id, criterion_id, value, code, rationale, time_spent_ms, meta,
        created_at
    )
    SELECT %(rater)s, %(item)s, step_id, criterion_id, value, code, %(rationale)s,
        %(time_spent_ms)s, %(meta)s::jsonb, now()
    FROM new_rows WHERE step_id IS {null}
    ON CONFLICT ({columns}) WHERE step_id IS {null}
    DO UPDATE SET value = EXCLUDED.value, code = EXCLUDED.code, rationale = EXCLUDED.rationale,
        time_spent_ms = EXCLUDED.time_spent_ms, meta = EXCLUDED.meta
"""

_SUBMIT_WRITE = """
WITH updated AS (
    UPDATE annotations_assignment
    SET status = 'submitted', submission_id = %(submission)s, submitted_at = %(now)s,
        time_spent_ms = %(time_spent_ms)s, gold_correct = coalesce(%(gold_correct)s, gold_correct),
        gold_total = coalesce(%(gold_total)s, gold_total)
    WHERE id = %(assignment)s AND status IN ('assigned', 'submitted')
        AND submission_id IS NOT DISTINCT FROM %(old_submission)s
        AND time_spent_ms = %(old_time_spent_ms)s
    RETURNING id
), new_rows AS (
    -- One JSON parameter for the rows: psycopg inspects every list parameter to type it.
    SELECT * FROM json_to_recordset(%(rows)s::json)
        AS r (step_id bigint, criterion_id bigint, value jsonb, code float8)
    WHERE EXISTS (SELECT 1 FROM updated)
), step_rows AS ({step_upsert}), item_rows AS ({item_upsert}){delete}
SELECT count(*) FROM updated
""".format(
    step_upsert=_UPSERT.format(null="NOT NULL", columns="rater_id, step_id, criterion_id"),
    item_upsert=_UPSERT.format(null="NULL", columns="rater_id, item_id, criterion_id"),
    delete="{delete}",
)

# An edit may answer fewer targets (an earlier error now ends the solution).
_DELETE_OLD = """, removed AS (
    DELETE FROM annotations_judgement j
    WHERE j.rater_id = %(rater)s AND j.item_id = %(item)s AND EXISTS (SELECT 1 FROM updated)
        AND NOT EXISTS (
            SELECT 1 FROM new_rows r
            WHERE r.criterion_id = j.criterion_id AND r.step_id IS NOT DISTINCT FROM j.step_id
        )
)"""


def assignment_submit(
    *,
    user: AbstractBaseUser,
    slug: str,
    item_id: int,
    labels: list[tuple[str, int | None, Any]],
    rationale: str,
    time_spent_ms: int,
    submission_id: uuid.UUID,
    read: tuple | None = None,
) -> services.SubmitResult | None:
    """Store a submission as `services.assignment_submit` does; None: ask the ORM path.

    `read` is the row of SUBMIT_READ_BY_TOKEN when token authentication already read it.
    Raises Http404 outside the user's queue and DomainError for an invalid submission.
    """
    if read is None:
        found = fetch(_SUBMIT_READ, {"user": user.pk, "slug": slug, "item_id": item_id})
        read = found[0] if found else None
    if read is None or read[0] is None:
        return None  # the ORM path answers 404 (or finds a membership just added)
    (
        assignment_pk,
        status,
        old_submission,
        old_time_spent,
        swapped,
        submitted_at,
        item_pk,
        kind,
        n_steps,
        project_id,
        error_ends_solution,
        rater_id,
        expected,
        criteria,
        step_ids,
    ) = read
    project = Project(id=project_id, slug=slug, error_ends_solution=error_ends_solution)
    item = Item(id=item_pk, project_id=project_id, kind=kind, n_steps=n_steps)
    assignment = Assignment(
        id=assignment_pk,
        project=project,
        item=item,
        user_id=user.pk,
        status=status,
        submission_id=old_submission,
        time_spent_ms=old_time_spent,
        swapped=swapped,
        submitted_at=submitted_at,
    )
    if old_submission == submission_id:
        stored = fetch(_STORED, {"item": item_pk, "project": project_id, "user": user.pk})
        return services.SubmitResult(assignment, stored[0][0], repeated=True)
    project._annotate_criteria = criteria_from_rows(json_value(criteria), project_id)
    by_name = {c.name: c.pk for c in project._annotate_criteria}
    inputs = []
    for name, step, value in labels:
        if name not in by_name:
            raise DomainError("A label names a criterion this item is not judged on.")
        inputs.append(services.LabelInput(by_name[name], step, value))
    rows, missing = services._validate(item=item, project=project, labels=inputs)
    if missing:
        raise DomainError("Some answers are missing.", missing)
    if rater_id is None:
        rater_id = services.rater_for_user(user_id=user.pk, project=project).pk
    changes: dict[str, Any] = {
        "status": Assignment.Status.SUBMITTED,
        "submission_id": submission_id,
        "submitted_at": timezone.now(),
        "time_spent_ms": services._time_total(old_time_spent, time_spent_ms),
    }
    gold = {"gold_correct": None, "gold_total": None}
    if expected is not None:
        score = services._gold_score(GoldItem(expected=json_value(expected)), rows)
        gold = {"gold_correct": score[0], "gold_total": score[1]}
        changes.update(gold)
    meta = {"source": "annotate", "submission_id": str(submission_id)}
    if kind == Item.Kind.PAIR:
        meta["swapped"] = swapped
    step_pk = dict(json_value(step_ids))
    sql = _SUBMIT_WRITE.format(delete=_DELETE_OLD if submitted_at else "")
    written = fetch(
        sql,
        {
            **gold,
            "submission": submission_id,
            "now": changes["submitted_at"],
            "time_spent_ms": changes["time_spent_ms"],
            "assignment": assignment_pk,
            "old_submission": old_submission,
            "old_time_spent_ms": old_time_spent,
            "rows": json.dumps(
                [
                    {
                        "step_id": None if r.step is None else step_pk[r.step],
                        "criterion_id": r.criterion.pk,
                        "value": r.value,
                        "code": r.code,
                    }
                    for r in rows
                ]
            ),
            "rater": rater_id,
            "item": item_pk,
            "rationale": rationale,
            "meta": json.dumps(meta),
        },
    )
    if not written[0][0]:
        return None  # the assignment moved on meanwhile: the ORM path locks and decides
    for name, value in changes.items():
        setattr(assignment, name, value)
    return services.SubmitResult(assignment, len(rows), repeated=False)
