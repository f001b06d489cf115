"""Reads for the lead's review pages, and the access check they all start from.

Everything here shows what annotators must never see -- other raters' labels and rationales,
model judges, their prompts and raw answers, item meta -- so every page calls
`project_get_for_reviewer` first, which answers 404 to anyone but the project's leads and
staff (a staff member who annotates in the project stays blind there).
"""

from collections import defaultdict
from dataclasses import dataclass
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import Http404

from annotations import selectors as core_selectors
from annotations.judges import parsers, structured
from annotations.judges.checker import passed_from
from annotations.judges.models import JudgeAnswer, JudgeConfig
from annotations.judges.templates import built_ins
from annotations.models import Assignment, Criterion, Item, Judgement, Membership, Project, Step

ANSWER_TEXT_LIMIT = 20_000  # a prompt or raw answer longer than this is cut on the page


def user_may_review(*, user: AbstractBaseUser, project: Project) -> bool:
    """Leads of the project and superusers; staff unless they annotate in the project."""
    if not user.is_authenticated:
        return False
    if core_selectors.user_is_lead(user=user, project=project):
        return True
    return user.is_staff and not Membership.objects.filter(project=project, user=user).exists()


def project_get_for_reviewer(*, user: AbstractBaseUser, slug: str) -> Project:
    """The project, if the user may review it; 403 for its other members, 404 otherwise
    (so ids don't leak)."""
    project = Project.objects.filter(slug=slug).first()
    if project is None or not user_may_review(user=user, project=project):
        if project is not None and core_selectors.user_is_member(user=user, project=project):
            raise PermissionDenied(core_selectors.LEADS_ONLY)
        raise Http404("No such project.")
    return project


def item_get_for_reviewer(*, project: Project, item_id: int) -> Item:
    item = Item.objects.select_related("gold").filter(project=project, pk=item_id).first()
    if item is None:
        raise Http404("No such item.")
    return item


# ---- the item as a lead sees it ---------------------------------------------------------


@dataclass(frozen=True)
class RaterLabel:
    rater: str
    label: str
    rationale: str
    inconsistent: bool  # a pair verdict that changed with the answers' order (stored as a tie)


@dataclass(frozen=True)
class GroupLabels:
    group: str
    kind: str  # human or model
    labels: list[RaterLabel]
    answers_anchor: str  # "" unless a platform judge's answers are shown below


@dataclass(frozen=True)
class TargetLabels:
    """Every group's labels on one target (a step or the item) and criterion."""

    criterion: Criterion
    step: int | None
    groups: list[GroupLabels]


@dataclass(frozen=True)
class StepLabels:
    step: Step
    targets: list[TargetLabels]


@dataclass(frozen=True)
class AnswerView:
    """A platform judge's answer: what it was asked, what it said, what the parser made of it."""

    judge: str
    group: str
    criterion: str
    order: str
    sample: int
    system: str
    prompt: str
    raw: str
    parsed: bool
    parse_status: str
    tokens_in: int
    tokens_out: int
    cost: float
    latency_ms: int
    anchor: str


@dataclass(frozen=True)
class ItemReview:
    item: Item
    steps: list[StepLabels]
    item_targets: list[TargetLabels]  # criteria on the whole item
    answers: list[AnswerView]
    flags: list[str]  # annotators' reasons for flagging the item as broken


