"""JUDGE-BENCH (Bavaresco et al. 2025): human-rated NLG data sets in one JSON format.

A file is `{dataset, annotations: [{metric, category, worst, best | labels_list, prompt}],
instances: [{id, instance, annotations: {metric: {individual_human_scores, mean_human |
majority_human}}}]}`.

- Each entry of `annotations` becomes a per-item criterion named after its metric: `graded`
  -> ordinal with the integer labels worst..best (in that order, so a higher code is better);
  `categorical` -> nominal with `labels_list`. A graded metric whose scores are not all whole
  numbers becomes an interval criterion from worst to best instead, so the scores are kept as
  they are rather than rounded (the two files shipped in demo_data have whole numbers only).
- Each instance becomes a `response` item with the id `<data set>-<instance id>`: the ids
  repeat across data sets (0, 1, 2...). The data set is the file's `dataset` field as a slug
  (`newsroom`), or the file's name without `.json` when it has none; the file name comes
  second because an upload may change it, and the same instance must get the same id on a
  re-import. A text instance is the response and the prompt is empty. An object instance is
  split: its response-like field (`response`, `output`, `summary`, `hypothesis`,
  `generation`, `target`, `answer`, first found) is the response and the other fields, as
  indented JSON, the prompt; with no such field the whole object, as indented JSON, is the
  response. Meta: `dataset` (as written in the file), `instance_id`.
- `individual_human_scores[i]` becomes a judgement by rater `human_<i+1>` (group `human`).
  Caveat: JUDGE-BENCH does not say who gave a score; the position is NOT a stable rater
  identity (human_1 of one instance may be another person than human_1 of the next), so
  per-rater statistics (one rater's bias, pairwise agreement between two named raters) are not
  meaningful on these data; statistics that treat raters as exchangeable (Krippendorff's alpha,
  Fleiss' kappa, mean ratings) are.
- A null score is skipped (no judgement). A whole-number float (4.0) is taken as the integer.

The files are small and are loaded whole; a file's items are yielded before its judgements.
Errors name the file, the instance (1-based) and the field.
"""

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from django.utils.text import slugify

from annotations.importers.errors import FieldError, LineError, Origin
from annotations.importers.reading import json_entries, load_json
from annotations.importers.records import CriterionRecord, ItemRecord, JudgementRecord, Record
from annotations.importers.rules import bound_problem
from annotations.values import MAX_SCALE_CATEGORIES, ValueRejected, ValueRule

RESPONSE_FIELDS = ("response", "output", "summary", "hypothesis", "generation", "target", "answer")


def parse(paths: list[Path]) -> Iterator[Record]:
    """Yield each file's criteria, then its instances, then their scores."""
    for path in map(Path, paths):
        data, error = load_json(path)
        if error is not None:
            yield error
        elif not isinstance(data, dict) or not isinstance(data.get("instances"), list):
            message = "must be an object with a list of instances"
            yield LineError(Origin(path.name, 1), "instances", message)
        else:
            yield from _file(data, path)


def _file(data: dict, path: Path) -> Iterator[Record]:
    criteria = _criteria(data, path.name)
    yield from criteria.values()
    dataset = data.get("dataset") if isinstance(data.get("dataset"), str) else ""
    rules = {
        name: _rule(criterion)
        for name, criterion in criteria.items()
        if isinstance(criterion, CriterionRecord)
    }
    build = partial(
        _instance, prefix=slugify(dataset)[:80] or path.stem, dataset=dataset, rules=rules
    )
    # A file's items go before its judgements, so the writer stores them in batches.
    scores: list[Record] = []
    for where, built in json_entries(data["instances"], path.name, build):
        if isinstance(built, FieldError):
            yield LineError(where, built.field, built.message)
            continue
        item, judgements = built
        yield item
        scores.extend(judgements)
    yield from scores


def _criteria(data: dict, source: str) -> dict[str, CriterionRecord | LineError]:
    """The criteria by metric name; a malformed definition is a LineError in its place."""
    definitions = data.get("annotations")
    if not isinstance(definitions, list) or not definitions:
        return {"": LineError(Origin(source, 1), "annotations", "must be a non-empty list")}
    criteria: dict[str, CriterionRecord | LineError] = {}
    origin = Origin(source, 1)
    for position, definition in enumerate(definitions):
        try:
            name, record = _criterion(definition, origin, data["instances"])
        except FieldError as exc:
            field = f"annotations[{position}].{exc.field}".rstrip(".")
            criteria[f"#{position}"] = LineError(origin, field, exc.message)
            continue
        criteria[name] = record
    return criteria


