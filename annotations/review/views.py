"""The lead's review pages: the targets behind a report row, an item with every rater's labels
side by side, and an item browser. Leads and staff only: 404 for everyone else, anonymous
users included (the access check is `selectors.project_get_for_reviewer`)."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotations.review import selectors, targets
from annotations.review.filters import ItemFilter, TargetFilter

PAGE_SIZE = 50


def _page_number(request: HttpRequest) -> str:
    return request.GET.get("page", "1")[:12]


def target_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = selectors.project_get_for_reviewer(user=request.user, slug=slug)
    filters = TargetFilter(request.GET or None, project=project)
    context = {"project": project, "filters": filters, "page": None, "params": ""}
    if filters.is_bound and not filters.is_valid():
        return render(request, "annotations/review/targets.html", context, status=400)
    judgements = filters.qs if filters.is_bound else targets.judgements_of(project=project)
    query = filters.query() if filters.is_bound else targets.TargetQuery()
    result = targets.targets_list(project=project, judgements=judgements, query=query)
    page = Paginator(result.rows, PAGE_SIZE).get_page(_page_number(request))
    context |= {
        "result": result,
        "query": query,
        "page": page,
        "rows": [(row, row.cells(result.groups)) for row in page],
        "params": filters.params() if filters.is_bound else "",
    }
    return render(request, "annotations/review/targets.html", context)


def item_detail(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    project = selectors.project_get_for_reviewer(user=request.user, slug=slug)
    item = selectors.item_get_for_reviewer(project=project, item_id=item_id)
    context = {"project": project, "review": selectors.item_review(item=item)}
    context |= _walk(request, project=project, item_id=item.pk)
    return render(request, "annotations/review/item.html", context)


def _walk(request: HttpRequest, *, project, item_id: int) -> dict:
    """Where the item sits in the list it was opened from (its filters in the query string):
    the previous and next item with a disagreement when two groups are compared (with agree
    unset, the list's disagreements; with agree set, the list itself), else the list's
    previous and next item; and which of this item's targets are in the list."""
    filters = TargetFilter(request.GET or None, project=project)
    if not filters.is_bound or not filters.is_valid():
        return {"walk": None}
    query = filters.query()
    rows = targets.targets_list(project=project, judgements=filters.qs, query=query).rows
    if query.compares() and query.agree is None:
        rows = [r for r in rows if r.agree is False]
    items = targets.target_items(rows=rows)
    here = [r for r in rows if r.item_id == item_id]
    position = items.index(item_id) if item_id in items else None
    if position is None:  # not in the list: walk on from where it would sit
        position_next = next((i for i, pk in enumerate(items) if pk > item_id), len(items))
        previous = items[position_next - 1] if position_next > 0 else None
        following = items[position_next] if position_next < len(items) else None
    else:
        previous = items[position - 1] if position > 0 else None
        following = items[position + 1] if position + 1 < len(items) else None
    return {
        "walk": {
            "params": filters.params(),
            "previous": previous,
            "next": following,
            "position": None if position is None else position + 1,
            "total": len(items),
            "marked": {(r.criterion, r.step) for r in here},
            "marked_steps": sorted({r.step for r in here if r.step is not None}),
            "disagreements_only": query.compares() and query.agree is not True,
        }
    }


def item_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = selectors.project_get_for_reviewer(user=request.user, slug=slug)
    filters = ItemFilter(request.GET or None, project=project)
    context = {"project": project, "filters": filters, "page": None, "params": ""}
    if filters.is_bound and not filters.is_valid():
        return render(request, "annotations/review/items.html", context, status=400)
    items = selectors.items_page_annotate(items=filters.qs)
    context |= {
        "page": Paginator(items, PAGE_SIZE).get_page(_page_number(request)),
        "params": filters.params() if filters.is_bound else "",
    }
    return render(request, "annotations/review/items.html", context)