def item_review(*, item: Item) -> ItemReview:
    """The item, its steps, every rater's label and rationale per target grouped by rater
    group (human groups first, experts first among them), and the answers of the judges run
    from the platform. A fixed number of queries, whatever the number of steps and raters."""
    steps = list(Step.objects.filter(item=item).order_by("index"))
    criteria = list(Criterion.objects.filter(project_id=item.project_id))
    judgements = (
        Judgement.objects.filter(item=item)
        .select_related("rater")
        .only(
            "value",
            "rationale",
            "meta",
            "criterion_id",
            "step_id",
            "rater__name",
            "rater__group",
            "rater__kind",
        )
        .order_by("rater__name")
    )
    configs = list(JudgeConfig.objects.filter(project_id=item.project_id).select_related("rater"))
    answers = _answers(item=item, configs=configs, criteria=criteria, n_steps=len(steps))
    anchored = {(a.group, a.criterion): a.anchor for a in reversed(answers)}
    cells: dict[tuple[int, int | None], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    kinds: dict[str, str] = {}
    for j in judgements:
        group = j.rater.group
        kinds[group] = (
            "human" if j.rater.kind == "human" or kinds.get(group) == "human" else "model"
        )
        cells[(j.criterion_id, j.step_id)][group].append(
            RaterLabel(
                rater=j.rater.name,
                label=str(j.value),
                rationale=j.rationale,
                inconsistent=bool(isinstance(j.meta, dict) and j.meta.get("inconsistent")),
            )
        )
    order = sorted(kinds, key=lambda g: (kinds[g] != "human", g != "expert", g))

    def target(criterion: Criterion, step: Step | None) -> TargetLabels:
        by_group = cells.get((criterion.pk, step.pk if step else None), {})
        return TargetLabels(
            criterion=criterion,
            step=step.index if step else None,
            groups=[
                GroupLabels(g, kinds[g], by_group[g], anchored.get((g, criterion.name), ""))
                for g in order
                if g in by_group
            ],
        )

    step_criteria = [c for c in criteria if c.target == Criterion.Target.STEP]
    item_criteria = [c for c in criteria if c.target == Criterion.Target.ITEM]
    flags = Assignment.objects.filter(item=item, status=Assignment.Status.FLAGGED)
    return ItemReview(
        item=item,
        steps=[StepLabels(s, [target(c, s) for c in step_criteria]) for s in steps],
        item_targets=[target(c, None) for c in item_criteria],
        answers=answers,
        flags=[reason or "(no reason given)" for reason in flags.values_list("reason", flat=True)],
    )


def _answers(
    *, item: Item, configs: list[JudgeConfig], criteria: list[Criterion], n_steps: int
) -> list[AnswerView]:
    """Each platform judge version's answers on the item. Answers are stored per ask key
    (a judge version without its parser), so two versions differing only by parser share
    them, and each reads them with its own parser."""
    if not configs:
        return []
    by_key: dict[str, list[JudgeConfig]] = defaultdict(list)
    for config in configs:
        by_key[config.ask_key].append(config)
    names = {c.pk: c for c in criteria}
    rows = JudgeAnswer.objects.filter(item=item, ask_key__in=list(by_key)).order_by(
        "criterion_id", "order", "sample", "pk"
    )
    out = []
    for answer in rows:
        criterion = names.get(answer.criterion_id)
        if criterion is None:
            continue
        for config in by_key[answer.ask_key]:
            parsed, status = parse_status(
                config=config, criterion=criterion, raw=answer.raw, n_steps=n_steps
            )
            out.append(
                AnswerView(
                    judge=config.rater.name,
                    group=config.rater.group,
                    criterion=criterion.name,
                    order=answer.order,
                    sample=answer.sample,
                    system=answer.system[:ANSWER_TEXT_LIMIT],
                    prompt=answer.prompt[:ANSWER_TEXT_LIMIT],
                    raw=answer.raw[:ANSWER_TEXT_LIMIT],
                    parsed=parsed,
                    parse_status=status,
                    tokens_in=answer.tokens_in,
                    tokens_out=answer.tokens_out,
                    cost=answer.cost,
                    latency_ms=answer.latency_ms,
                    anchor=f"answer-{config.pk}-{answer.pk}",
                )
            )
    return out


def parse_status(
    *, config: JudgeConfig, criterion: Criterion, raw: str, n_steps: int
) -> tuple[bool, str]:
    """What the judge version's parser makes of a raw answer: (parsed, a line saying what)."""
    built_in = built_ins().get(config.template)
    if built_in is None:
        return False, f"no parser: unknown template {config.template!r}"
    if built_in.parser == "checker":
        passed = passed_from(raw)
        if passed is None:
            return False, "unparsed: nothing was compared"
        return True, "parsed: passed" if passed else "parsed: failed"
    if config.parameters.get("structured"):
        parse = partial(structured.read, built_in.parser)
    else:
        parse = parsers.PARSERS[built_in.parser].parse
    try:
        value = parse(raw, n_steps=n_steps, labels=criterion.value_labels)
    except parsers.Unparsed as exc:
        return False, f"unparsed: {exc}"
    return True, f"parsed: {value}"


# ---- the item browser --------------------------------------------------------------------


def items_page_annotate(*, items: QuerySet[Item]) -> QuerySet[Item]:
    """Items with their judgement and step counts, for one page of the browser (counts as
    subqueries, so a page of 50 is one query however many judgements the items have)."""
    counts = (
        Judgement.objects.filter(item=OuterRef("pk"))
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    flags = (
        Assignment.objects.filter(item=OuterRef("pk"), status=Assignment.Status.FLAGGED)
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        items.select_related("gold")
        .annotate(n_judgements=Subquery(counts), n_flags=Subquery(flags))
        .only("pk", "external_id", "kind", "prompt", "meta", "n_steps", "gold__id")
        .order_by("pk")
    )
