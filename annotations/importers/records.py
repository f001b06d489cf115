"""The records every importer yields, whatever the file format.

A parser turns a file into a stream of `CriterionRecord`, `ItemRecord`, `JudgementRecord` and
`LineError`; `annotations.importers.writer` validates the stream against the database and
writes it all or nothing. Each record carries where it came from so an error can name the line.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Origin:
    source: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} line {self.line}" if self.source else f"line {self.line}"


@dataclass(frozen=True, slots=True)
class LineError:
    origin: Origin
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.origin}, field '{self.field}'" if self.field else str(self.origin)
        return f"{where}: {self.message}"


@dataclass(slots=True)
class CriterionRecord:
    origin: Origin
    name: str
    target: str
    scale: str
    labels: list = field(default_factory=list)
    min_value: float | None = None
    max_value: float | None = None
    error_labels: list = field(default_factory=list)


@dataclass(slots=True)
class ItemRecord:
    origin: Origin
    external_id: str
    kind: str
    prompt: str = ""
    steps: list[str] = field(default_factory=list)
    response: str | None = None
    response_a: str | None = None
    response_b: str | None = None
    reference_answer: str | None = None
    meta: dict = field(default_factory=dict)


@dataclass(slots=True)
class JudgementRecord:
    origin: Origin
    item: str
    criterion: str
    rater: str
    rater_kind: str
    rater_group: str
    value: Any
    step: int | None = None
    rationale: str = ""
    time_spent_ms: int | None = None
    meta: dict = field(default_factory=dict)
    rater_model: str = ""
    rater_prompt_version: str = ""
    rater_parameters: dict = field(default_factory=dict)


Record = CriterionRecord | ItemRecord | JudgementRecord | LineError
