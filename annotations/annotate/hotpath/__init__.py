"""PostgreSQL statements for the two busiest API calls: next item and submit.

The same rules as `services.assignment_next` and `services.assignment_submit`, written as
a few hand-made statements because building ORM queries cost more CPU than running them
(about 5 ms of Python per request). Each function returns None or `NextMiss` whenever the
ORM path must decide instead (a resumed item, a claim racing another tab, a submission
racing another one, a 404), so the rare cases keep one implementation. The API calls these only on
PostgreSQL; SQLite (and the pages) use the ORM path.

- auth: DRF's token lookup as one prepared statement (`TokenAuthenticationPrepared`); for
  next and submit it is also the call's first read (`by_token`), so a call with a token makes
  two statements.
- next: one read (membership, project, open item, criteria), then one statement that finds
  the first item the user may take from a random point of the scatter order on (the queue's
  order, see `selectors`), claims its lowest free slot with INSERT ... ON CONFLICT DO NOTHING
  and returns the item with its steps.
- submit: one read (assignment, membership, item, criteria, rater, gold, step ids; a
  repeated submission id then counts what it stored), then one statement: the conditional UPDATE of
  the assignment and the upsert of the judgements on their two partial unique constraints,
  atomic on its own.

Statements are prepared on the server with generic plans (see `db.fetch` and the database
settings), so a connection pooler in transaction mode needs DATABASE_PREPARED_STATEMENTS=0.
"""

from annotations.annotate.hotpath.auth import TokenAuthenticationPrepared
from annotations.annotate.hotpath.queue import NEXT_READ_BY_TOKEN, NextMiss, assignment_next_sheet
from annotations.annotate.hotpath.submit import SUBMIT_READ_BY_TOKEN, assignment_submit

__all__ = [
    "NEXT_READ_BY_TOKEN",
    "SUBMIT_READ_BY_TOKEN",
    "NextMiss",
    "TokenAuthenticationPrepared",
    "assignment_next_sheet",
    "assignment_submit",
]
