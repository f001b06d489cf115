"""Where a record came from and what was wrong with it: the types every parser and the writer
share, kept apart from any one format."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Origin:
    """A line of a file (1-based)."""

    source: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} line {self.line}" if self.source else f"line {self.line}"


@dataclass(frozen=True, slots=True)
class EntryOrigin(Origin):
    """An entry of a JSON list: `line` is the entry's 1-based position."""

    def __str__(self) -> str:
        return f"{self.source} entry {self.line}"


@dataclass(frozen=True, slots=True)
class LineError:
    """A bad line, as a parser yields it in the record stream; the writer reports it."""

    origin: Origin
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.origin}, field '{self.field}'" if self.field else str(self.origin)
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Note:
    """What a parser tells the import's result besides records: a sentence for the reader
    (`text`) and/or counts of what it left out (`counts`, added to the import's counts)."""

    text: str = ""
    counts: tuple[tuple[str, int], ...] = ()


class FieldError(Exception):
    """Raised while reading one line or entry: which field is wrong ("" for the whole line)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
