"""What makes an import's criterion, item and judgement target valid, and when an item or a
criterion already stored is the same one: pure functions of records and of what the writer knows
about stored rows (no database). Which value fits a criterion, and its code, is the one rule in
`annotations.values.ValueRule`.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from annotations.importers.records import (
    CriterionRecord,
    ItemRecord,
    JudgementRecord,
    ScoreRecord,
)
from annotations.models import PAIRWISE_LABELS, Criterion, Item, Rater
from annotations.values import ValueRule

SOLUTION, RESPONSE, PAIR = Item.Kind.SOLUTION.value, Item.Kind.RESPONSE.value, Item.Kind.PAIR.value
ITEM_TEXTS = ("prompt", "response", "response_a", "response_b", "reference_answer")
ITEM_KINDS = frozenset(Item.Kind.values)  # `.values` builds a new list on every access
TARGETS = frozenset(Criterion.Target.values)
SCALES = frozenset(Criterion.Scale.values)


# The longest text each named column holds: PostgreSQL refuses a longer one (DataError) while
# SQLite stores it, so the rules check it and both databases give the same line's error.
MAX_LENGTHS = {
    "criterion": Criterion._meta.get_field("name").max_length,
    "item": Item._meta.get_field("external_id").max_length,
    "rater": Rater._meta.get_field("name").max_length,
    "rater_group": Rater._meta.get_field("group").max_length,
    "rater_model": Rater._meta.get_field("model_name").max_length,
    "rater_prompt_version": Rater._meta.get_field("prompt_version").max_length,
}
# How deeply a stored JSON value (labels, meta, parameters, a value) may nest: deeper ones would
# overflow Python's recursion limit where they are encoded or compared, and no real data nests
# anywhere near this.
MAX_DEPTH = 64
TOO_DEEP = f"is nested more than {MAX_DEPTH} levels deep"
NOT_FINITE = "holds a number out of range (NaN or infinite), which cannot be stored"
# The widest interval scale: its bounds and values stay exact as floats (and far inside what a
# float holds), and the reports treat a wide scale with interval statistics (analysis/loading.py).
MAX_INTERVAL_BOUND = 1e9


class Problem(NamedTuple):
    field: str
    message: str


def too_long(name: str, text: str) -> Problem | None:
    """Whether a name or id is longer than its column holds (see MAX_LENGTHS)."""
    limit = MAX_LENGTHS[name]
    if len(text) > limit:
        return Problem(name, f"is {len(text):,} characters long; at most {limit} are allowed")
    return None


def text_problem(text: str) -> str | None:
    """Why a text cannot be stored, or None: PostgreSQL refuses NUL in text and JSON, and
    neither database takes a lone surrogate (json.loads reads "\\ud800")."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which the database cannot store"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (e.g. \\ud800), which is not valid Unicode text"
    return None


def json_problem(value: Any) -> str | None:
    """Why a JSON value cannot be stored, or None: NaN or an infinity (json.loads reads NaN,
    Infinity and 1e999; JSON columns refuse them), nesting deeper than MAX_DEPTH, or a text
    (value or key) that `text_problem` refuses. Iterative, so a deep value cannot overflow
    the stack here."""
    stack = [(value, 0)]
    while stack:
        value, depth = stack.pop()
        if type(value) is float:
            if value != value or value in (float("inf"), float("-inf")):
                return NOT_FINITE
        elif type(value) is str:
            problem = text_problem(value)
            if problem:
                return problem
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                return TOO_DEEP
            if isinstance(value, dict):
                stack.extend((key, depth + 1) for key in value)
                value = value.values()
            stack.extend((x, depth + 1) for x in value)
    return None


def _text_problems(record: Any, *names: str) -> list[Problem]:
    return [
        Problem(name, problem)
        for name in names
        if isinstance(text := getattr(record, name), str) and (problem := text_problem(text))
    ]


def _json_problems(**values: Any) -> list[Problem]:
    return [Problem(name, message) for name, v in values.items() if (message := json_problem(v))]


