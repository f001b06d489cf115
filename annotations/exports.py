"""Write a project in the native JSONL format, streaming: import(export(p)) reproduces p
(criteria, items, judgements and scores).

Each line is a record of `annotations.importers.records` (the format's one definition),
encoded with the fields at their defaults left out.
"""

from collections.abc import Callable, Iterator
from itertools import chain
from typing import TextIO

import msgspec
from django.db.models import TextField
from django.db.models.functions import Cast

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


def project_export_native(
    *, project: Project, out: TextIO, progress: Callable[[int], None] | None = None
) -> int:
    """Write every criterion, item, judgement and score of `project`; returns the number of
    lines. Scores come last, after the judgements that create their raters with everything
    a score line does not carry (a model's prompt version and parameters). `progress` is
    told the lines written so far after each chunk (the web export's job row)."""
    encode_lines = msgspec.json.Encoder().encode_lines
    criteria = list(_criteria(project))
    out.write(encode_lines(criteria).decode())
    out.flush()  # out at once: the reader sees the export has begun
    n = len(criteria)
    batch: list = []
    for record in chain(_items(project), _judgements(project), _scores(project)):
        batch.append(record)
        if len(batch) == CHUNK:
            out.write(encode_lines(batch).decode())
            n += len(batch)
            batch = []
            if progress is not None:
                progress(n)
    out.write(encode_lines(batch).decode())
    return n + len(batch)


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


def items_with_steps(*, project: Project) -> Iterator[tuple[Item, list[str]]]:
    """Every item of `project` by id with its steps' texts in order, read CHUNK items at a
    time (keyset paging, one steps query per chunk): what every export writes items from."""
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
            yield item, steps.get(item.pk, [])


def _items(project: Project) -> Iterator[ItemRecord]:
    for item, steps in items_with_steps(project=project):
        yield ItemRecord(
            external_id=item.external_id,
            kind=item.kind,
            prompt=item.prompt,
            steps=steps,
            meta=item.meta,
            **{name: getattr(item, name) for name in ITEM_TEXTS},
        )


def _item_ranges(project: Project) -> Iterator[dict[int, str]]:
    """The project's items in chunks of CHUNK (by id, keyset paging): id -> external id."""
    items = Item.objects.filter(project=project).order_by("pk").values_list("pk", "external_id")
    last_pk = 0
    while chunk := list(items.filter(pk__gt=last_pk)[:CHUNK]):
        last_pk = chunk[-1][0]
        yield dict(chunk)


def _judgements(project: Project) -> Iterator[JudgementRecord]:
    """Judgements item chunk by item chunk: each chunk is one range read of the
    (criterion, item) index, so the first line goes out at once and memory stays at a chunk
    (one query ordered by id over the project sorted every judgement before its first row)."""
    raters = {rater.pk: rater for rater in Rater.objects.filter(project=project)}
    criteria = dict(Criterion.objects.filter(project=project).values_list("pk", "name"))
    for names in _item_ranges(project):
        rows = (
            Judgement.objects.filter(
                criterion_id__in=list(criteria), item_id__gte=min(names), item_id__lte=max(names)
            )
            .order_by("item_id", "pk")
            # Value and meta as the database's JSON text: the value goes out as it is (Raw),
            # meta is decoded only when not empty; decoding and encoding every value again
            # was most of the export's CPU.
            .annotate(value_text=Cast("value", TextField()), meta_text=Cast("meta", TextField()))
            .values_list(
                "item_id",
                "step__index",
                "criterion_id",
                "rater_id",
                "value_text",
                "rationale",
                "time_spent_ms",
                "meta_text",
            )
        )
        for item_id, step, criterion_id, rater_id, value, rationale, time_spent_ms, meta in rows:
            rater = raters[rater_id]
            yield JudgementRecord(
                item=names[item_id],
                step=step,
                criterion=criteria[criterion_id],
                rater=rater.name,
                rater_kind=rater.kind,
                rater_group=rater.group,
                value=msgspec.Raw(value.encode()),
                rationale=rationale,
                time_spent_ms=time_spent_ms,
                meta={} if meta == "{}" else msgspec.json.decode(meta),
                rater_model=rater.model_name,
                rater_prompt_version=rater.prompt_version,
                rater_parameters=rater.parameters or {},
            )


def scores_with_raters(*, project: Project) -> Iterator[tuple[str, int | None, str, Rater, float]]:
    """Every score of `project` by id as (item's external id, step index, criterion name,
    rater, score), streamed: what every export writes scores from."""
    raters = {rater.pk: rater for rater in Rater.objects.filter(project=project)}
    rows = (
        Score.objects.filter(criterion__project=project)
        .order_by("pk")
        .values_list("item__external_id", "step__index", "criterion__name", "rater_id", "score")
        .iterator(chunk_size=CHUNK)
    )
    for item, step, criterion, rater_id, score in rows:
        yield item, step, criterion, raters[rater_id], score


def _scores(project: Project) -> Iterator[ScoreRecord]:
    for item, step, criterion, rater, score in scores_with_raters(project=project):
        yield ScoreRecord(
            item=item,
            step=step,
            criterion=criterion,
            rater=rater.name,
            rater_group=rater.group,
            score=score,
            rater_model=rater.model_name,
        )
