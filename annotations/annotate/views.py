"""HTML views of the annotator interface and the small lead page.

Thin: access through selectors (404 for anything not in the user's queue), writes through
services. The submit, skip and flag endpoints answer JSON to `fetch` (Accept:
application/json) and redirect a plain form post, so the page works without JavaScript.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from annotations import selectors as core_selectors
from annotations.annotate import forms, selectors, services
from annotations.annotate import lead as lead_selectors
from annotations.annotate.markdown import guidelines_html
from annotations.annotate.rules import Submission, SubmissionConflict
from annotations.errors import DomainError
from annotations.models import Assignment, Project


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _item_url(slug: str, item_id: int) -> str:
    return reverse("annotations:annotate:item", args=[slug, item_id])


def _next_url(request: HttpRequest, slug: str) -> str | None:
    """Claim the user's next item and return its page; None when nothing is left for them."""
    try:
        sheet = services.assignment_next(user=request.user, slug=slug)
    except DomainError:
        sheet = None
    return None if sheet is None else _item_url(slug, sheet.item.pk)


def _go_next(request: HttpRequest, slug: str) -> HttpResponse:
    """To the user's next item, or back to the queue page saying that nothing is left."""
    url = _next_url(request, slug)
    if url is None:
        if not _wants_json(request):
            messages.info(request, "Nothing is left for you in this project right now.")
        url = reverse("annotations:annotate:queue", args=[slug])
    if _wants_json(request):
        return JsonResponse({"ok": True, "next_url": url})
    return redirect(url)


@login_required
def queue(request: HttpRequest, slug: str) -> HttpResponse:
    project = selectors.membership_get_for_annotator(user=request.user, slug=slug).project
    context = {
        "project": project,
        "progress": selectors.queue_progress(user=request.user, project=project),
        "current": selectors.assignment_open(user=request.user, project=project),
        "previous": selectors.assignment_last_submitted(user=request.user, project=project),
        "is_lead": core_selectors.user_is_lead(user=request.user, project=project),
    }
    return render(request, "annotations/annotate/queue.html", context)


@login_required
@require_POST
def next_item(request: HttpRequest, slug: str) -> HttpResponse:
    selectors.membership_get_for_annotator(user=request.user, slug=slug)
    return _go_next(request, slug)


def _render_item(
    request: HttpRequest,
    assignment: Assignment,
    *,
    posted: dict | None = None,
    errors: list[str] | None = None,
    conflict: SubmissionConflict | None = None,
    asked: frozenset[int] | None = None,
    status: int = 200,
) -> HttpResponse:
    project = assignment.project
    sheet = selectors.item_sheet_get(assignment=assignment, posted=posted, asked=asked)
    previous = selectors.assignment_last_submitted(user=request.user, project=project)
    if previous is not None and previous.pk == assignment.pk:
        previous = None
    submission_id = (posted or {}).get("submission_id") or str(uuid.uuid4())
    # The stored answers this form is made against: a form sent back keeps the one it was
    # made against, so resubmitting it cannot replace answers stored meanwhile unseen.
    version = sheet.claim.submission_id
    base = (posted or {}).get("base_submission_id", "" if version is None else str(version))
    config = {
        "userId": request.user.pk,
        "itemId": assignment.item_id,
        "status": assignment.status,
        "errorEndsSolution": project.error_ends_solution,
        "version": base,
    }
    context = {
        "project": project,
        "sheet": sheet,
        "item": sheet.item,
        "first_turn": selectors.item_first_turn(assignment=assignment),
        "progress": selectors.queue_progress(user=request.user, project=project),
        "previous": previous,
        "guidelines": guidelines_html(project.guidelines),
        "submission_id": submission_id,
        "base_submission_id": base,
        "conflict": conflict,
        "errors": errors or [],
        "config": config,
    }
    return render(request, "annotations/annotate/item.html", context, status=status)


