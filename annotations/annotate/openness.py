"""Which items are open, kept on the item and the project so `next` and the progress count
cost the same at any progress of a campaign.

An item is *open* when nobody flagged it and it has a free slot or is gold (the rule of
`selectors.items_claimable`, the one place where it is written as a query, `OPEN`). The queue
keeps, in the same transaction as every write that can change it:

- `Item.open_slots`: free slots; NULL when all the project's k are free (also before any
  claim, so new items need no value) and for a gold item (gold takes no slot). A claim
  takes one, a skip, a flag or the reaper gives one back: `item_slots_change`.
- `Item.flags`: how many annotators' flags hold it back: `item_flags_change`.
- `QueueCounter.items_open`: how many of the project's items are open, moved by one when an item
  opens or closes, and by the import when it adds items.

Claims walk the partial index `item_open_scatter` (only open items are in it), so at the end
of a campaign they no longer step over the full items one probe at a time; the count of what
is left for a user is the open items counted less the user's own rows on open items.

The counters change with `col = col + delta` in one UPDATE, which PostgreSQL applies to the
row's latest version after waiting for its lock, so concurrent claims of one item cannot lose
a change; the state before the change follows from the one after it and the delta.
"""

from django.db import connection
from django.db.models import Q

from annotations.models import Item

# The open-item rule as a query: flagged by nobody, and untouched (NULL: k free slots), gold
# (NULL) or with a free slot. The partial index `item_open_scatter` has this condition.
OPEN = Q(flags=0) & (Q(open_slots__isnull=True) | Q(open_slots__gt=0))


def is_open(*, open_slots: int | None, flags: int) -> bool:
    """The rule of `OPEN` for one item's values."""
    return flags == 0 and (open_slots is None or open_slots > 0)


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("The queue's counters change only inside the write's transaction.")


def _project_open_add(project_id: int, delta: int) -> None:
    if delta:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO annotations_queuecounter (project_id, items_open) VALUES (%s, %s)"
                " ON CONFLICT (project_id)"
                " DO UPDATE SET items_open = annotations_queuecounter.items_open + %s",
                [project_id, delta, delta],
            )


def item_slots_change(*, item_id: int, delta: int) -> None:
    """A slot of the item was taken (-1) or given back (+1). Gold items' slots stay NULL."""
    _require_transaction()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotations_item SET open_slots = CASE"
            " WHEN EXISTS (SELECT 1 FROM annotations_golditem g"
            "  WHERE g.item_id = annotations_item.id) THEN NULL"
            " WHEN coalesce(open_slots, p.overlap) + %s >= p.overlap THEN NULL"
            " ELSE coalesce(open_slots, p.overlap) + %s END"
            " FROM annotations_project p WHERE p.id = annotations_item.project_id"
            " AND annotations_item.id = %s RETURNING project_id, open_slots, flags",
            [delta, delta, item_id],
        )
        project_id, slots, flags = cursor.fetchone()
    if slots is None:
        # All k free again (open before too: a slot was just given back) or gold (open
        # whatever its slots): no change of state.
        return
    before = is_open(open_slots=slots - delta, flags=flags)
    _project_open_add(project_id, is_open(open_slots=slots, flags=flags) - before)


def item_flags_change(*, item_id: int, delta: int) -> None:
    """A flag was put on the item (+1) or released by a lead (-1)."""
    _require_transaction()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotations_item SET flags = flags + %s WHERE id = %s"
            " RETURNING project_id, open_slots, flags",
            [delta, item_id],
        )
        project_id, slots, flags = cursor.fetchone()
    before = is_open(open_slots=slots, flags=flags - delta)
    _project_open_add(project_id, is_open(open_slots=slots, flags=flags) - before)


def item_gold_made(*, item_id: int) -> None:
    """The item became gold: it takes no slot from now on, so it is open unless flagged."""
    _require_transaction()
    with connection.cursor() as cursor:
        project_id, slots, flags = (
            Item.objects.select_for_update(no_key=True)
            .filter(pk=item_id)
            .values_list("project_id", "open_slots", "flags")
            .get()
        )
        cursor.execute("UPDATE annotations_item SET open_slots = NULL WHERE id = %s", [item_id])
    before = is_open(open_slots=slots, flags=flags)
    _project_open_add(project_id, is_open(open_slots=None, flags=flags) - before)


def project_items_added(*, project_id: int, n: int) -> None:
    """New items (untouched: open) were written to the project."""
    _require_transaction()
    _project_open_add(project_id, n)


# Every item's counters from its assignments, then each project's count (the migration's
# backfill, an overlap change and the benchmarks' fixtures). Set-based; SQLite and PostgreSQL.
_REFRESH_ITEMS = """
UPDATE annotations_item SET
    flags = (SELECT count(*) FROM annotations_assignment a
        WHERE a.item_id = annotations_item.id AND a.status = 'flagged'),
    open_slots = CASE
        WHEN EXISTS (SELECT 1 FROM annotations_golditem g WHERE g.item_id = annotations_item.id)
            THEN NULL
        WHEN NOT EXISTS (SELECT 1 FROM annotations_assignment a
            WHERE a.item_id = annotations_item.id AND a.slot IS NOT NULL) THEN NULL
        ELSE (SELECT p.overlap FROM annotations_project p
                WHERE p.id = annotations_item.project_id)
            - (SELECT count(*) FROM annotations_assignment a
                WHERE a.item_id = annotations_item.id AND a.slot IS NOT NULL)
    END
"""
_REFRESH_PROJECTS = """
INSERT INTO annotations_queuecounter (project_id, items_open)
SELECT p.id, (
    SELECT count(*) FROM annotations_item i WHERE i.project_id = p.id
        AND i.flags = 0 AND (i.open_slots IS NULL OR i.open_slots > 0)
) FROM annotations_project p {where}
ON CONFLICT (project_id) DO UPDATE SET items_open = excluded.items_open
"""


def queue_counters_refresh(*, project_id: int | None = None) -> None:
    """Recompute the counters from the assignments (all projects, or one)."""
    where_items = "" if project_id is None else " WHERE project_id = %s"
    # "WHERE true" also settles SQLite's reading of ON CONFLICT after INSERT ... SELECT.
    where_projects = "WHERE true" if project_id is None else "WHERE p.id = %s"
    params = [] if project_id is None else [project_id]
    with connection.cursor() as cursor:
        cursor.execute(_REFRESH_ITEMS + where_items, params)
        cursor.execute(_REFRESH_PROJECTS.format(where=where_projects), params)
