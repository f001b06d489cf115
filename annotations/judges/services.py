"""Writes for model judges: judge versions, runs, cancelling. Runs execute in `execute`.

A judge version's identity is a hash of what decides its judgements — provider, model,
system and prompt templates, parameters, parser version — so the same settings are the same
judge (and the same rater) and any change is a new one. The base URL is not part of it (the
same model behind another address or proxy answers the same), nor are the rate limits.
"""

import hashlib
import json
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from annotations import dispatch
from annotations.audit import AuditAction, audit_record
from annotations.errors import DomainError
from annotations.judges import structured
from annotations.judges.context import prompt_context, requests_for
from annotations.judges.models import JudgeConfig, JudgeRun, JudgeRunChunk
from annotations.judges.parsers import PARSERS
from annotations.judges.pricing import price_for
from annotations.judges.templates import BuiltIn, TemplateProblem, built_ins, render, syntax_check
from annotations.models import Criterion, GoldItem, Item, Project, Rater, Step

# Passed to the provider as they are.
# (OpenAI's reasoning models take max_completion_tokens and refuse max_tokens.)
REQUEST_PARAMETERS = {"temperature", "max_tokens", "max_completion_tokens", "top_p", "seed", "stop"}
# Shape the requests: how many samples per item, both presentation orders of a pair, the
# verdict as JSON constrained by a schema (`structured`).
RUN_PARAMETERS = {"samples", "both_orders", "structured"}
MAX_SAMPLES = 20
PREVIEW_ITEMS = 200  # a preview renders every prompt of this many items at most
# A chunk waits for its slowest request, and judges its items, before the next chunk asks
# anything; so a chunk must be long compared with the requests in flight. Measured at 200 ms
# (benchmarks/judge_bench.py): 100-item chunks reached 70% of concurrency / latency at 32 in
# flight and 50% at 64; 1,000-item chunks 90% and 75%. Bounded so that progress stays
# fine-grained and several workers still share a run.
CHUNK_ITEMS_PER_REQUEST_IN_FLIGHT = 25
CHUNK_ITEMS_MIN, CHUNK_ITEMS_MAX = 100, 1000
CHUNK_ITEMS: int | None = None  # a fixed size instead (the benchmark's experiments)


def chunk_items(concurrency: int) -> int:
    """Items per chunk for a judge with `concurrency` requests in flight."""
    if CHUNK_ITEMS:
        return CHUNK_ITEMS
    wanted = CHUNK_ITEMS_PER_REQUEST_IN_FLIGHT * concurrency
    return min(CHUNK_ITEMS_MAX, max(CHUNK_ITEMS_MIN, wanted))


API_KEY_ENV = {
    JudgeConfig.Provider.OPENAI: "OPENAI_API_KEY",
    JudgeConfig.Provider.ANTHROPIC: "ANTHROPIC_API_KEY",
}
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


@dataclass(frozen=True)
class JudgeSpec:
    """What a lead (or the operator, on the command line) asks for."""

    name: str
    provider: str
    model: str
    template: str
    group: str
    base_url: str = ""
    system_text: str | None = None  # None: the built-in's
    template_text: str | None = None
    parameters: dict | None = None
    concurrency: int = 4
    requests_per_minute: int = 0
    tokens_per_minute: int = 0


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def parameters_clean(parameters: dict | None) -> dict:
    """The parameters with their types checked; DomainError naming the one that is wrong."""
    parameters = dict(parameters or {})
    unknown = sorted(set(parameters) - REQUEST_PARAMETERS - RUN_PARAMETERS)
    if unknown:
        allowed = ", ".join(sorted(REQUEST_PARAMETERS | RUN_PARAMETERS))
        raise DomainError(f"Unknown parameter {unknown[0]!r}; known: {allowed}.")

    def number(v: object) -> bool:  # JSON's true is not 1
        return isinstance(v, int | float) and not isinstance(v, bool)

    def whole(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    checks = {
        "temperature": lambda v: number(v) and 0 <= v <= 2,
        "top_p": lambda v: number(v) and 0 < v <= 1,
        "max_tokens": lambda v: whole(v) and 1 <= v <= 200_000,
        "max_completion_tokens": lambda v: whole(v) and 1 <= v <= 200_000,
        "seed": whole,
        "stop": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v),
        "samples": lambda v: whole(v) and 1 <= v <= MAX_SAMPLES,
        "both_orders": lambda v: isinstance(v, bool),
        "structured": lambda v: isinstance(v, bool),
    }
    for key, value in parameters.items():
        if not checks[key](value):
            raise DomainError(f"Parameter {key!r} cannot be {json.dumps(value)[:40]}.")
    return parameters


