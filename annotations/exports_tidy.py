"""A project as a tidy data set: one row per judgement (long layout) in Parquet or JSON Lines,
with its criteria, items and scores beside it and a dataset card (README.md), ready for
`datasets.load_dataset` or pandas.

The tables are defined once, as `Column` lists: the Parquet schema, the JSON Lines keys and the
card's field list all derive from them. `rows_write` writes any iterator of row tuples in
either format with bounded memory (Parquet in row groups of ROW_GROUP rows through one
ParquetWriter; JSON Lines line by line), so a web export job can call it with rows of its own.
`project_export_tidy` writes a whole project; `annotations.importers.tidy` reads it back.

Values: a judgement's `value` is the label as text (a number as its JSON text: `4`, `0.5`), the
form to filter and train on; `value_json` is the value exactly, as JSON (`"4"` and `4` differ in
a criterion's labels), the form a re-import reads. Free-form objects (meta, model parameters,
labels) are JSON text in both formats, so every file has one fixed schema.
"""

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.db.models import Count

from annotations.exports import items_with_steps, scores_with_raters
from annotations.models import Criterion, Judgement, Project, Rater

ROW_GROUP = 50_000
CHUNK = 5_000
FORMATS = ("parquet", "jsonl")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str


def _text(name: str, description: str) -> Column:
    return Column(name, pa.string(), description)


JUDGEMENT_COLUMNS = (
    _text("item", "the item's id"),
    Column("step", pa.int64(), "0-based step index; null for a judgement of the whole item"),
    _text("criterion", "the criterion's name (see criteria)"),
    _text("scale", "nominal | ordinal | interval | pairwise"),
    _text("rater", "the rater's name (a person's or a model rater's)"),
    _text("kind", "human | model"),
    _text("group", "the rater's group (e.g. expert, crowd, or a model's name)"),
    _text("value", "the value as text: the label, a number as its JSON text; a pair: a | b | tie"),
    _text("value_json", "the value exactly, as JSON"),
    _text("rationale", "the rater's reason, if given"),
    Column("time_spent_ms", pa.int64(), "time the rater spent, if known"),
    _text("model", "models: the model's name"),
    _text("prompt_version", "models: the prompt's version"),
    _text("parameters", "models: the call's parameters, a JSON object"),
    _text("meta", "the judgement's meta, a JSON object (e.g. a suggestion's score)"),
    Column("created", pa.timestamp("us", tz="UTC"), "when judgeapp stored the judgement (UTC)"),
)
ITEM_COLUMNS = (
    _text("item", "the item's id"),
    _text("kind", "solution (steps) | response | pair (response_a, response_b)"),
    _text("prompt", "the question or task"),
    _text("response", "response items: the answer"),
    _text("response_a", "pair items: answer a"),
    _text("response_b", "pair items: answer b"),
    _text("reference_answer", "a reference answer, if any"),
    Column("steps", pa.list_(pa.string()), "solution items: the steps, in order"),
    _text("meta", "the item's meta, a JSON object"),
)
CRITERION_COLUMNS = (
    _text("criterion", "the criterion's name"),
    _text("target", "step | item"),
    _text("scale", "nominal | ordinal | interval | pairwise"),
    _text("labels", "nominal and ordinal: the labels in order, a JSON list"),
    Column("min", pa.float64(), "interval: the lowest value"),
    Column("max", pa.float64(), "interval: the highest value"),
    _text("error_labels", "labels that mark a step wrong, a JSON list"),
)
SCORE_COLUMNS = (
    _text("item", "the item's id"),
    Column("step", pa.int64(), "0-based step index; null for a score of the whole item"),
    _text("criterion", "the criterion's name"),
    _text("rater", "the scoring model rater"),
    _text("group", "the rater's group"),
    _text("model", "the model's name"),
    Column("score", pa.float64(), "higher = more likely correct; pairwise: P(a better than b)"),
)
PAIR_COLUMNS = (
    _text("item", "the pair item's id"),
    _text("criterion", "the pairwise criterion"),
    _text("prompt", "the question"),
    _text("chosen", "the answer the experts preferred"),
    _text("rejected", "the other answer"),
    _text("chosen_side", "a | b: which of the item's answers was chosen"),
    Column("votes_for", pa.int64(), "votes for the chosen answer"),
    Column("votes_against", pa.int64(), "votes for the rejected answer"),
    Column("votes_tie", pa.int64(), "tie votes"),
    Column("votes_total", pa.int64(), "all votes of the group on this pair"),
    Column("agreement", pa.float64(), "votes_for / votes_total"),
    _text("group", "the rater group whose votes decided"),
    _text("meta", "the item's meta, a JSON object (e.g. the two models' names)"),
)


def schema(columns: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.type) for c in columns])


def rows_write(
    *,
    rows: Iterable[tuple],
    columns: tuple[Column, ...],
    path: Path,
    format: str,
    row_group: int = ROW_GROUP,
) -> int:
    """Write rows (tuples in `columns` order) to `path` as Parquet or JSON Lines; returns the
    number of rows. Memory holds at most one row group."""
    if format == "parquet":
        return _parquet(rows, columns, path, row_group)
    if format == "jsonl":
        return _jsonl(rows, columns, path)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")


