"""Next item on PostgreSQL: one read, then one statement that claims and returns the item."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from annotations.annotate import selectors
from annotations.annotate.hotpath.auth import by_token
from annotations.annotate.hotpath.db import CRITERIA, criteria_from_rows, fetch, json_value
from annotations.errors import DomainError
from annotations.models import Assignment, Item, Project

_NEXT_READ = f"""
SELECT p.id, p.overlap, p.error_ends_solution,
    EXISTS (
        SELECT 1 FROM annotations_assignment a
        WHERE a.project_id = p.id AND a.user_id = m.user_id AND a.status = 'assigned'
    ),
    {CRITERIA}
FROM annotations_membership m JOIN annotations_project p ON p.id = m.project_id
WHERE m.user_id = %(user)s AND p.slug = %(slug)s
"""
NEXT_READ_BY_TOKEN = by_token(_NEXT_READ)

# The first item the user may take from `start` on in the scatter order (`selectors`' queue
# order), then from the beginning up to `start`: an index scan of (project, scatter) that stops
# at the first item that is not the user's, not flagged, and gold or with a free slot, each
# decided from one read of the item's assignments. The second lap runs only if the first
# found nothing. The lowest free slot is inserted with ON CONFLICT DO NOTHING, which refuses a
# slot or an item another request took meanwhile.
_FIRST_CLAIMABLE = """
    SELECT i.id AS item_id, gold.is_gold, held.taken
    FROM annotations_item i
    CROSS JOIN LATERAL (
        SELECT coalesce(bool_or(a.user_id = %(user)s OR a.status = 'flagged'), false)
                AS blocked,
            coalesce(array_agg(a.slot) FILTER (WHERE a.slot IS NOT NULL), '{{}}') AS taken
        FROM annotations_assignment a WHERE a.item_id = i.id
    ) held
    CROSS JOIN LATERAL (
        SELECT EXISTS (SELECT 1 FROM annotations_golditem g WHERE g.item_id = i.id) AS is_gold
    ) gold
    WHERE i.project_id = %(project)s AND {range} AND NOT held.blocked
        AND (gold.is_gold OR cardinality(held.taken) < %(overlap)s)
    ORDER BY i.scatter LIMIT 1
"""

_NEXT_CLAIM = """
WITH after AS ({after}), before AS ({before}), pick AS (
    SELECT * FROM after UNION ALL SELECT * FROM before
), claimed AS (
    INSERT INTO annotations_assignment (
        project_id, item_id, user_id, slot, status, is_gold, swapped, reason, time_spent_ms,
        created_at
    )
    SELECT %(project)s, item_id, %(user)s,
        CASE WHEN NOT is_gold THEN (
            SELECT min(s) FROM generate_series(0, %(overlap)s - 1) s WHERE s <> ALL (taken)
        ) END,
        'assigned', is_gold,
        get_byte(sha256(convert_to('swap:' || %(user)s::text || ':' || item_id::text, 'UTF8')), 7)
            & 1 = 1,
        '', 0, now()
    FROM pick
    ON CONFLICT DO NOTHING
    RETURNING id, item_id, slot, is_gold, swapped, created_at
)
SELECT (SELECT count(*) FROM pick),
    c.id, c.slot, c.is_gold, c.swapped, c.created_at, i.id, i.external_id, i.kind, i.prompt,
    i.response, i.response_a, i.response_b, i.reference_answer, i.n_steps,
    (SELECT coalesce(json_agg(json_build_array(s.index, s.text) ORDER BY s.index), '[]')
     FROM annotations_step s WHERE s.item_id = c.item_id)
FROM (SELECT 1) one
LEFT JOIN claimed c ON true
LEFT JOIN annotations_item i ON i.id = c.item_id
""".format(
    after=_FIRST_CLAIMABLE.format(range="i.scatter >= %(start)s"),
    before=_FIRST_CLAIMABLE.format(
        range="i.scatter < %(start)s AND NOT EXISTS (SELECT 1 FROM after)"
    ),
)

NEXT_ROUNDS = 20  # one candidate per round (the ORM path tries 8 per round, 5 rounds)


@dataclass(frozen=True)
class NextMiss:
    """The fast path could not decide; `project` is set when the user may annotate it."""

    project: Project | None


def assignment_next_sheet(
    *, user: AbstractBaseUser, slug: str, start: int | None = None, read: tuple | None = None
) -> selectors.ItemSheet | NextMiss | None:
    """The sheet of a newly claimed item; None when nothing is left; NextMiss for the ORM.

    `start` is where the claim starts in the scatter order (random by default, as in
    `selectors.items_claimable`); `read` is the row of NEXT_READ_BY_TOKEN when token
    authentication already read it.
    """
    if read is None:
        found = fetch(_NEXT_READ, {"user": user.pk, "slug": slug})
        read = found[0] if found else None
    if read is None or read[0] is None:
        return NextMiss(None)
    project_id, overlap, error_ends_solution, has_open, criteria = read
    project = Project(
        id=project_id, slug=slug, overlap=overlap, error_ends_solution=error_ends_solution
    )
    project._annotate_criteria = criteria_from_rows(json_value(criteria), project_id)
    if has_open:
        return NextMiss(project)  # resume: the ORM path reads the item and own answers
    params = {
        "user": user.pk,
        "project": project_id,
        "overlap": overlap,
        "start": selectors.claim_start() if start is None else start,
    }
    for _ in range(NEXT_ROUNDS):
        claimed = fetch(_NEXT_CLAIM, params)[0]
        n_pick, pk, slot, is_gold, swapped, created_at, *item_row = claimed
        if pk is not None:
            break
        if not n_pick:
            return None  # nothing left for this user
        # Refused: another annotator took the slot, or another tab claimed an item.
        if Assignment.objects.filter(
            project_id=project_id, user=user, status=Assignment.Status.ASSIGNED
        ).exists():
            return NextMiss(project)
        params["start"] = selectors.claim_start()
    else:
        raise DomainError("Many annotators are asking for items right now; please try again.")
    item_id, external_id, kind, prompt, response, response_a, response_b, reference, n_steps = (
        item_row[:9]
    )
    item = Item(
        id=item_id,
        project_id=project_id,
        external_id=external_id,
        kind=kind,
        prompt=prompt,
        response=response,
        response_a=response_a,
        response_b=response_b,
        reference_answer=reference,
        n_steps=n_steps,
    )
    assignment = Assignment(
        id=pk,
        project=project,
        item=item,
        user_id=user.pk,
        slot=slot,
        status=Assignment.Status.ASSIGNED,
        is_gold=is_gold,
        swapped=swapped,
        created_at=created_at,
    )
    steps = [tuple(step) for step in json_value(item_row[9])]
    return selectors.item_sheet_build(
        assignment=assignment, criteria=project._annotate_criteria, steps=steps
    )
