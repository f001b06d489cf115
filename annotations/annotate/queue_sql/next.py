"""Next item on PostgreSQL: one read, then one statement that claims and returns the item."""

from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from psycopg import sql

from annotations.annotate import openness, queue_orm, rules
from annotations.annotate.queue_sql.auth import Prefetched, register_read
from annotations.annotate.queue_sql.db import CRITERIA, criteria_from_rows, fetch, json_value, text
from annotations.annotate.rules import Claim, ItemText
from annotations.annotate.sheet import ItemSheet, item_sheet_build
from annotations.errors import DomainError
from annotations.models import Assignment

_NEXT_READ = sql.SQL("""
SELECT p.id, p.slug, p.overlap, p.error_ends_solution,
    EXISTS (
        SELECT 1 FROM annotations_assignment a
        WHERE a.project_id = p.id AND a.user_id = m.user_id AND a.status = 'assigned'
    ),
    {criteria}
FROM annotations_membership m JOIN annotations_project p ON p.id = m.project_id
WHERE m.user_id = {user} AND p.slug = %(slug)s
""")


def _next_read(user: sql.Composable) -> sql.Composed:
    return _NEXT_READ.format(criteria=CRITERIA, user=user)


register_read("next", _next_read)
_NEXT_READ_ALONE = text(_next_read(sql.Placeholder("user")))


class NextRead(NamedTuple):
    """The membership read: the project and whether the user has an open item."""

    project_id: int
    slug: str
    overlap: int
    error_ends_solution: bool
    has_open: bool
    criteria: list


# The first item the user may take from `start` on in the scatter order, then from the
# beginning up to `start`: a scan of the partial index of open items (`openness.OPEN`,
# written out here) that stops at the first item the user never had (the rule of
# `selectors.items_claimable`); the item's held slots are read for that item only. The
# second lap runs only if the first found nothing. The lowest free slot is inserted with ON
# CONFLICT DO NOTHING, which refuses a slot or an item another request took meanwhile.
_FIRST_CLAIMABLE = sql.SQL("""
    SELECT i.id AS item_id, gold.is_gold, held.taken
    FROM annotations_item i
    CROSS JOIN LATERAL (
        SELECT coalesce(array_agg(a.slot) FILTER (WHERE a.slot IS NOT NULL), '{{}}') AS taken
        FROM annotations_assignment a WHERE a.item_id = i.id
    ) held
    CROSS JOIN LATERAL (
        SELECT EXISTS (SELECT 1 FROM annotations_golditem g WHERE g.item_id = i.id) AS is_gold
    ) gold
    WHERE i.project_id = %(project)s AND {range}
        AND i.flags = 0 AND (i.open_slots IS NULL OR i.open_slots > 0)
        AND (gold.is_gold OR cardinality(held.taken) < %(overlap)s)
        AND NOT EXISTS (
            SELECT 1 FROM annotations_assignment mine
            WHERE mine.item_id = i.id AND mine.user_id = %(user)s
        )
    ORDER BY i.scatter LIMIT 1
""")

_NEXT_CLAIM = text(
    sql.SQL("""
WITH after AS ({after}), before AS ({before}), pick AS (
    SELECT * FROM after UNION ALL SELECT * FROM before
), claimed AS (
    INSERT INTO annotations_assignment (
        project_id, item_id, user_id, slot, status, is_gold, reason, time_spent_ms, created_at
    )
    SELECT %(project)s, item_id, %(user)s,
        CASE WHEN NOT is_gold THEN (
            SELECT min(s) FROM generate_series(0, %(overlap)s - 1) s WHERE s <> ALL (taken)
        ) END,
        'assigned', is_gold, '', 0, now()
    FROM pick
    ON CONFLICT DO NOTHING
    RETURNING id, item_id, slot, is_gold, swapped
)
SELECT (SELECT count(*) FROM pick),
    c.id, c.slot, c.is_gold, c.swapped, i.id, i.kind, i.prompt,
    i.response, i.response_a, i.response_b, i.reference_answer, i.n_steps,
    (SELECT coalesce(json_agg(json_build_array(s.index, s.text) ORDER BY s.index), '[]')
     FROM annotations_step s WHERE s.item_id = c.item_id)
FROM (SELECT 1) one
LEFT JOIN claimed c ON true
LEFT JOIN annotations_item i ON i.id = c.item_id
""").format(
        after=_FIRST_CLAIMABLE.format(range=sql.SQL("i.scatter >= %(start)s")),
        before=_FIRST_CLAIMABLE.format(
            range=sql.SQL("i.scatter < %(start)s AND NOT EXISTS (SELECT 1 FROM after)")
        ),
    )
)

NEXT_ROUNDS = 20  # one candidate per round (the ORM engine tries 8 per round, 5 rounds)


def _read(user: AbstractBaseUser, slug: str, prefetched: object) -> NextRead | None:
    if isinstance(prefetched, Prefetched) and prefetched.read == "next":
        row = prefetched.row
    else:
        found = fetch(_NEXT_READ_ALONE, {"user": user.pk, "slug": slug})
        row = found[0] if found else None
    return None if row is None else NextRead(*row[:5], json_value(row[5]))


def _sheet(read: NextRead, row: tuple) -> ItemSheet:
    """The sheet of a claimed item from the claim statement's row."""
    _, pk, slot, is_gold, swapped, *item, steps = row
    claim = Claim(pk, item[0], read.slug, slot, Assignment.Status.ASSIGNED, is_gold, swapped, None)
    return item_sheet_build(
        claim=claim,
        item=ItemText(*item),
        criteria=criteria_from_rows(read.criteria, read.project_id),
        steps=[tuple(step) for step in json_value(steps)],
        error_ends_solution=read.error_ends_solution,
    )


def assignment_next(
    *, user: AbstractBaseUser, slug: str, start: int | None = None, prefetched: object = None
) -> ItemSheet | None:
    """As `queue_orm.assignment_next`: the user's open item or a newly claimed one, None when
    nothing is left. The ORM engine answers what this one leaves to it: a user who is not a
    member (its 404), a resumed item (it reads the own answers) and a claim racing another
    tab of the same user."""
    read = _read(user, slug, prefetched)
    if read is None or read.has_open:
        return queue_orm.assignment_next(user=user, slug=slug, start=start)
    params = {
        "user": user.pk,
        "project": read.project_id,
        "overlap": read.overlap,
        "start": rules.claim_start() if start is None else start,
    }
    for _ in range(NEXT_ROUNDS):
        # The claim and the item's counters change in one transaction (`openness`).
        with transaction.atomic():
            row = fetch(_NEXT_CLAIM, params)[0]
            if row[1] is not None and row[2] is not None:
                openness.item_slots_change(item_id=row[5], delta=-1)
        if row[1] is not None:
            return _sheet(read, row)
        if not row[0]:
            return None  # nothing left for this user
        # Refused: another annotator took the slot, or another tab claimed an item.
        if Assignment.objects.filter(
            project_id=read.project_id, user=user, status=Assignment.Status.ASSIGNED
        ).exists():
            return queue_orm.assignment_next(user=user, slug=slug)
        params["start"] = rules.claim_start()
    raise DomainError("Many annotators are asking for items right now; please try again.")