def _parquet(rows: Iterable[tuple], columns: tuple[Column, ...], path: Path, size: int) -> int:
    table_schema = schema(columns)
    n = 0
    with pq.ParquetWriter(path, table_schema, compression="zstd") as writer:
        batch: list[tuple] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= size:
                writer.write_table(_table(batch, table_schema))
                n += len(batch)
                batch = []
        # An empty file still has its schema (a table of no rows), so readers know the columns.
        if batch or n == 0:
            writer.write_table(_table(batch, table_schema))
            n += len(batch)
    return n


def _table(batch: list[tuple], table_schema: pa.Schema) -> pa.Table:
    by_column = list(zip(*batch, strict=True)) if batch else [()] * len(table_schema)
    arrays = [
        pa.array(values, type=field.type)
        for values, field in zip(by_column, table_schema, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=table_schema)


def _jsonl(rows: Iterable[tuple], columns: tuple[Column, ...], path: Path) -> int:
    names = [c.name for c in columns]
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(
                json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, default=_iso)
            )
            out.write("\n")
            n += 1
    return n


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


# ---- the project's rows ------------------------------------------------------------------------


def judgement_rows(*, project: Project) -> Iterator[tuple]:
    """Every judgement of `project` in JUDGEMENT_COLUMNS order, in the order stored."""
    raters = {r.pk: r for r in Rater.objects.filter(project=project)}
    scales = dict(Criterion.objects.filter(project=project).values_list("pk", "scale"))
    names = dict(Criterion.objects.filter(project=project).values_list("pk", "name"))
    rows = (
        Judgement.objects.filter(criterion__project=project)
        .order_by("pk")
        .values_list(
            "item__external_id",
            "step__index",
            "criterion_id",
            "rater_id",
            "value",
            "rationale",
            "time_spent_ms",
            "meta",
            "created_at",
        )
        .iterator(chunk_size=CHUNK)
    )
    for item, step, criterion, rater_id, value, rationale, spent, meta, created in rows:
        rater = raters[rater_id]
        yield (
            item,
            step,
            names[criterion],
            scales[criterion],
            rater.name,
            rater.kind,
            rater.group,
            value if isinstance(value, str) else _json(value),
            _json(value),
            rationale,
            spent,
            rater.model_name,
            rater.prompt_version,
            _json(rater.parameters or {}),
            _json(meta or {}),
            created,
        )


def item_rows(*, project: Project) -> Iterator[tuple]:
    """Every item of `project` in ITEM_COLUMNS order (read as every export reads items)."""
    for item, steps in items_with_steps(project=project):
        yield (
            item.external_id,
            item.kind,
            item.prompt,
            item.response,
            item.response_a,
            item.response_b,
            item.reference_answer,
            steps,
            _json(item.meta or {}),
        )


def criterion_rows(*, project: Project) -> Iterator[tuple]:
    for c in Criterion.objects.filter(project=project).order_by("position", "pk"):
        interval = c.scale == Criterion.Scale.INTERVAL
        yield (
            c.name,
            c.target,
            c.scale,
            _json(c.labels if c.scale in ("nominal", "ordinal") else []),
            c.min_value if interval else None,
            c.max_value if interval else None,
            _json(c.error_labels or []),
        )


def score_rows(*, project: Project) -> Iterator[tuple]:
    for item, step, criterion, rater, score in scores_with_raters(project=project):
        yield (item, step, criterion, rater.name, rater.group, rater.model_name, score)


TABLES = {
    "criteria": (CRITERION_COLUMNS, criterion_rows),
    "items": (ITEM_COLUMNS, item_rows),
    "judgements": (JUDGEMENT_COLUMNS, judgement_rows),
    "scores": (SCORE_COLUMNS, score_rows),
}


# ---- the whole project, with its card ---------------------------------------------------------

# What the demo projects' data may be published under, from annotations/demo_data/NOTICE.md.
DEMO_SOURCES = {
    "MT-bench": [
        "MT-bench human judgements and GPT-4 pair verdicts (lmsys/mt_bench_human_judgments, "
        "Zheng et al. 2023): CC BY 4.0",
        "MT-bench questions, reference answers and model answers (lm-sys/FastChat): Apache-2.0",
    ],
    "ProcessBench": ["ProcessBench (Qwen/ProcessBench, Zheng et al. 2024): Apache-2.0"],
    "SummEval": [
        "SummEval ratings (Yale-LILY/SummEval, Fabbri et al. 2021): MIT; the articles and "
        "summaries are CNN/DailyMail news text (Hermann et al. 2015)",
    ],
}


@dataclass(frozen=True)
class TidyExport:
    directory: Path
    format: str
    rows: dict[str, int]  # file name -> rows written


