"""The lead's pages for model judges: configure, preview, run, watch, cancel; API keys for
external judges. Leads only."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from annotations import selectors as core_selectors
from annotations.errors import DomainError
from annotations.judges import external, selectors, services
from annotations.judges.forms import JudgeForm, RaterTokenForm
from annotations.judges.models import JudgeConfig
from annotations.judges.pricing import price_for
from annotations.models import Project

KEY_FORM_PREFIX = "key"


def _page(request: HttpRequest, project: Project, form: JudgeForm, **extra) -> HttpResponse:
    context = {
        "project": project,
        "form": form,
        "configs": selectors.configs_for_lead(project_id=project.pk),
        "runs": selectors.runs_for_lead(project_id=project.pk)[:20],
        "token_form": RaterTokenForm(prefix=KEY_FORM_PREFIX),
        "tokens": selectors.rater_tokens_for_lead(project_id=project.pk),
        **extra,
    }
    return render(request, "annotations/judges/list.html", context, status=extra.get("status", 200))


def _blank_judge_form(request: HttpRequest, project: Project) -> JudgeForm:
    initial = {"group": "llm-judge", "provider": "openai"}
    return JudgeForm(project=project, staff=request.user.is_staff, initial=initial)


@login_required
def judge_list(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the judges and runs and the form. POST: preview, or create the judge and run it."""
    project = core_selectors.project_get_for_lead(user=request.user, slug=slug)
    if request.method != "POST":
        return _page(request, project, _blank_judge_form(request, project))
    form = JudgeForm(request.POST, project=project, staff=request.user.is_staff)
    if not form.is_valid():
        return _page(request, project, form, status=400)
    try:
        if request.POST.get("action") == "preview":
            estimate = services.judge_preview(
                project=project,
                spec=form.spec(),
                criterion=form.criterion_object(),
                selection=form.selection(),
                user=request.user,
            )
            return _page(request, project, form, estimate=estimate)
        config = services.judge_config_create(project=project, spec=form.spec(), user=request.user)
        run = services.judge_run_start(
            config=config,
            criterion=form.criterion_object(),
            selection=form.selection(),
            user=request.user,
            cost_cap=form.cleaned_data["cost_cap"],
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _page(request, project, form, status=400)
    return redirect("annotations:judges:run-detail", run_id=run.pk)


@login_required
@require_POST
@never_cache
def token_create(request: HttpRequest, slug: str) -> HttpResponse:
    """An external judge: a model rater and its API key, shown once on the page returned."""
    project = core_selectors.project_get_for_lead(user=request.user, slug=slug)
    form = RaterTokenForm(request.POST, prefix=KEY_FORM_PREFIX)
    if form.is_valid():
        try:
            issued = external.rater_token_create(
                project=project, user=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return _page(request, project, _blank_judge_form(request, project), issued=issued)
    judge_form = _blank_judge_form(request, project)
    return _page(request, project, judge_form, token_form=form, status=400)


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get_for_lead(user=request.user, run_id=run_id)
    context = {
        "run": run,
        "project": run.config.project,
        "progress": selectors.run_progress(run=run),
        "answers": selectors.run_answers(run=run),
        # Without a price the cost stays 0: the page says "unknown" instead of "$0".
        "priced": run.config.provider == JudgeConfig.Provider.CHECKER
        or price_for(run.config.model) is not None,
    }
    return render(request, "annotations/judges/run_detail.html", context)


@login_required
def run_status(request: HttpRequest, run_id: int) -> JsonResponse:
    run = selectors.run_get_for_lead(user=request.user, run_id=run_id)
    return JsonResponse(selectors.run_progress(run=run).as_dict())


@login_required
@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_get_for_lead(user=request.user, run_id=run_id)
    if services.judge_run_cancel(run=run, actor=request.user):
        messages.success(request, "Cancelled: requests already answered are kept.")
    else:
        messages.info(request, "The run had already ended.")
    return redirect("annotations:judges:run-detail", run_id=run.pk)