def _criterion(definition: Any, origin: Origin, instances: list) -> tuple[str, CriterionRecord]:
    if not isinstance(definition, dict):
        raise FieldError("", "must be an object")
    name = definition.get("metric")
    if not isinstance(name, str) or not name:
        raise FieldError("metric", "must be a non-empty string")
    category = definition.get("category")
    if category == "categorical":
        labels = definition.get("labels_list")
        if not isinstance(labels, list):
            raise FieldError("labels_list", "must be a list of labels")
        return name, CriterionRecord(
            origin=origin, name=name, target="item", scale="nominal", labels=labels
        )
    if category != "graded":
        raise FieldError("category", f"must be graded or categorical, got {category!r}")
    worst, best = definition.get("worst"), definition.get("best")
    if not _is_whole(worst) or not _is_whole(best) or worst == best:
        raise FieldError("worst", f"worst and best must be two whole numbers, got {worst}, {best}")
    worst, best = int(worst), int(best)
    # Before any rule is built from them: a value's message formats the bounds as floats.
    problem = bound_problem("worst", worst) or bound_problem("best", best)
    if problem is not None:
        raise FieldError(*problem)
    short = abs(best - worst) < MAX_SCALE_CATEGORIES
    if short and all(_is_whole(score) for score in _scores(instances, name) if score is not None):
        step = 1 if best > worst else -1
        labels = list(range(worst, best + step, step))
        return name, CriterionRecord(
            origin=origin, name=name, target="item", scale="ordinal", labels=labels
        )
    low, high = sorted((worst, best))
    return name, CriterionRecord(
        origin=origin,
        name=name,
        target="item",
        scale="interval",
        min_value=low,
        max_value=high,
    )


def _scores(instances: list, metric: str) -> Iterator[Any]:
    for instance in instances:
        annotations = instance.get("annotations") if isinstance(instance, dict) else None
        entry = annotations.get(metric) if isinstance(annotations, dict) else None
        scores = entry.get("individual_human_scores") if isinstance(entry, dict) else None
        if isinstance(scores, list):
            yield from scores


def _is_whole(value: Any) -> bool:
    # An int is whole as it is: float() of a 400-digit int overflows.
    return type(value) is int or (_is_number(value) and float(value).is_integer())


def _instance(
    instance: Any, origin: Origin, prefix: str, dataset: str, rules: dict[str, ValueRule]
) -> tuple[ItemRecord, list[JudgementRecord]]:
    if not isinstance(instance, dict):
        raise FieldError("", "must be an object")
    instance_id = instance.get("id")
    if not isinstance(instance_id, str | int) or isinstance(instance_id, bool):
        raise FieldError("id", f"must be a string or an integer, got {instance_id!r}")
    prompt, response = _texts(instance.get("instance"))
    item = ItemRecord(
        origin=origin,
        external_id=f"{prefix}-{instance_id}",
        kind="response",
        prompt=prompt,
        response=response,
        meta={"dataset": dataset, "instance_id": instance_id},
    )
    annotations = instance.get("annotations")
    if not isinstance(annotations, dict):
        raise FieldError("annotations", "must be an object of metric -> scores")
    judgements = []
    for metric, entry in annotations.items():
        rule = rules.get(metric)
        if rule is None:
            raise FieldError(f"annotations.{metric}", "is not a metric of the file's annotations")
        scores = entry.get("individual_human_scores") if isinstance(entry, dict) else None
        if not isinstance(scores, list):
            raise FieldError(f"annotations.{metric}.individual_human_scores", "must be a list")
        judgements += _judgements(scores, rule, origin, item.external_id, metric)
    return item, judgements


def _judgements(
    scores: list, rule: ValueRule, origin: Origin, item_id: str, metric: str
) -> Iterator[JudgementRecord]:
    """A judgement per score by `human_<position>`; a score that does not fit is an error."""
    for position, score in enumerate(scores, start=1):
        if score is None:
            continue
        if rule.scale == "ordinal" and _is_whole(score):
            score = int(score)
        try:
            rule.check(score)
        except ValueRejected as exc:
            field = f"annotations.{metric}.individual_human_scores[{position - 1}]"
            raise FieldError(field, exc.message) from None
        yield JudgementRecord(
            origin=origin,
            item=item_id,
            criterion=metric,
            rater=f"human_{position}",
            rater_kind="human",
            rater_group="human",
            value=score,
        )


def _rule(criterion: CriterionRecord) -> ValueRule:
    return ValueRule.build(
        scale=criterion.scale,
        labels=criterion.labels,
        min_value=criterion.min_value,
        max_value=criterion.max_value,
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _texts(instance: Any) -> tuple[str, str]:
    """(prompt, response) of an instance: a text, or an object split as the module says."""
    if isinstance(instance, str):
        return "", instance
    if not isinstance(instance, dict):
        raise FieldError("instance", "must be a text or an object")
    field = next((name for name in RESPONSE_FIELDS if name in instance), None)
    if field is None:
        return "", _readable(instance)
    response = instance[field]
    rest = {key: value for key, value in instance.items() if key != field}
    return (
        _readable(rest) if rest else "",
        response if isinstance(response, str) else _readable(response),
    )


def _readable(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