def project_export_tidy(
    *,
    project: Project,
    directory: Path,
    format: str,
    licence: str = "",
    sources: list[str] | None = None,
    pairs: Iterable[tuple] | None = None,
    progress: Callable[[int], None] | None = None,
) -> TidyExport:
    """Write criteria, items, judgements and scores (and `pairs`, rows of PAIR_COLUMNS, when
    given) as `<table>.<format>` files in `directory`, then README.md, the dataset card.
    `progress` is told the rows read so far, every PROGRESS_EVERY rows (the web export)."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    done = 0
    for table, (columns, rows) in [*TABLES.items(), ("preference_pairs", (PAIR_COLUMNS, None))]:
        if rows is None and pairs is None:
            continue
        name = f"{table}.{format}"
        source = pairs if rows is None else rows(project=project)
        if progress is not None:
            source = _counted(source, progress, start=done)
        written[name] = rows_write(
            rows=source, columns=columns, path=directory / name, format=format
        )
        done += written[name]
    export = TidyExport(directory, format, written)
    card = dataset_card(project=project, export=export, licence=licence, sources=sources or [])
    (directory / "README.md").write_text(card, encoding="utf-8")
    return export


PROGRESS_EVERY = 10_000


def _counted(rows: Iterable[tuple], progress: Callable[[int], None], start: int) -> Iterator:
    """`rows`, telling `progress` the running total (from `start`) every PROGRESS_EVERY."""
    n = start
    for n, row in enumerate(rows, start + 1):  # noqa: B007 (n is read after the loop)
        yield row
        if n % PROGRESS_EVERY == 0:
            progress(n)
    progress(n)


def dataset_card(*, project: Project, export: TidyExport, licence: str, sources: list[str]) -> str:
    """The README.md of an export: front matter for the Hugging Face hub, then the fields,
    counts and licences."""
    described = {**{t: c for t, (c, _) in TABLES.items()}, "preference_pairs": PAIR_COLUMNS}
    sources = sources or DEMO_SOURCES.get(project.name, [])
    configs = "".join(
        f"- config_name: {name.rsplit('.', 1)[0]}\n  data_files: {name}\n"
        + ("  default: true\n" if name.startswith("judgements.") else "")
        for name in export.rows
    )
    lines = [
        "---",
        f"license: {_licence_id(licence)}",
        "configs:",
        configs.rstrip("\n"),
        "---",
        "",
        f"# {project.name}",
        "",
        project.description or "Judgements exported from judgeapp.",
        "",
        "Exported by judgeapp (`python manage.py export_data --format "
        f"{export.format}`): one row per judgement (long, tidy layout), with the criteria, "
        "items and scores they refer to. Load with "
        f'`datasets.load_dataset("{export.format if export.format == "parquet" else "json"}", '
        f'data_files="judgements.{export.format}")` or '
        f"`pandas.read_{'parquet' if export.format == 'parquet' else 'json'}"
        f'("judgements.{export.format}"{"" if export.format == "parquet" else ", lines=True"})`.',
        "",
        "## Counts",
        "",
        "| file | rows |",
        "|---|---|",
        *(f"| {name} | {n:,} |" for name, n in export.rows.items()),
        "",
        *_judgement_counts(project),
        "## Licences of the sources",
        "",
    ]
    if licence:
        lines.append(f"This export: **{licence}**.")
    if sources:
        lines += ["", "The data comes from:", "", *(f"- {s}" for s in sources)]
    if not licence and not sources:
        lines.append(
            "Not stated. The judgements and texts keep the licences of the data they were "
            "imported from: state them (`--license`, `--source`) before publishing."
        )
    lines += ["", "## Fields", ""]
    for name in export.rows:
        table = name.rsplit(".", 1)[0]
        lines += [f"### {name}", "", "| field | type | meaning |", "|---|---|---|"]
        lines += [
            f"| {c.name} | {c.type} | {c.description.replace('|', chr(92) + '|')} |"
            for c in described[table]
        ]
        lines.append("")
    return "\n".join(lines)


def _licence_id(licence: str) -> str:
    """The hub's licence id: a known SPDX-like id as given, else `other`."""
    known = {"cc-by-4.0", "apache-2.0", "mit", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc0-1.0"}
    normalised = licence.strip().lower().replace(" ", "-")
    return normalised if normalised in known else "other"


def _judgement_counts(project: Project) -> list[str]:
    """Judgements per criterion and rater group, from one grouped query."""
    counts = Counter(
        {
            (row["criterion__name"], row["rater__kind"], row["rater__group"]): row["n"]
            for row in Judgement.objects.filter(criterion__project=project)
            .values("criterion__name", "rater__kind", "rater__group")
            .order_by()
            .annotate(n=Count("pk"))
        }
    )
    if not counts:
        return []
    lines = ["| criterion | kind | group | judgements |", "|---|---|---|---|"]
    for (criterion, kind, group), n in sorted(counts.items()):
        lines.append(f"| {criterion} | {kind} | {group} | {n:,} |")
    return [*lines, ""]