def _texts(spec: JudgeSpec, built_in: BuiltIn) -> tuple[str, str]:
    system = built_in.system_text if spec.system_text is None else spec.system_text
    text = built_in.template_text if spec.template_text is None else spec.template_text
    for part in (system, text):
        try:
            syntax_check(part)
        except TemplateProblem as exc:
            raise DomainError(exc.args[0]) from None
    return system, text


def base_url_check(*, base_url: str, user: AbstractBaseUser | None) -> str:
    """The base URL if this user may send prompts there. Leads choose from
    JUDGE_ALLOWED_BASE_URLS, so nothing they type reaches the network (server-side request
    forgery); staff and the command line (user None) may use any."""
    url = base_url.strip().rstrip("/")
    if user is None or user.is_staff:
        return url
    allowed = [u.rstrip("/") for u in settings.JUDGE_ALLOWED_BASE_URLS]
    if url not in allowed:
        raise DomainError("That base URL is not allowed; ask an administrator to add it.")
    return url


def judge_config_create(
    *, project: Project, spec: JudgeSpec, user: AbstractBaseUser | None
) -> JudgeConfig:
    """The judge version these settings make: an existing one if nothing that decides its
    answers changed, else a new version with a new model rater."""
    built_in = built_ins().get(spec.template)
    if built_in is None:
        raise DomainError(f"Unknown template {spec.template!r}.")
    is_checker = spec.template == "answer-check"
    if is_checker != (spec.provider == JudgeConfig.Provider.CHECKER):
        raise DomainError("The answer-check template is the checker provider's, and only its.")
    if spec.provider not in JudgeConfig.Provider.values:
        raise DomainError(f"Unknown provider {spec.provider!r}.")
    if not is_checker and not spec.model.strip():
        raise DomainError("Name the model.")
    if not 1 <= spec.concurrency <= 64:
        raise DomainError("Concurrency must be between 1 and 64.")
    base_url = "" if is_checker else base_url_check(base_url=spec.base_url, user=user)
    system, text = _texts(spec, built_in)
    parameters = parameters_clean(spec.parameters)
    asked = {
        "provider": spec.provider,
        "model": spec.model.strip(),
        "system": system,
        "template": text,
        "parameters": parameters,
    }
    ask_key = _digest(asked)
    if parameters.get("structured") and not structured.offered(spec.provider):
        raise DomainError(
            "Structured output is an option of OpenAI-compatible and Anthropic judges."
        )
    parser_version = PARSERS[built_in.parser].version if built_in.parser in PARSERS else "checker/1"
    if parameters.get("structured"):
        parser_version += structured.VERSION_SUFFIX
    identity = _digest({**asked, "parser": parser_version})
    existing = JudgeConfig.objects.filter(project=project, identity=identity).first()
    if existing is not None:
        if existing.rater.group != spec.group:
            raise DomainError(
                f"This judge version exists already, in group {existing.rater.group!r}."
            )
        return existing
    with transaction.atomic():
        rater = _rater_create(project, spec, identity, parameters)
        try:
            config = JudgeConfig.objects.create(
                project=project,
                name=spec.name.strip() or spec.model,
                provider=spec.provider,
                model=spec.model.strip(),
                base_url=base_url,
                template=spec.template,
                system_text=system,
                template_text=text,
                parameters=parameters,
                parser_version=parser_version,
                identity=identity,
                ask_key=ask_key,
                rater=rater,
                concurrency=spec.concurrency,
                requests_per_minute=spec.requests_per_minute,
                tokens_per_minute=spec.tokens_per_minute,
                created_by=user,
            )
        except IntegrityError:
            raise DomainError("This judge version was just created; reload the page.") from None
        detail = {"provider": config.provider, "model": config.model, "template": config.template}
        audit_record(
            actor=user,
            project=project,
            action=AuditAction.JUDGE_CONFIG_CREATE,
            target=config,
            detail=detail | {"group": rater.group},
        )
    return config


def _rater_create(project: Project, spec: JudgeSpec, identity: str, parameters: dict) -> Rater:
    group = spec.group.strip()
    if not group or len(group) > 64:
        raise DomainError("Give the judge a rater group (up to 64 characters).")
    base = (spec.name.strip() or spec.model.strip() or spec.template)[:150]
    for length in (8, 16, 64):
        name = f"{base} [{identity[:length]}]"
        if not Rater.objects.filter(project=project, name=name).exists():
            break
    return Rater.objects.create(
        project=project,
        name=name,
        kind=Rater.Kind.MODEL,
        group=group,
        model_name=spec.model.strip()[:200],
        prompt_version=f"{spec.template}@{identity[:12]}",
        parameters=parameters,
    )


