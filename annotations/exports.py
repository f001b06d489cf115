"""Write a project in the native JSONL format, streaming: import(export(p)) reproduces p
(criteria, items, judgements and scores).

Each line is a record of `annotations.importers.records` (the format's one definition),
encoded with the fields at their defaults left out.
"""

from collections.abc import Iterator
from itertools import chain
from typing import TextIO

import msgspec

from annotations.importers.records import (
    CriterionRecord,
    ItemRecord,
    JudgementRecord,
    ScoreRecord,
)
from annotations.models import Criterion, Item, Judgement, Project, Rater, Step
from annotations.scores import Score

CHUNK = 2000
ITEM_TEXTS = ("response", "response_a", "response_b", "reference_answer")


def project_export_native(*, project: Project, out: TextIO) -> int:
    """Write every criterion, item, judgement and score of `project`; returns the number of
    lines. Scores come last, after the judgements that create their raters with everything
    a score line does not carry (a model's prompt version and parameters)."""
    encode = msgspec.json.Encoder().encode
    n = 0
    records = chain(_criteria(project), _items(project), _judgements(project), _scores(project))
    for record in records:
        out.write(encode(record).decode())
        out.write("\n")
        n += 1
    return n


def _criteria(project: Project) -> Iterator[CriterionRecord]:
    for criterion in Criterion.objects.filter(project=project):
        interval = criterion.scale == Criterion.Scale.INTERVAL
        yield CriterionRecord(
            name=criterion.name,
            target=criterion.target,
            scale=criterion.scale,
            labels=criterion.labels if criterion.scale in ("nominal", "ordinal") else [],
            min_value=criterion.min_value if interval else None,
            max_value=criterion.max_value if interval else None,
            error_labels=criterion.error_labels,
        )


def _items(project: Project) -> Iterator[ItemRecord]:
    items = Item.objects.filter(project=project).order_by("pk")
    last_pk = 0
    while chunk := list(items.filter(pk__gt=last_pk)[:CHUNK]):
        last_pk = chunk[-1].pk
        steps: dict[int, list[str]] = {}
        for item_id, text in (
            Step.objects.filter(item__in=chunk)
            .order_by("item_id", "index")
            .values_list("item_id", "text")
        ):
            steps.setdefault(item_id, []).append(text)
        for item in chunk:
            yield ItemRecord(
                external_id=item.external_id,
                kind=item.kind,
                prompt=item.prompt,
                steps=steps.get(item.pk, []),
                meta=item.meta,
                **{name: getattr(item, name) for name in ITEM_TEXTS},
            )


def _judgements(project: Project) -> Iterator[JudgementRecord]:
    raters = {rater.pk: rater for rater in Rater.objects.filter(project=project)}
    rows = (
        Judgement.objects.filter(criterion__project=project)
        .order_by("pk")
        .values_list(
            "item__external_id",
            "step__index",
            "criterion__name",
            "rater_id",
            "value",
            "rationale",
            "time_spent_ms",
            "meta",
        )
        .iterator(chunk_size=CHUNK)
    )
    for item, step, criterion, rater_id, value, rationale, time_spent_ms, meta in rows:
        rater = raters[rater_id]
        yield JudgementRecord(
            item=item,
            step=step,
            criterion=criterion,
            rater=rater.name,
            rater_kind=rater.kind,
            rater_group=rater.group,
            value=value,
            rationale=rationale,
            time_spent_ms=time_spent_ms,
            meta=meta or {},
            rater_model=rater.model_name,
            rater_prompt_version=rater.prompt_version,
            rater_parameters=rater.parameters or {},
        )


def _scores(project: Project) -> Iterator[ScoreRecord]:
    raters = {rater.pk: rater for rater in Rater.objects.filter(project=project)}
    rows = (
        Score.objects.filter(criterion__project=project)
        .order_by("pk")
        .values_list("item__external_id", "step__index", "criterion__name", "rater_id", "score")
        .iterator(chunk_size=CHUNK)
    )
    for item, step, criterion, rater_id, score in rows:
        rater = raters[rater_id]
        yield ScoreRecord(
            item=item,
            step=step,
            criterion=criterion,
            rater=rater.name,
            rater_group=rater.group,
            score=score,
            rater_model=rater.model_name,
        )
