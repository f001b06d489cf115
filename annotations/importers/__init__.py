"""Importers: each format is a parser from files to a stream of records (records.py); one
writer (writer.py) validates and stores any stream, all or nothing."""

from collections.abc import Callable, Iterator
from typing import Any

from annotations.importers import (
    argilla,
    judgebench,
    labelstudio,
    mtbench,
    native,
    prm800k,
    processbench,
    scores,
    summeval,
    tidy,
)
from annotations.importers.records import Record

# A parser takes the files, and the options its format has (labelstudio: `labelstudio.Options`).
Parser = Callable[..., Iterator[Record]]

FORMATS: dict[str, Parser] = {
    "native": native.parse,
    "mtbench": mtbench.parse,
    "processbench": processbench.parse,
    "summeval": summeval.parse,
    "judgebench": judgebench.parse,
    "prm800k": prm800k.parse,
    "scores": scores.parse,
    "labelstudio": labelstudio.parse,
    "argilla": argilla.parse,
    "tidy": tidy.parse,
}

# What a format asks of the one writer (`ImportWriter`'s keywords). Label Studio's re-import
# updates a judgement with a newer version of the same annotation (`supersedes`); every other
# format rejects a judgement that contradicts a stored one. Its errors name tasks.
WRITER_OPTIONS: dict[str, dict[str, Any]] = {
    "labelstudio": {"supersedes": labelstudio.supersedes, "origin_type": labelstudio.TaskOrigin},
}
