"""The native import format, defined once: the records every parser yields.

Each record type is a msgspec Struct tagged on `type`, so one definition serves three readers:
the native parser decodes a JSON line straight into it (`native.py`), the exporter encodes it
(`annotations/exports.py`, leaving out fields at their defaults), and README's "Import format"
section documents it (a test checks that every field below is named there). The real-data
parsers build the same records from their own files.

On the wire a field is named as in `field(name=...)` where it differs (`id`, `min`, `max`); a
field with a default may be left out or be null. An item or judgement's item id may also be a
number: it is read as its decimal text. `DESCRIPTIONS` says what each field must be, in the
words the parser's errors use. Whether a value fits its criterion, an item exists or a step is
in range is the writer's business (it needs the database): see `annotations.values` and
`annotations.importers.rules`.

`origin` is not part of the format: the parser sets it to the line a record came from, so an
error can name it; the exporter leaves it out.
"""

from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, ClassVar

from msgspec import Meta, Struct, field

from annotations.importers.errors import LineError, Origin


class _Record(Struct, kw_only=True, omit_defaults=True, tag_field="type"):
    origin: Origin | None = None


class CriterionRecord(_Record, kw_only=True, tag="criterion"):
    """What is judged and on which scale."""

    DESCRIPTIONS: ClassVar[dict[str, str]] = {
        "name": "a string",
        "target": "a string",
        "scale": "a string",
        "labels": "a list",
        "min": "a number",
        "max": "a number",
        "error_labels": "a list",
    }

    name: str
    target: str  # step | item
    scale: str  # nominal | ordinal | interval | pairwise
    labels: list[Any] = []  # nominal and ordinal: >= 2 distinct JSON scalars, in order
    min_value: int | float | None = field(default=None, name="min")  # interval
    max_value: int | float | None = field(default=None, name="max")  # interval
    error_labels: list[Any] = []  # labels that mark a step wrong


class ItemRecord(_Record, kw_only=True, tag="item"):
    """A thing to judge: a solution with steps, a response, or a pair of responses."""

    DESCRIPTIONS: ClassVar[dict[str, str]] = {
        "id": "a string",
        "kind": "a string",
        "prompt": "a string",
        "steps": "a list of strings",
        "response": "a string",
        "response_a": "a string",
        "response_b": "a string",
        "reference_answer": "a string",
        "meta": "an object",
    }

    external_id: str = field(name="id")  # unique in the project
    kind: str  # solution | response | pair
    prompt: str = ""
    steps: list[str] = []  # solutions only, and they need at least one
    response: str | None = None  # response items need it
    response_a: str | None = None
    response_b: str | None = None
    reference_answer: str | None = None
    meta: dict[str, Any] = {}  # free key/values that reports slice by


class JudgementRecord(_Record, kw_only=True, tag="judgement"):
    """One rater's value for one criterion on an item (or one of its steps)."""

    DESCRIPTIONS: ClassVar[dict[str, str]] = {
        "item": "an item id",
        "step": "a 0-based step index",
        "criterion": "a criterion name",
        "rater": "a rater name",
        "rater_kind": "human or model",
        "rater_group": "a group name",
        "rationale": "a string",
        "time_spent_ms": "a whole number of milliseconds",
        "meta": "an object",
        "rater_model": "a string",
        "rater_prompt_version": "a string",
        "rater_parameters": "an object",
    }

    item: str
    step: int | None = None  # exactly when the criterion's target is step
    criterion: str
    rater: str
    rater_kind: str = "human"  # human | model
    rater_group: str = ""  # "" means the kind
    value: Any  # a label (compared as JSON) or a number within min..max
    rationale: str = ""
    # At most the judgement column's range (a PositiveIntegerField: 2**31 - 1 on PostgreSQL).
    time_spent_ms: Annotated[int, Meta(ge=0, le=2_147_483_647)] | None = None
    meta: dict[str, Any] = {}
    rater_model: str = ""  # models only: which model, prompt and parameters
    rater_prompt_version: str = ""
    rater_parameters: dict[str, Any] = {}


class ScoreRecord(_Record, kw_only=True, tag="score"):
    """A model's continuous score for an item (or one of its steps), e.g. a reward model's or
    a process reward model's. On a nominal criterion with error labels a higher score means
    "more likely correct"; on a pairwise criterion the score is the probability, 0 to 1, that
    the item's answer a is better than b. The rater is always a model."""

    DESCRIPTIONS: ClassVar[dict[str, str]] = {
        "item": "an item id",
        "step": "a 0-based step index",
        "criterion": "a criterion name",
        "rater": "a rater name",
        "rater_group": "a group name",
        "score": "a finite number (0 to 1 on a pairwise criterion)",
        "rater_model": "a string",
    }
    # What the writer reads of a judgement's rater: a score's rater is a model, as given.
    rater_kind: ClassVar[str] = "model"
    rater_prompt_version: ClassVar[str] = ""
    rater_parameters: ClassVar[dict[str, Any]] = {}

    item: str
    step: int | None = None  # exactly when the criterion's target is step
    criterion: str
    rater: str
    rater_group: str = ""  # "" means "model"
    score: int | float
    rater_model: str = ""


Line = CriterionRecord | ItemRecord | JudgementRecord | ScoreRecord
"""One line of the native format."""

Record = CriterionRecord | ItemRecord | JudgementRecord | ScoreRecord | LineError
"""What a parser yields: a record, or the error on a line it could not read."""


# The contract between a format that may update stored judgements (labelstudio) and the writer:
# it lives with the records so a parser never imports the writer (the package imports both).
class Supersede(Enum):
    """What an updating import does with a staged judgement whose target holds another one."""

    UPDATE = "update"  # the staged one is a newer version of the stored one: overwrite it
    KEEP = "keep"  # the stored one is the same version or newer: leave it
    CONFLICT = "conflict"  # not the same record: the native rule (reject another value)


# (stored judgement's meta, staged judgement's meta) -> what to do; see ImportWriter.
Supersedes = Callable[[dict, dict], Supersede]