def rater_problems(record: "JudgementRecord | ScoreRecord") -> list[Problem]:
    """What a new rater's fields must be to be stored."""
    problems = [
        problem
        for name in ("rater", "rater_group", "rater_model", "rater_prompt_version")
        if (problem := too_long(name, getattr(record, name))) is not None
    ]
    problems += _text_problems(
        record, "rater", "rater_group", "rater_model", "rater_prompt_version"
    )
    return problems + _json_problems(rater_parameters=record.rater_parameters)


def judgement_problem(record: JudgementRecord) -> Problem | None:
    """A judgement's own fields that cannot be stored (the native parser checks these too;
    the real-data parsers build records without it)."""
    ms = record.time_spent_ms
    if ms is not None and (type(ms) is not int or not 0 <= ms <= 2_147_483_647):
        return Problem("time_spent_ms", "must be a whole number from 0 to 2147483647")
    problems = _text_problems(record, "rationale")
    problems += _json_problems(meta=record.meta) if record.meta else []
    if isinstance(record.value, dict | list):  # a scalar is the value rule's to judge
        problems += _json_problems(value=record.value)
    return problems[0] if problems else None


@dataclass(slots=True)
class CriterionInfo:
    """A criterion of the project as the writer checks judgements against it."""

    pk: int
    name: str
    target: str
    scale: str
    rule: ValueRule
    definition: str  # see `definition_key`
    error_labels: tuple = ()  # labels that mark a target wrong

    @classmethod
    def of(cls, criterion: Criterion) -> "CriterionInfo":
        definition = definition_key(
            target=criterion.target,
            scale=criterion.scale,
            labels=criterion.labels,
            min_value=criterion.min_value,
            max_value=criterion.max_value,
            error_labels=criterion.error_labels,
        )
        return cls(
            pk=criterion.pk,
            name=criterion.name,
            target=criterion.target,
            scale=criterion.scale,
            rule=ValueRule.of(criterion),
            definition=definition,
            error_labels=tuple(criterion.error_labels),
        )


@dataclass(slots=True)
class ItemInfo:
    """An item of the project, one small object each (a project may have a million)."""

    pk: int | None  # None until a new item's batch is written
    kind: str
    n_steps: int


def definition_key(
    *,
    target: str,
    scale: str,
    labels: list,
    min_value: float | None,
    max_value: float | None,
    error_labels: list,
) -> str:
    """The fields that define a criterion, as text: two criteria are the same iff equal.

    1 and 1.0 are the same bound, and a pairwise criterion's labels are always a, b, tie.
    """
    definition = {
        "target": target,
        "scale": scale,
        "labels": [] if scale == Criterion.Scale.PAIRWISE else labels,
        "min": None if min_value is None else float(min_value),
        "max": None if max_value is None else float(max_value),
        "error_labels": error_labels,
    }
    return json.dumps(definition, sort_keys=True)


def record_definition_key(record: CriterionRecord) -> str:
    return definition_key(
        target=record.target,
        scale=record.scale,
        labels=record.labels,
        min_value=record.min_value,
        max_value=record.max_value,
        error_labels=record.error_labels,
    )


def item_content_hash(record: ItemRecord) -> str:
    """What an item says, hashed: an item imported again must say the same."""
    content = [
        record.kind,
        record.prompt,
        record.steps,
        record.response,
        record.response_a,
        record.response_b,
        record.reference_answer,
        record.meta,
    ]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def criterion_problems(record: CriterionRecord) -> list[Problem]:
    problems = _json_problems(labels=record.labels, error_labels=record.error_labels)
    long_name = too_long("criterion", record.name)
    if long_name is not None:
        problems.append(Problem("name", long_name.message))
    problems += _text_problems(record, "name")
    if problems:
        return problems
    if record.target not in TARGETS:
        problems.append(Problem("target", f"must be step or item, got {record.target!r}"))
    if record.scale not in SCALES:
        message = f"must be nominal, ordinal, interval or pairwise, got {record.scale!r}"
        problems.append(Problem("scale", message))
    if record.scale in ("nominal", "ordinal"):
        problems += _label_problems(record.labels)
    if record.scale == "interval":
        if record.min_value is None or record.max_value is None:
            problems.append(Problem("min", "an interval criterion needs min and max"))
        elif bound := _unbounded(record):
            problems.append(bound)
        elif record.min_value >= record.max_value:
            problems.append(Problem("max", "must be greater than min"))
    if record.scale != "interval":  # bounds the scale ignores are still stored and compared
        problems += [
            problem
            for name, bound in (("min", record.min_value), ("max", record.max_value))
            if bound is not None and (problem := bound_problem(name, bound)) is not None
        ]
    if record.scale == "pairwise" and record.target != "item":
        problems.append(Problem("target", "a pairwise criterion judges whole items"))
    labels = PAIRWISE_LABELS if record.scale == "pairwise" else record.labels
    allowed = {json.dumps(label) for label in labels}
    for label in record.error_labels:
        if json.dumps(label) not in allowed:
            problems.append(Problem("error_labels", f"{label!r} is not one of the labels"))
    return problems