@login_required
def item_detail(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    assignment = selectors.assignment_get_for_annotator(
        user=request.user, slug=slug, item_id=item_id
    )
    return _render_item(request, assignment)


@login_required
@require_POST
def item_submit(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    assignment = selectors.assignment_get_for_annotator(
        user=request.user, slug=slug, item_id=item_id
    )
    form = forms.SubmitForm(request.POST)
    asked = None
    try:
        if not form.is_valid():
            raise DomainError("The form was incomplete; reload the page and try again.")
        fields = form.submission_fields()
        asked = fields.get("criteria")
        sheet = selectors.item_sheet_get(assignment=assignment, asked=asked)
        submission = Submission(
            submission_id=form.cleaned_data["submission_id"],
            labels=forms.labels_from_post(data=request.POST, sheet=sheet),
            rationale=form.cleaned_data["rationale"] or "",
            time_spent_ms=form.cleaned_data["time_spent_ms"] or 0,
            **fields,
        )
        services.assignment_submit(
            user=request.user, slug=slug, item_id=item_id, submission=submission
        )
    except DomainError as exc:
        conflict = exc if isinstance(exc, SubmissionConflict) else None
        status = 409 if conflict else 400
        if _wants_json(request):
            data = conflict.as_data() if conflict else {"detail": exc.message, "errors": exc.errors}
            return JsonResponse(data, status=status)
        return _render_item(
            request,
            assignment,
            posted=request.POST.dict(),
            errors=[exc.message, *exc.errors],
            conflict=conflict,
            asked=asked,
            status=status,
        )
    return _go_next(request, slug)


def _give_back(request: HttpRequest, slug: str, item_id: int, *, flag: bool) -> HttpResponse:
    assignment = selectors.assignment_get_for_annotator(
        user=request.user, slug=slug, item_id=item_id
    )
    form = forms.ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.assignment_skip(assignment=assignment, reason=reason, flag=flag)
    except DomainError as exc:
        if _wants_json(request):
            return JsonResponse({"detail": exc.message, "errors": exc.errors}, status=400)
        messages.error(request, exc.message)
        return redirect(_item_url(slug, item_id))
    return _go_next(request, slug)


@login_required
@require_POST
def item_skip(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    return _give_back(request, slug, item_id, flag=False)


@login_required
@require_POST
def item_flag(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    return _give_back(request, slug, item_id, flag=True)


@login_required
def previous(request: HttpRequest, slug: str) -> HttpResponse:
    """Undo: back to the user's last submitted item, to change and resubmit it."""
    project = selectors.membership_get_for_annotator(user=request.user, slug=slug).project
    last = selectors.assignment_last_submitted(user=request.user, project=project)
    if last is None:
        return redirect("annotations:annotate:queue", slug=project.slug)
    return redirect("annotations:annotate:item", slug=project.slug, item_id=last.item_id)


@login_required
def guidelines(request: HttpRequest, slug: str) -> HttpResponse:
    project = selectors.membership_get_for_annotator(user=request.user, slug=slug).project
    context = {"project": project, "guidelines": guidelines_html(project.guidelines)}
    return render(request, "annotations/annotate/guidelines.html", context)


# ---- lead ------------------------------------------------------------------------------------


def _lead_page(request: HttpRequest, project: Project, status: int = 200, **forms_) -> HttpResponse:
    example = lead_selectors.gold_example(project=project)
    gold_form = forms_.get("gold_form") or forms.GoldForm()
    # Django renders help text unescaped: the item id and labels come from imports.
    gold_form.fields["expected"].help_text = (
        format_html(
            "For example, for item {}: <code>{}</code>", example.external_id, example.expected_json
        )
        if example
        else "Import items and criteria first."
    )
    context = {
        "project": project,
        "settings_form": forms_.get("settings_form")
        or forms.SettingsForm(
            initial={
                "overlap": project.overlap,
                "error_ends_solution": project.error_ends_solution,
                "annotator_group": project.annotator_group,
            }
        ),
        "annotator_form": forms_.get("annotator_form") or forms.AnnotatorForm(),
        "gold_form": gold_form,
        "rows": lead_selectors.annotator_rows_for_lead(project=project),
        "flagged": lead_selectors.flagged_for_lead(project=project),
        "gold_items": lead_selectors.gold_items_for_lead(project=project),
        "summary": lead_selectors.queue_summary_for_lead(project=project),
    }
    return render(request, "annotations/annotate/lead.html", context, status=status)


@login_required
def lead(request: HttpRequest, slug: str) -> HttpResponse:
    project = core_selectors.project_get_for_lead(user=request.user, slug=slug)
    return _lead_page(request, project)


@login_required
@require_POST
def lead_settings(request: HttpRequest, slug: str) -> HttpResponse:
    project = core_selectors.project_get_for_lead(user=request.user, slug=slug)
    form = forms.SettingsForm(request.POST)
    if not form.is_valid():
        return _lead_page(request, project, status=400, settings_form=form)
    try:
        services.project_annotation_set(project=project, **form.cleaned_data)
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _lead_page(request, project, status=400, settings_form=form)
    messages.success(request, "Saved.")
    return redirect("annotations:annotate:lead", slug=project.slug)


@login_required
@require_POST
def lead_annotator_add(request: HttpRequest, slug: str) -> HttpResponse:
    project = core_selectors.project_get_for_lead(user=request.user, slug=slug)
    form = forms.AnnotatorForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("Give a username (and a rater group of at most 64 characters).")
        membership = services.annotator_add(
            project=project, actor=request.user, **form.cleaned_data
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _lead_page(request, project, status=400, annotator_form=form)
    messages.success(request, f"{membership.user} annotates in group {membership.rater_group}.")
    return redirect("annotations:annotate:lead", slug=project.slug)


@login_required
@require_POST
def lead_gold_set(request: HttpRequest, slug: str) -> HttpResponse:
    project = core_selectors.project_get_for_lead(user=request.user, slug=slug)
    form = forms.GoldForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("Give an item id and the expected labels as JSON.")
        item = lead_selectors.item_get_for_lead(
            project=project, external_id=form.cleaned_data["external_id"]
        )
        if item is None:
            raise DomainError("There is no item with that id in this project.")
        services.gold_set(item=item, expected=form.cleaned_data["expected"], user=request.user)
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _lead_page(request, project, status=400, gold_form=form)
    messages.success(request, f"{item.external_id} is a gold item.")
    return redirect("annotations:annotate:lead", slug=project.slug)


@login_required
@require_POST
def lead_flag_release(request: HttpRequest, slug: str, assignment_id: int) -> HttpResponse:
    project = core_selectors.project_get_for_lead(user=request.user, slug=slug)
    assignment = lead_selectors.flagged_for_lead(project=project).filter(pk=assignment_id).first()
    if assignment is None:
        messages.error(request, "That flag is gone.")
    else:
        services.assignment_release_flag(assignment=assignment, actor=request.user)
        messages.success(request, f"{assignment.item.external_id} is back in the queue.")
    return redirect("annotations:annotate:lead", slug=project.slug)