# ---- runs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which items a run judges: all, those with meta key = value, the gold set, or ids."""

    meta_key: str = ""
    meta_value: str = ""
    gold: bool = False
    ids: tuple[str, ...] = ()
    limit: int | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in ("", False, (), None)}


def compatible(*, built_in: BuiltIn, criterion: Criterion) -> str | None:
    """Why this template cannot fill this criterion (None: it can)."""
    if built_in.target != criterion.target:
        per = f"{criterion.name} is per {criterion.target}"
        return f"{built_in.name} judges {built_in.target}s; {per}."
    if built_in.item_kind == "pair" and criterion.scale != Criterion.Scale.PAIRWISE:
        return f"{built_in.name} gives a/b/tie; {criterion.name} is not pairwise."
    if built_in.parser == "rating" and criterion.scale == Criterion.Scale.PAIRWISE:
        return f"{built_in.name} gives a score; {criterion.name} is pairwise."
    needs_errors = built_in.parser in ("boxed-index", "checker")
    if needs_errors and not criterion.error_labels:
        return f"{criterion.name} has no error labels, which {built_in.name} needs."
    return None


def items_selected(*, project: Project, kind: str, selection: Selection) -> QuerySet[Item]:
    kinds = ["response", "solution"] if kind == "response" else [kind]
    items = Item.objects.filter(project=project, kind__in=kinds)
    if selection.meta_key:
        # Meta values come from JSON: "2" on a form matches the number 2 too.
        key, value = f"meta__{selection.meta_key}", selection.meta_value
        matches = Q(**{key: value})
        if value.lstrip("-").isdigit():
            matches |= Q(**{key: int(value)})
        items = items.filter(matches)
    if selection.gold:
        items = items.filter(pk__in=GoldItem.objects.values("item_id"))
    if selection.ids:
        items = items.filter(external_id__in=selection.ids)
    items = items.order_by("pk")
    return items[: selection.limit] if selection.limit else items


def judge_run_start(
    *,
    config: JudgeConfig,
    criterion: Criterion,
    selection: Selection,
    user: AbstractBaseUser | None,
    cost_cap: float | None = None,
    api_key_env: str = "",
) -> JudgeRun:
    """Create a run and its chunks and queue them; the caller returns at once."""
    built_in = built_ins()[config.template]
    problem = compatible(built_in=built_in, criterion=criterion)
    if criterion.project_id != config.project_id:
        problem = "That criterion belongs to another project."
    if problem:
        raise DomainError(problem)
    if selection.meta_key and not re.fullmatch(r"[A-Za-z0-9_]{1,64}", selection.meta_key):
        raise DomainError("A meta key is letters, digits and underscores.")
    if cost_cap is not None and not cost_cap > 0:
        raise DomainError("A cost cap must be a positive number of dollars.")
    if cost_cap is not None and config.provider != JudgeConfig.Provider.CHECKER:
        from annotations.judges.pricing import price_for

        # Without a price every answer costs $0 and the cap would never stop the run.
        if price_for(config.model) is None:
            raise DomainError(
                f"A cost cap needs a price for {config.model}: add one in the admin's model "
                "prices, or run without a cap."
            )
    api_key_env = api_key_env or API_KEY_ENV.get(config.provider, "")
    if api_key_env and not _ENV_NAME.match(api_key_env):
        raise DomainError("The API key variable must be an environment variable name.")
    item_ids = list(
        items_selected(
            project=config.project, kind=built_in.item_kind, selection=selection
        ).values_list("pk", flat=True)
    )
    if not item_ids:
        raise DomainError(f"No {built_in.item_kind} items match that selection.")
    size = chunk_items(config.concurrency)
    chunks = [item_ids[i : i + size] for i in range(0, len(item_ids), size)]
    with transaction.atomic():
        run = JudgeRun.objects.create(
            config=config,
            criterion=criterion,
            selection=selection.as_dict(),
            n_items=len(item_ids),
            n_chunks=len(chunks),
            cost_cap=cost_cap,
            api_key_env=api_key_env,
            created_by=user,
        )
        created = JudgeRunChunk.objects.bulk_create(
            JudgeRunChunk(run=run, index=i, item_ids=ids) for i, ids in enumerate(chunks)
        )
        for chunk in created:
            dispatch.judge_chunk_enqueue(chunk_id=chunk.pk)
        audit_record(
            actor=user,
            project=config.project,
            action=AuditAction.JUDGE_RUN_START,
            target=run,
            detail={"config": config.pk, "criterion": criterion.name, "n_items": len(item_ids)},
        )
    return run


