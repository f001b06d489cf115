"""Links from a report's numbers to the targets behind them (the drill-down list).

Every table row and chart mark of a report links through `targets_url`, so the path and its
parameters are written once. The drill-down page is the review app's target list
(`annotations:review:targets`).
"""

from urllib.parse import urlencode

from django.urls import reverse

OVERALL = "all"


def targets_url(
    *,
    project_slug: str,
    criterion: str,
    slice_key: str = OVERALL,
    slice_value: str = OVERALL,
    group_a: str | None = None,
    group_b: str | None = None,
    agree: bool | None = None,
) -> str:
    """The drill-down list of targets of one criterion in one slice, between two groups.

    ``slice=<key>=<value>`` is left out for the overall slice; ``agree`` (1 or 0) only when
    given. Values are urlencoded, so a slice value with ``&`` or ``=`` stays one parameter. A
    within-group number (group_a == group_b, e.g. the experts' ceiling) links to that group's
    targets: the list compares two different groups.
    """
    if group_b == group_a:
        group_b, agree = None, None
    params: list[tuple[str, str]] = [("criterion", criterion)]
    if slice_key != OVERALL:
        params.append(("slice", f"{slice_key}={slice_value}"))
    if group_a:
        params.append(("group_a", group_a))
    if group_b:
        params.append(("group_b", group_b))
    if agree is not None:
        params.append(("agree", "1" if agree else "0"))
    path = reverse("annotations:review:targets", kwargs={"slug": project_slug})
    return f"{path}?{urlencode(params)}"
