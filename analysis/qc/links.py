"""Where a number on the QC and overview pages leads: the lead's item browser, filtered.

Every link to the item browser is built here, so when its URL name is known this one
function switches to `reverse()`. The filters used: `rater` (a rater's name), `criterion`,
`gold=1` (gold items), `status` (`submitted`, `skipped`, `flagged`: the rater's queue).
"""

from urllib.parse import urlencode

REVIEW_ITEMS_PATH = "/projects/{slug}/review/items/"


def review_items_url(*, slug: str, **filters: str) -> str:
    """The item browser of project `slug` showing the items behind a number."""
    query = urlencode({key: value for key, value in filters.items() if value != ""})
    return REVIEW_ITEMS_PATH.format(slug=slug) + (f"?{query}" if query else "")
