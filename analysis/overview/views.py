"""The overview page and the partial it polls while a job or report is running."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from analysis.overview import selectors
from annotations import selectors as annotations_selectors

POLL_SECONDS = 3


def _context(request: HttpRequest) -> dict:
    cards = selectors.overview_cards(user=request.user)
    if not cards and not request.user.is_staff:  # `selectors.user_sees_overview`, no query
        raise Http404("No overview: you lead no project.")
    return {
        "cards": cards,
        "moving": any(card.active for card in cards),
        "poll_seconds": POLL_SECONDS,
    }


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    context = _context(request)
    led = {card.summary.project.pk for card in context["cards"]}
    members_of = annotations_selectors.projects_for_user(user=request.user)
    context["other_projects"] = [p for p in members_of if p.pk not in led]
    return render(request, "analysis/overview.html", context)


@login_required
def overview_live(request: HttpRequest) -> HttpResponse:
    """The overview's body alone; it asks to be polled again only while something moves."""
    return render(request, "analysis/overview/_body.html", _context(request))