def _unbounded(record: CriterionRecord) -> Problem | None:
    for name, bound in (("min", record.min_value), ("max", record.max_value)):
        problem = bound_problem(name, bound)
        if problem is not None:
            return problem
    return None


def bound_problem(name: str, bound: Any) -> Problem | None:
    """An interval bound that is not a number within ±MAX_INTERVAL_BOUND (compared as it is:
    float() of a 400-digit int overflows; NaN fails every comparison)."""
    if -MAX_INTERVAL_BOUND <= bound <= MAX_INTERVAL_BOUND:
        return None
    return Problem(name, f"must be a number from -{MAX_INTERVAL_BOUND:g} to {MAX_INTERVAL_BOUND:g}")


def _label_problems(labels: list) -> list[Problem]:
    if len(labels) < 2:
        return [Problem("labels", "a nominal or ordinal criterion needs at least 2 labels")]
    if not all(_is_scalar(label) for label in labels):
        return [Problem("labels", "labels must be JSON scalars")]
    if len({json.dumps(label) for label in labels}) != len(labels):
        return [Problem("labels", "labels must be distinct")]
    return []


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def item_problems(record: ItemRecord) -> list[Problem]:
    if not record.external_id:
        return [Problem("id", "must not be empty")]
    long_id = too_long("item", record.external_id)
    if long_id is not None:
        return [Problem("id", long_id.message)]
    if problem := text_problem(record.external_id):
        return [Problem("id", problem)]
    if record.meta and (problem := json_problem(record.meta)):
        return [Problem("meta", problem)]
    texts = _text_problems(record, *ITEM_TEXTS) or _json_problems(steps=record.steps)
    if texts:
        return texts[:1]
    if record.kind not in ITEM_KINDS:
        return [Problem("kind", f"must be solution, response or pair, got {record.kind!r}")]
    if record.kind == SOLUTION and not record.steps:
        return [Problem("steps", "a solution needs at least one step")]
    if record.kind != SOLUTION and record.steps:
        return [Problem("steps", f"only solutions have steps, this item is a {record.kind}")]
    if record.kind == RESPONSE and record.response is None:
        return [Problem("response", "a response item needs its response")]
    return []


def target_problem(
    record: JudgementRecord | ScoreRecord, criterion: CriterionInfo, item: ItemInfo
) -> Problem | None:
    """Whether the judgement's criterion fits its item, and its step is there when needed."""
    name, item_id = record.criterion, record.item
    if criterion.target == "step":
        if item.kind != SOLUTION:
            return Problem("criterion", f"criterion {name!r} judges steps; {item_id!r} has none")
        if record.step is None:
            return Problem("step", f"criterion {name!r} needs a step")
        if not 0 <= record.step < item.n_steps:
            message = (
                f"step {record.step} is out of range: {item_id!r} has steps 0..{item.n_steps - 1}"
            )
            return Problem("step", message)
    elif record.step is not None:
        return Problem("step", f"criterion {name!r} judges whole items; leave step out")
    if criterion.scale == "pairwise" and item.kind != PAIR:
        return Problem("criterion", f"pairwise criterion {name!r} needs a pair, {item_id!r} is not")
    return None
