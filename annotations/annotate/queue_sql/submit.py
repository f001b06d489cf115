"""Submit on PostgreSQL: one read, then one statement that updates and upserts."""

import json
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from psycopg import sql

from annotations.annotate import queue_orm, rules
from annotations.annotate.queue_sql.auth import Prefetched, register_read
from annotations.annotate.queue_sql.db import CRITERIA, criteria_from_rows, fetch, json_value, text
from annotations.annotate.raters import rater_for_user
from annotations.annotate.rules import JudgementRow, Submission, SubmitResult
from annotations.models import Assignment

_SUBMIT_READ = sql.SQL("""
SELECT a.id, a.status, a.submission_id, a.time_spent_ms, a.swapped, a.submitted_at,
    i.kind, i.n_steps, p.id, p.error_ends_solution,
    (SELECT r.id FROM annotations_rater r WHERE r.project_id = p.id AND r.user_id = a.user_id),
    (SELECT g.expected FROM annotations_golditem g WHERE g.item_id = i.id),
    {criteria},
    (SELECT coalesce(json_agg(json_build_array(s.index, s.id)), '[]')
     FROM annotations_step s WHERE s.item_id = i.id)
FROM annotations_assignment a
JOIN annotations_project p ON p.id = a.project_id
JOIN annotations_item i ON i.id = a.item_id
WHERE a.user_id = {user} AND p.slug = %(slug)s AND a.item_id = %(item_id)s
    AND a.status IN ('assigned', 'submitted')
    AND EXISTS (
        SELECT 1 FROM annotations_membership m
        WHERE m.project_id = p.id AND m.user_id = a.user_id
    )
""")


def _submit_read(user: sql.Composable) -> sql.Composed:
    return _SUBMIT_READ.format(criteria=CRITERIA, user=user)


register_read("submit", _submit_read)
_SUBMIT_READ_ALONE = text(_submit_read(sql.Placeholder("user")))


class SubmitRead(NamedTuple):
    """The assignment as the submit read found it, with what deciding the submission needs."""

    assignment_id: int
    status: str
    submission_id: object
    time_spent_ms: int
    swapped: bool
    submitted_at: object
    kind: str
    n_steps: int
    project_id: int
    error_ends_solution: bool
    rater_id: int | None
    expected: object
    criteria: object
    step_ids: object


# What a repeated submission stored (a retry is answered with the first answer's count).
_STORED = """
SELECT count(*) FROM annotations_judgement j JOIN annotations_rater r ON r.id = j.rater_id
WHERE j.item_id = %(item)s AND r.project_id = %(project)s AND r.user_id = %(user)s
"""

_UPSERT = sql.SQL("""
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
""")

# An edit may answer fewer targets (an earlier error now ends the solution).
_DELETE_OLD = sql.SQL(""", removed AS (
    DELETE FROM annotations_judgement j
    WHERE j.rater_id = %(rater)s AND j.item_id = %(item)s AND EXISTS (SELECT 1 FROM updated)
        AND NOT EXISTS (
            SELECT 1 FROM new_rows r
            WHERE r.criterion_id = j.criterion_id AND r.step_id IS NOT DISTINCT FROM j.step_id
        )
)""")

_SUBMIT_WRITE = sql.SQL("""
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
""")


def _write_statement(*, replace: bool) -> str:
    """The write; `replace` also deletes the earlier answers the new ones leave out."""
    columns = ("rater_id", "{target}_id", "criterion_id")

    def upsert(target: str, null: str) -> sql.Composed:
        names = [sql.Identifier(c.format(target=target)) for c in columns]
        return _UPSERT.format(null=sql.SQL(null), columns=sql.SQL(", ").join(names))

    return text(
        _SUBMIT_WRITE.format(
            step_upsert=upsert("step", "NOT NULL"),
            item_upsert=upsert("item", "NULL"),
            delete=_DELETE_OLD if replace else sql.SQL(""),
        )
    )


_FIRST_WRITE, _EDIT_WRITE = _write_statement(replace=False), _write_statement(replace=True)


def _read(user: AbstractBaseUser, slug: str, item_id: int, prefetched: object) -> SubmitRead | None:
    if isinstance(prefetched, Prefetched) and prefetched.read == "submit":
        row = prefetched.row
    else:
        found = fetch(_SUBMIT_READ_ALONE, {"user": user.pk, "slug": slug, "item_id": item_id})
        row = found[0] if found else None
    return None if row is None else SubmitRead(*row)


def _rows_json(rows: list[JudgementRow], step_ids: dict[int, int]) -> str:
    return json.dumps(
        [
            {
                "step_id": None if r.step is None else step_ids[r.step],
                "criterion_id": r.criterion.pk,
                "value": r.value,
                "code": r.code,
            }
            for r in rows
        ]
    )


def assignment_submit(
    *,
    user: AbstractBaseUser,
    slug: str,
    item_id: int,
    submission: Submission,
    prefetched: object = None,
) -> SubmitResult:
    """As `queue_orm.assignment_submit`, in two statements. The ORM engine answers what this
    one leaves to it: an item outside the user's queue (its 404) and an assignment that moved
    on between the read and the write (it locks the row and decides)."""
    read = _read(user, slug, item_id, prefetched)
    if read is None:
        return queue_orm.assignment_submit(
            user=user, slug=slug, item_id=item_id, submission=submission
        )
    if read.submission_id == submission.submission_id:
        stored = fetch(_STORED, {"item": item_id, "project": read.project_id, "user": user.pk})
        return SubmitResult(item_id, read.status, stored[0][0], repeated=True)
    if submission.base is not rules.UNCHECKED and submission.base != read.submission_id:
        # Other answers were stored since the form was opened (a conflict, or its confirmed
        # overwrite, which is audited): rare, decided by the ORM engine.
        return queue_orm.assignment_submit(
            user=user, slug=slug, item_id=item_id, submission=submission
        )
    rows = rules.submission_rows(
        kind=read.kind,
        n_steps=read.n_steps,
        criteria=criteria_from_rows(json_value(read.criteria), read.project_id),
        labels=submission.labels,
        error_ends_solution=read.error_ends_solution,
        rationale=submission.rationale,
        asked=submission.criteria,
    )
    rater_id = read.rater_id
    if rater_id is None:
        rater_id = rater_for_user(user_id=user.pk, project_id=read.project_id).pk
    gold = {"gold_correct": None, "gold_total": None}
    if read.expected is not None:
        score = rules.gold_score(json_value(read.expected), rows)
        gold = {"gold_correct": score[0], "gold_total": score[1]}
    meta = rules.judgement_meta(
        submission_id=submission.submission_id, kind=read.kind, swapped=read.swapped
    )
    written = fetch(
        _EDIT_WRITE if read.submitted_at else _FIRST_WRITE,
        {
            **gold,
            "submission": submission.submission_id,
            "now": timezone.now(),
            "time_spent_ms": rules.time_total(read.time_spent_ms, submission.time_spent_ms),
            "assignment": read.assignment_id,
            "old_submission": read.submission_id,
            "old_time_spent_ms": read.time_spent_ms,
            "rows": _rows_json(rows, dict(json_value(read.step_ids))),
            "rater": rater_id,
            "item": item_id,
            "rationale": submission.rationale,
            "meta": json.dumps(meta),
        },
    )
    if not written[0][0]:
        # The assignment moved on meanwhile: the ORM engine locks it and decides.
        return queue_orm.assignment_submit(
            user=user, slug=slug, item_id=item_id, submission=submission
        )
    return SubmitResult(item_id, Assignment.Status.SUBMITTED, len(rows), repeated=False)
