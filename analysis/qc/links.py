"""Where a number on the QC and overview pages leads: the lead's item browser, filtered.

Every link to the item browser is built here. The filters used (see
annotations/review/filters.py): `rater` (a rater's name), `criterion`, `status` (`gold`: the
gold items the rater judged; `submitted`, `skipped`, `flagged`: the rater's queue).
"""

from urllib.parse import urlencode

from django.urls import reverse


def review_items_url(*, slug: str, **filters: str) -> str:
    """The item browser of project `slug` showing the items behind a number."""
    query = urlencode({key: value for key, value in filters.items() if value != ""})
    path = reverse("annotations:review:items", kwargs={"slug": slug})
    return path + (f"?{query}" if query else "")
