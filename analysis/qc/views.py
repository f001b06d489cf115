"""The QC page (leads only) and its one write: moving an annotator to another group."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from analysis.qc import selectors
from analysis.qc.forms import GroupMoveForm
from annotations import selectors as annotations_selectors
from annotations import services as annotations_services
from annotations.annotate import lead as lead_selectors
from annotations.errors import DomainError
from annotations.models import Project


def _page(request: HttpRequest, project: Project, form=None, status: int = 200) -> HttpResponse:
    context = {
        "project": project,
        "qc": selectors.annotator_qc(project=project),
        "members": annotations_selectors.group_members(project=project),
        "move_form": form,
        "pool_method": selectors.POOL_METHOD,
        "gold_method": selectors.GOLD_METHOD,
        "rate_method": selectors.RATE_METHOD,
        "outlier_rule": selectors.OUTLIER_RULE,
    }
    return render(request, "analysis/qc.html", context, status=status)


@login_required
def qc(request: HttpRequest, slug: str) -> HttpResponse:
    project = annotations_selectors.project_get_for_lead(user=request.user, slug=slug)
    return _page(request, project)


@login_required
@require_POST
def qc_move(request: HttpRequest, slug: str) -> HttpResponse:
    project = annotations_selectors.project_get_for_lead(user=request.user, slug=slug)
    form = GroupMoveForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("Choose a member and a group name of at most 64 characters.")
        membership = lead_selectors.membership_get_for_lead(
            project=project, membership_id=form.cleaned_data["membership"]
        )
        if membership is None:
            raise DomainError("That person is not a member of this project.")
        moved = annotations_services.annotator_group_move(
            membership=membership, group=form.cleaned_data["group"], actor=request.user
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _page(request, project, form=form, status=400)
    messages.success(request, f"{moved.user} and their judgements are now in {moved.rater_group}.")
    return redirect("analysis:qc", slug=project.slug)
