"""Importers: each format is a parser from files to a stream of records (records.py); one
writer (writer.py) validates and stores any stream, all or nothing."""

from collections.abc import Callable, Iterator
from pathlib import Path

from annotations.importers import (
    argilla,
    judgebench,
    mtbench,
    native,
    prm800k,
    processbench,
    scores,
    summeval,
    tidy,
)
from annotations.importers.records import Record

Parser = Callable[[list[Path]], Iterator[Record]]

FORMATS: dict[str, Parser] = {
    "native": native.parse,
    "mtbench": mtbench.parse,
    "processbench": processbench.parse,
    "summeval": summeval.parse,
    "judgebench": judgebench.parse,
    "prm800k": prm800k.parse,
    "scores": scores.parse,
    "argilla": argilla.parse,
    "tidy": tidy.parse,
}

# The formats whose parser takes `human_group=` (the group of the export's own annotators).
HUMAN_GROUP_FORMATS = {"argilla"}
