"""HTML views: thin, access through selectors, writes through services."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotations import export_jobs, selectors, services
from annotations.audit import AuditAction, audit_events_for_lead
from annotations.errors import DomainError
from annotations.forms import ExportForm, ImportForm
from annotations.importers import FORMATS, format_docs


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    projects = selectors.projects_for_user(user=request.user)
    return render(request, "annotations/project_list.html", {"projects": projects})


@login_required
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    project = selectors.project_get_for_user(user=request.user, slug=slug)
    is_lead = selectors.user_is_lead(user=request.user, project=project)
    is_member = selectors.user_is_member(user=request.user, project=project)
    context = {"project": project, "is_lead": is_lead, "is_member": is_member}
    if is_lead:
        context["criteria"] = project.criteria.all()
        context["raters"] = selectors.rater_summary(project=project)
        context["jobs"] = project.import_jobs.all()[:10]
        context["form"] = ImportForm()
    return render(request, "annotations/project_detail.html", context)


@login_required
@require_POST
def import_create(request: HttpRequest, slug: str) -> HttpResponse:
    project = selectors.project_get_for_lead(user=request.user, slug=slug)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            job = services.import_job_create(
                project=project,
                user=request.user,
                file=form.cleaned_data["file"],
                format=form.cleaned_data["format"],
                options=form.cleaned_data["options"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("annotations:import-detail", job_id=job.pk)
    context = {"project": project, "is_lead": True, "form": form, "jobs": []}
    return render(request, "annotations/project_detail.html", context, status=400)


@login_required
def import_format(request: HttpRequest) -> HttpResponse:
    """The native import format with examples (what the import form's help points to); the
    same for every signed-in user: it is documentation, it names nothing of any project."""
    context = {
        "lines": format_docs.import_format_docs(),
        "examples": format_docs.EXAMPLES,
        "scores_csv": format_docs.SCORES_CSV,
        "formats": sorted(FORMATS),
    }
    return render(request, "annotations/import_format.html", context)


@login_required
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.import_job_get_for_lead(user=request.user, job_id=job_id)
    progress = services.import_job_progress(job=job)
    # "criteria_created" reads "Criteria created" (the template's cut:"_" made "Criteriacreated").
    counts = [
        (key.replace("_", " ").capitalize(), value) for key, value in (job.counts or {}).items()
    ]
    return render(
        request,
        "annotations/import_detail.html",
        {"job": job, "progress": progress, "counts": counts},
    )


@login_required
def import_status(request: HttpRequest, job_id: int) -> JsonResponse:
    """The little JSON the import page polls while a job runs."""
    job = selectors.import_job_get_for_lead(user=request.user, job_id=job_id)
    return JsonResponse(
        {
            "status": job.status,
            "lines_done": services.import_job_progress(job=job),
            "error_count": job.error_count,
        }
    )


@login_required
def exports(request: HttpRequest, slug: str) -> HttpResponse:
    """The project's exports, newest first, and the form that starts one (POST)."""
    project = selectors.project_get_for_lead(user=request.user, slug=slug)
    form = ExportForm(request.POST if request.method == "POST" else None)
    if form.is_valid():  # an unbound form (GET) is never valid
        try:
            export_jobs.export_job_start(project=project, user=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("annotations:exports", slug=project.slug)
    context = {
        "project": project,
        "form": form,
        "jobs": project.export_jobs.all()[:50],
        "groups": export_jobs.pairs_groups(project=project),
    }
    return render(request, "annotations/exports.html", context, status=400 if form.errors else 200)


@login_required
def export_status(request: HttpRequest, export_id: int) -> JsonResponse:
    """The little JSON the exports page polls while a job runs."""
    job = selectors.export_job_get_for_lead(user=request.user, job_id=export_id)
    done = export_jobs.export_job_file(job=job) is not None
    return JsonResponse(
        {
            "status": job.status,
            "rows_done": job.rows_done,
            "rows_total": job.rows_total,
            "error": job.error,
            "download_url": reverse("annotations:export-download", args=[job.pk]) if done else "",
        }
    )


@login_required
def export_download(request: HttpRequest, export_id: int) -> FileResponse:
    job = selectors.export_job_get_for_lead(user=request.user, job_id=export_id)
    path = export_jobs.export_job_file(job=job)
    if path is None:
        raise Http404("This export has no file (yet).")
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


AUDIT_PAGE_SIZE = 50


@login_required
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    """The project's audit log, newest first, for its leads; `?action=` keeps one action (an
    unknown one is ignored, so a stale link still shows the log)."""
    project = selectors.project_get_for_lead(user=request.user, slug=slug)
    action = request.GET.get("action", "")
    action = action if action in AuditAction.values else ""
    events = audit_events_for_lead(project=project, action=action)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page", "1")[:12])
    context = {
        "project": project,
        "page": page,
        "action": action,
        "actions": AuditAction.choices,
        "params": urlencode({"action": action}) if action else "",
    }
    return render(request, "annotations/audit.html", context)
