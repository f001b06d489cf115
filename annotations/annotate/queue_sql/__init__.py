"""The annotator queue's two busiest calls, next item and submit, as PostgreSQL statements.

Why it exists: building the ORM's queries cost more CPU than PostgreSQL spent running them
(about 5 ms of Python per request), which capped the annotator API near 240 requests/s on
two cores; these statements reach 560-680.

What it may do: only what `queue_orm` does, decided by the same `rules`. It reads the facts a
decision needs in one statement, asks `rules` (submission_rows, time_total, gold_score,
judgement_meta) and writes in one more statement. Which items may be claimed is a query, so it
is written here once more in SQL (`next._FIRST_CLAIMABLE`, the rule of
`selectors.items_claimable`); `tests/annotations/annotate/test_queue_contract.py` runs the same
cases against both engines. Whatever is rare (a user who is not a member, a resumed item,
a claim or submission racing another) it hands to `queue_orm`, so the rare cases have one
implementation. `services.assignment_next` / `assignment_submit` choose this engine on
PostgreSQL (unless ANNOTATE_SQL_QUEUE=0); nothing else calls it.

- auth: DRF's token lookup as one prepared statement (`TokenAuthenticationPrepared`); for
  next and submit it is also the call's first read, handed to the view as `request.auth`.
- next: one read (membership, project, open item, criteria), then one statement that finds
  the first item the user may take from a random point of the scatter order on, claims its
  lowest free slot with INSERT ... ON CONFLICT DO NOTHING and returns the item with its steps.
- submit: one read (assignment, item, criteria, rater, gold, step ids), then one statement:
  the conditional UPDATE of the assignment and the upsert of the judgements on their two
  partial unique constraints, atomic on its own.

Statements are composed with `psycopg.sql` once, at import, and prepared on the server with
generic plans (`db.fetch` and the database settings), so a connection pooler in transaction
mode needs DATABASE_PREPARED_STATEMENTS=0.
"""

from annotations.annotate.queue_sql.auth import Prefetched, TokenAuthenticationPrepared
from annotations.annotate.queue_sql.next import assignment_next
from annotations.annotate.queue_sql.submit import assignment_submit

__all__ = ["Prefetched", "TokenAuthenticationPrepared", "assignment_next", "assignment_submit"]
