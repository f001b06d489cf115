"""From a chunk's stored answers to its judgements: parse with the judge version's parser,
combine into a verdict (`verdicts`), write the judgements. No guessing: an item whose answers
do not all parse, or whose samples tie, gets no judgement and is counted as unparsed."""

from dataclasses import dataclass
from functools import partial

from django.db import transaction

from annotations.judges import parsers, structured, verdicts
from annotations.judges.checker import passed_from
from annotations.judges.models import JudgeAnswer, JudgeRun
from annotations.judges.templates import built_ins
from annotations.models import Item, Judgement
from annotations.values import ValueRule


@dataclass(frozen=True)
class Targets:
    """A chunk's items, their steps' texts and ids, and the answer keys (item, order,
    sample) each item's judgement needs."""

    items: list[Item]
    steps: dict[int, list[str]]
    step_ids: dict[int, dict[int, int]]
    keys: dict[int, list[tuple[int, str, int]]]


def _parse(run: JudgeRun, targets: Targets, answers: list[JudgeAnswer], item: Item) -> list | None:
    """The parsed answers, or None when one does not parse (counted, never guessed)."""
    built_in = built_ins()[run.config.template]
    if built_in.parser == "checker":
        values = [passed_from(a.raw) for a in answers]
        return None if None in values else values
    kwargs = {"n_steps": len(targets.steps[item.pk]), "labels": run.criterion.value_labels}
    if run.config.parameters.get("structured"):
        parse = partial(structured.read, built_in.parser)
    else:
        parse = parsers.PARSERS[built_in.parser].parse
    try:
        return [parse(a.raw, **kwargs) for a in answers]
    except parsers.Unparsed:
        return None


def _verdict(run: JudgeRun, n_steps: int, answers: list[JudgeAnswer], parsed: list):
    criterion, parser = run.criterion, built_ins()[run.config.template].parser
    if parser == "mtbench-pair":
        by_order: dict[str, list] = {}
        for answer, value in zip(answers, parsed, strict=True):
            by_order.setdefault(answer.order, []).append(value)
        return verdicts.pair(by_order)
    if parser == "rating":
        return verdicts.rating(parsed, criterion)
    if parser == "boxed-index":
        return verdicts.earliest_error(parsed, criterion, n_steps)
    if parser == "step-verdicts":
        return verdicts.step_labels(parsed, n_steps)
    return verdicts.checked(parsed, criterion)


def judgements_write(*, run: JudgeRun, targets: Targets) -> tuple[int, int]:
    """Replace the judge version's judgements of the items that have a verdict; return how
    many items were judged and how many had answers that give none."""
    # Read the answers back: the stored rows (ids for the judgements' meta), whoever stored
    # them (another attempt of this chunk may have won a race on the unique key).
    answers = JudgeAnswer.objects.filter(
        ask_key=run.config.ask_key,
        criterion=run.criterion,
        item_id__in=[i.pk for i in targets.items],
    ).defer("prompt")
    stored = {(a.item_id, a.order, a.sample): a for a in answers}
    rule = ValueRule.of(run.criterion)
    rows, judged, unparsed = [], [], 0
    for item in targets.items:
        mine = [stored.get(key) for key in targets.keys[item.pk]]
        if None in mine:
            continue  # a request failed: counted as failed, no judgement
        parsed = _parse(run, targets, mine, item)
        n_steps = len(targets.steps[item.pk])
        verdict = None if parsed is None else _verdict(run, n_steps, mine, parsed)
        if verdict is None:
            unparsed += 1
            continue
        judged.append(item.pk)
        rows += _judgements(run, rule, targets.step_ids[item.pk], item, mine, verdict)
    with transaction.atomic():
        Judgement.objects.filter(
            rater=run.config.rater, criterion=run.criterion, item_id__in=judged
        ).delete()
        Judgement.objects.bulk_create(rows)
    return len(judged), unparsed


def _judgements(
    run: JudgeRun,
    rule: ValueRule,
    step_ids: dict[int, int],
    item: Item,
    answers: list[JudgeAnswer],
    verdict: verdicts.Verdict,
) -> list[Judgement]:
    meta = {"judge_run": run.pk, "answers": [a.pk for a in answers if a.pk], **verdict.meta}
    common = {
        "rater": run.config.rater,
        "item": item,
        "criterion": run.criterion,
        "rationale": answers[0].raw[:10_000],
        "meta": meta,
    }
    if run.criterion.target == "item":
        return [Judgement(step=None, value=verdict.value, code=rule.code(verdict.value), **common)]
    return [
        Judgement(step_id=step_ids[index], value=value, code=rule.code(value), **common)
        for index, value in verdict.steps.items()
    ]
