"""HTML pages for agreement reports (leads only)."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from analysis import selectors, services
from analysis.document import DOCUMENT_NAME
from analysis.engine.streamed import NOT_STREAMED
from analysis.exports import DOWNLOADS, JSON_FILES, report_chunks
from analysis.forms import RunForm
from analysis.models import AgreementRun
from analysis.presentation import report_view
from annotations import selectors as annotations_selectors
from annotations.errors import DomainError


def _form(project, data=None) -> RunForm:
    groups = selectors.human_groups(project=project)
    keys = selectors.meta_key_values(project=project)
    return RunForm(data, project=project, groups=groups, meta_keys=keys)


@login_required
def run_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = annotations_selectors.project_get_for_lead(user=request.user, slug=slug)
    return _run_list_page(request, project, _form(project))


def _run_list_page(request, project, form, status=200) -> HttpResponse:
    context = {
        "project": project,
        "form": form,
        "runs": selectors.runs_for_project(project=project),
        "meta_keys": selectors.meta_keys(project=project),
    }
    return render(request, "analysis/run_list.html", context, status=status)


@login_required
@require_POST
def run_create(request: HttpRequest, slug: str) -> HttpResponse:
    project = annotations_selectors.project_get_for_lead(user=request.user, slug=slug)
    form = _form(project, request.POST)
    if not form.is_valid():
        return _run_list_page(request, project, form, status=400)
    try:
        run = services.agreement_run_start(project=project, user=request.user, config=form.config())
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _run_list_page(request, project, form, status=400)
    return redirect("analysis:run-detail", run_id=run.pk)


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get_for_lead(user=request.user, run_id=run_id)
    done = run.status == AgreementRun.Status.DONE
    context = {
        "run": run,
        "view": report_view(run) if done else None,
        "files": DOWNLOADS,
        "has_document": done and selectors.run_has_document(run=run),
        "members": annotations_selectors.group_members(project=run.project) if done else {},
        "not_streamed": NOT_STREAMED if run.config.get("chunk_items") else (),
    }
    return render(request, "analysis/run_detail.html", context)


@login_required
def run_status(request: HttpRequest, run_id: int) -> JsonResponse:
    run = selectors.run_get_for_lead(user=request.user, run_id=run_id)
    return JsonResponse(
        {"status": run.status, "progress": run.progress, "stage": run.stage, "error": run.error}
    )


def report_download(request: HttpRequest, run_id: int, name: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    run = selectors.run_get_for_lead(user=request.user, run_id=run_id)
    response = document_response(run) if name == DOCUMENT_NAME else report_response(run, name)
    services.report_download_record(run=run, name=name, actor=request.user)
    return response


def document_response(run) -> HttpResponse:
    """The self-contained HTML report of a finished run, as a download."""
    html = selectors.run_document_html(run=run)
    if html is None:
        raise Http404("The HTML report is not ready.")
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    filename = f"{run.project.slug}-run{run.pk}-{DOCUMENT_NAME}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def report_response(run, name: str) -> StreamingHttpResponse:
    """Stream one CSV or JSON file of a finished run (shared by the page and the API)."""
    if name not in DOWNLOADS or run.status != "done":
        raise Http404("No such report file.")
    content_type = "application/json" if name in JSON_FILES else "text/csv"
    response = StreamingHttpResponse(report_chunks(run=run, name=name), content_type=content_type)
    filename = f"{run.project.slug}-run{run.pk}-{name}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
