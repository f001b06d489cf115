"""Write a project in the native JSONL format, streaming: import(export(p)) reproduces p."""

import json
from collections.abc import Iterator
from itertools import chain
from typing import TextIO

from annotations.models import Criterion, Item, Judgement, Project, Rater, Step

CHUNK = 2000


def _criterion_line(criterion: Criterion) -> dict:
    line = {
        "type": "criterion",
        "name": criterion.name,
        "target": criterion.target,
        "scale": criterion.scale,
    }
    if criterion.scale in ("nominal", "ordinal"):
        line["labels"] = criterion.labels
    if criterion.scale == "interval":
        line["min"] = criterion.min_value
        line["max"] = criterion.max_value
    if criterion.error_labels:
        line["error_labels"] = criterion.error_labels
    return line


def _item_lines(project: Project) -> Iterator[dict]:
    items = Item.objects.filter(project=project).order_by("pk")
    last_pk = 0
    while True:
        chunk = list(items.filter(pk__gt=last_pk)[:CHUNK])
        if not chunk:
            return
        last_pk = chunk[-1].pk
        steps: dict[int, list[str]] = {}
        for item_id, text in (
            Step.objects.filter(item__in=chunk)
            .order_by("item_id", "index")
            .values_list("item_id", "text")
        ):
            steps.setdefault(item_id, []).append(text)
        for item in chunk:
            line = {"type": "item", "id": item.external_id, "kind": item.kind}
            line["prompt"] = item.prompt
            if item.kind == Item.Kind.SOLUTION:
                line["steps"] = steps.get(item.pk, [])
            for name in ("response", "response_a", "response_b", "reference_answer"):
                if getattr(item, name) is not None:
                    line[name] = getattr(item, name)
            if item.meta:
                line["meta"] = item.meta
            yield line


def _judgement_lines(project: Project) -> Iterator[dict]:
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
        line = {"type": "judgement", "item": item}
        if step is not None:
            line["step"] = step
        line.update(
            criterion=criterion,
            rater=rater.name,
            rater_kind=rater.kind,
            rater_group=rater.group,
            value=value,
        )
        if rationale:
            line["rationale"] = rationale
        if time_spent_ms is not None:
            line["time_spent_ms"] = time_spent_ms
        if meta:
            line["meta"] = meta
        if rater.model_name:
            line["rater_model"] = rater.model_name
        if rater.prompt_version:
            line["rater_prompt_version"] = rater.prompt_version
        if rater.parameters:
            line["rater_parameters"] = rater.parameters
        yield line


def project_export_native(*, project: Project, out: TextIO) -> int:
    """Write every criterion, item and judgement of `project`; returns the number of lines."""
    n = 0
    lines = [_criterion_line(c) for c in Criterion.objects.filter(project=project)]
    for line in chain(lines, _item_lines(project), _judgement_lines(project)):
        out.write(json.dumps(line, ensure_ascii=False))
        out.write("\n")
        n += 1
    return n
