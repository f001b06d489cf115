"""Importers: each format is a parser from files to a stream of records (records.py); one
writer (writer.py) validates and stores any stream, all or nothing."""

from collections.abc import Callable, Iterator
from pathlib import Path

from annotations.importers import native
from annotations.importers.records import Record

Parser = Callable[[list[Path]], Iterator[Record]]

FORMATS: dict[str, Parser] = {
    "native": native.parse,
}
