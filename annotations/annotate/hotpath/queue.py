"""Next item on PostgreSQL: one read, then one statement that claims and returns the item."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from annotations.annotate import selectors
from annotations.annotate.hotpath.db import CRITERIA, criteria_from_rows, fetch, json_value
from annotations.errors import DomainError
from annotations.models import Assignment, Item, Project

_NEXT_READ = f"""
SELECT p.id, p.overlap, p.error_ends_solution,
    EXISTS (
        SELECT 1 FROM annotations_assignment a
        WHERE a.project_id = p.id AND a.user_id = m.user_id AND a.status = 'assigned'
    ),
    {CRITERIA},
    (SELECT i.id FROM annotations_item i WHERE i.project_id = p.id ORDER BY i.id LIMIT 1),
    (SELECT i.id FROM annotations_item i WHERE i.project_id = p.id ORDER BY i.id DESC LIMIT 1)
FROM annotations_membership m JOIN annotations_project p ON p.id = m.project_id
WHERE m.user_id = %(user)s AND p.slug = %(slug)s
"""

# The window of the user's next unseen items, as in `selectors.items_claimable`, without
# reading the whole project: within one wrap of the modulus the order follows the item id
# (see `order_runs`), so each run is a primary-key range scan that skips what the user has seen
# and stops after the window, and the runs' heads are merged. Then the lowest free slot of
# each window item in order (gold items take none); the first claimable one is inserted.
# (Scanning each run only to its first claimable item was slower: an item's holders are
# counted for every unseen item passed, where the window counts them only up to the pick.)
_NEXT_CLAIM = """
WITH window_ AS (
    SELECT head.item_id, head.position,
        EXISTS (SELECT 1 FROM annotations_golditem g WHERE g.item_id = head.item_id) AS is_gold
    FROM unnest(%(run_lo)s::bigint[], %(run_hi)s::bigint[], %(run_base)s::bigint[])
        AS run (lo, hi, base)
    CROSS JOIN LATERAL (
        SELECT i.id AS item_id, i.id * %(multiplier)s + run.base AS position
        FROM annotations_item i
        WHERE i.project_id = %(project)s AND i.id BETWEEN run.lo AND run.hi
            -- Two tests, not one with OR, so that each is an index probe.
            AND NOT EXISTS (
                SELECT 1 FROM annotations_assignment a
                WHERE a.item_id = i.id AND a.user_id = %(user)s
            )
            AND NOT EXISTS (
                SELECT 1 FROM annotations_assignment a
                WHERE a.item_id = i.id AND a.status = 'flagged'
            )
        ORDER BY i.id LIMIT {window}
    ) head
    ORDER BY head.position LIMIT {window}
), pick AS (
    -- Sorted first so that the nested loop keeps the order and stops at the first claimable.
    SELECT w.item_id, w.is_gold, free.slot
    FROM (SELECT * FROM window_ ORDER BY position) w
    LEFT JOIN LATERAL (
        SELECT s AS slot FROM generate_series(0, %(overlap)s - 1) s
        WHERE NOT EXISTS (
            SELECT 1 FROM annotations_assignment a WHERE a.item_id = w.item_id AND a.slot = s
        )
        ORDER BY s LIMIT 1
    ) free ON NOT w.is_gold
    WHERE w.is_gold OR free.slot IS NOT NULL
    ORDER BY w.position LIMIT 1
), claimed AS (
    INSERT INTO annotations_assignment (
        project_id, item_id, user_id, slot, status, is_gold, swapped, reason, time_spent_ms,
        created_at
    )
    SELECT %(project)s, item_id, %(user)s, slot, 'assigned', is_gold,
        get_byte(sha256(convert_to('swap:' || %(user)s::text || ':' || item_id::text, 'UTF8')), 7)
            & 1 = 1,
        '', 0, now()
    FROM pick
    ON CONFLICT DO NOTHING
    RETURNING id, item_id, slot, is_gold, swapped, created_at
)
SELECT (SELECT count(*) FROM window_), (SELECT count(*) FROM pick),
    c.id, c.slot, c.is_gold, c.swapped, c.created_at, i.id, i.external_id, i.kind, i.prompt,
    i.response, i.response_a, i.response_b, i.reference_answer, i.n_steps,
    (SELECT coalesce(json_agg(json_build_array(s.index, s.text) ORDER BY s.index), '[]')
     FROM annotations_step s WHERE s.item_id = c.item_id)