def judge_run_cancel(*, run: JudgeRun, actor: AbstractBaseUser | None = None) -> bool:
    """Stop a run: chunks stop before their next requests (answers already stored stay).
    False (and nothing audited) when the run had already ended."""
    with transaction.atomic():
        cancelled = JudgeRun.objects.filter(
            pk=run.pk, status__in=[JudgeRun.Status.PENDING, JudgeRun.Status.RUNNING]
        ).update(status=JudgeRun.Status.CANCELLED, stop_reason="cancelled")
        if cancelled:
            audit_record(
                actor=actor, project=run.config.project, action=AuditAction.JUDGE_RUN_CANCEL,
                target=run,
            )  # fmt: skip
    return bool(cancelled)


# ---- preview and estimate ------------------------------------------------------------------


@dataclass(frozen=True)
class PromptPreview:
    item: str  # the item's external id
    order: str
    system: str
    prompt: str


@dataclass(frozen=True)
class Estimate:
    """What a run would ask: requests, tokens (input from the rendered prompts' length at
    about 4 characters a token, output from max_tokens) and dollars when a price is known."""

    n_items: int
    n_requests: int
    tokens_in: int
    tokens_out: int
    cost: float | None
    prompts: list[PromptPreview]


def judge_preview(
    *,
    project: Project,
    spec: JudgeSpec,
    criterion: Criterion,
    selection: Selection,
    user: AbstractBaseUser | None,
    n_prompts: int = 2,
) -> Estimate:
    """The first prompts a run would send and its estimated size; writes nothing."""
    built_in = built_ins().get(spec.template)
    if built_in is None:
        raise DomainError(f"Unknown template {spec.template!r}.")
    problem = compatible(built_in=built_in, criterion=criterion)
    if problem:
        raise DomainError(problem)
    if spec.provider != JudgeConfig.Provider.CHECKER:
        base_url_check(base_url=spec.base_url, user=user)
    system_text, template_text = _texts(spec, built_in)
    parameters = parameters_clean(spec.parameters)
    selected = items_selected(project=project, kind=built_in.item_kind, selection=selection)
    n_items = selected.count()
    # Rendered: up to PREVIEW_ITEMS items (their steps in one query), the rest estimated.
    items = list(selected[:PREVIEW_ITEMS])
    steps_of: dict[int, list[str]] = {item.pk: [] for item in items}
    rows = Step.objects.filter(item_id__in=list(steps_of)).order_by("item_id", "index")
    for item_id, text in rows.values_list("item_id", "text"):
        steps_of[item_id].append(text)
    both = parameters.get("both_orders", built_in.asks_both_orders)
    samples = parameters.get("samples", 1)
    prompts, chars, rendered = [], 0, 0  # rendered: the items whose prompts `chars` counts
    for item in items:
        rendered += 1
        steps = steps_of[item.pk]
        for request in requests_for(kind=item.kind, both_orders=both, samples=samples):
            context = prompt_context(
                item=item, steps=steps, criterion=criterion, order=request.order,
                guidelines=project.guidelines,
            )  # fmt: skip
            try:
                system = render(system_text, context) if system_text else ""
                prompt = render(template_text, context) if template_text else ""
            except TemplateProblem as exc:
                raise DomainError(f"Item {item.external_id}: {exc.args[0]}") from None
            chars += len(system) + len(prompt)
            if len(prompts) < n_prompts:
                prompts.append(PromptPreview(item.external_id, request.order, system, prompt))
        if len(prompts) >= n_prompts and n_items > PREVIEW_ITEMS:
            break  # estimate the rest from the first items' average
    per_item = len(requests_for(kind=built_in.item_kind, both_orders=both, samples=samples))
    n_requests = n_items * per_item
    tokens_in = int(chars / 4 * n_items / rendered) if rendered else 0
    is_checker = spec.provider == JudgeConfig.Provider.CHECKER
    most = parameters.get("max_tokens") or parameters.get("max_completion_tokens") or 512
    tokens_out = 0 if is_checker else n_requests * most
    price = None if is_checker else price_for(spec.model)
    cost = None if price is None else (tokens_in * price[0] + tokens_out * price[1]) / 1e6
    return Estimate(n_items, n_requests, tokens_in, tokens_out, cost, prompts)