FROM (SELECT 1) one
LEFT JOIN claimed c ON true
LEFT JOIN annotations_item i ON i.id = c.item_id
""".replace("{window}", str(selectors.CLAIM_WINDOW))

NEXT_ROUNDS = 20  # one candidate per round (the ORM path tries 8 per round, 5 rounds)
MAX_RUNS = 32  # more (ids spread thinly over a wide range): the ORM path scans the project


def order_runs(*, low: int, high: int, multiplier: int, offset: int) -> list[tuple[int, int, int]]:
    """The user's order over item ids low..high as runs of ascending ids: (first id, last id,
    base), with position = id * multiplier + base inside a run.

    position = (id * multiplier + offset) mod p; within one wrap w (the ids whose
    id * multiplier + offset falls in [w p, (w + 1) p)) it is id * multiplier + offset - w p,
    which grows with the id. The multiplier is below 2**20, so a wrap spans at least 2**11 ids.
    """
    prime = selectors.SHUFFLE_PRIME
    runs = []
    for wrap in range(
        (low * multiplier + offset) // prime, (high * multiplier + offset) // prime + 1
    ):
        first = max(low, -((offset - wrap * prime) // multiplier))
        last = min(high, ((wrap + 1) * prime - 1 - offset) // multiplier)
        if first <= last:
            runs.append((first, last, offset - wrap * prime))
    return runs


@dataclass(frozen=True)
class NextMiss:
    """The fast path could not decide; `project` is set when the user may annotate it."""

    project: Project | None


def assignment_next_sheet(
    *, user: AbstractBaseUser, slug: str
) -> selectors.ItemSheet | NextMiss | None:
    """The sheet of a newly claimed item; None when nothing is left; NextMiss for the ORM."""
    found = fetch(_NEXT_READ, {"user": user.pk, "slug": slug})
    if not found:
        return NextMiss(None)
    project_id, overlap, error_ends_solution, has_open, criteria, low, high = found[0]
    project = Project(
        id=project_id, slug=slug, overlap=overlap, error_ends_solution=error_ends_solution
    )
    project._annotate_criteria = criteria_from_rows(json_value(criteria), project_id)
    if has_open:
        return NextMiss(project)  # resume: the ORM path reads the item and own answers
    if low is None:
        return None  # no items at all
    multiplier, offset = selectors.shuffle_key(user_id=user.pk)
    runs = order_runs(low=low, high=high, multiplier=multiplier, offset=offset)
    if len(runs) > MAX_RUNS:
        return NextMiss(project)
    params = {
        "user": user.pk,
        "project": project_id,
        "overlap": overlap,
        "multiplier": multiplier,
        "run_lo": [run[0] for run in runs],
        "run_hi": [run[1] for run in runs],
        "run_base": [run[2] for run in runs],
    }
    for _ in range(NEXT_ROUNDS):
        claimed = fetch(_NEXT_CLAIM, params)[0]
        n_window, n_pick, pk, slot, is_gold, swapped, created_at, *item_row = claimed
        if pk is not None:
            break
        if not n_pick:
            # An empty window: nothing left; a full one: the whole project is scanned.
            return None if n_window < selectors.CLAIM_WINDOW else NextMiss(project)
        # Refused: another annotator took the slot, or another tab claimed an item.
        if Assignment.objects.filter(
            project_id=project_id, user=user, status=Assignment.Status.ASSIGNED
        ).exists():
            return NextMiss(project)
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
