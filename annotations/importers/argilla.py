"""Argilla 2.x dataset exports: human responses and model suggestions.

Two layouts, both written by Argilla's SDK (the test fixtures are made by it:
tests/annotations/importers/data/argilla/make_fixtures.py):

- `Dataset.to_disk(path)`: `path/.argilla/settings.json` (fields and questions),
  `path/.argilla/dataset.json`, and `path/records.json`, a JSON list of records
  `{id, fields: {name: text}, metadata: {...}, responses: {question: [{value, user_id}]},
  suggestions: {question: {value, score, agent}}, ...}`. This JSON keeps no response status:
  every response in it is imported.
- `Dataset.to_hub` (the Hugging Face datasets layout): the same `.argilla/settings.json` and the
  records flattened, one row each, in Parquet (or JSON Lines) files: one column per field and
  metadata key, `<question>.responses` / `.responses.users` / `.responses.status` (lists),
  `<question>.suggestion` / `.suggestion.score` / `.suggestion.agent`. Only `submitted`
  responses are imported (drafts and discarded ones are left out). A LabelQuestion's
  suggestion is stored there as a class index; Parquet files carry the class names in their
  metadata, from which it is read back.

Give the export's directory, a .zip of it (the web form takes one file), or its files
(`settings.json` and the record files). Each record becomes an item (id = the record id);
each question a criterion named as the question:

- LabelQuestion: nominal, its labels in order;
- RatingQuestion: ordinal, its values in order;
- RankingQuestion of two options: pairwise (option 1 ranked first is `a`, option 2 first `b`,
  the same rank `tie`), and the items are pairs;
- TextQuestion: not a criterion, but the rationale of the same user's (or agent's) other
  answers on the record;
- MultiLabelQuestion, SpanQuestion, a ranking of more than two: refused, naming the question
  (judgeapp keeps one value per rater and criterion).

Item texts: `prompt` is the first field named prompt, instruction, question, input or text;
a pair's answers are the fields the ranking's options name (else response_a/response_b);
otherwise `response` is the first field named response, answer, output or completion. Other
fields and the metadata go to the item's meta. Each user is a human rater named by their
user id in group `human_group` (default `argilla`); each suggestion agent a model rater of
that name, in a group of that name, the suggestion's score kept in the judgement's meta.

Everything the mapping cannot place is an error naming the record (its entry number and id)
and field; the writer then stores nothing.
"""

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from annotations.importers.errors import EntryOrigin, FieldError, LineError, Origin
from annotations.importers.reading import load_json
from annotations.importers.records import CriterionRecord, ItemRecord, JudgementRecord, Record
from annotations.importers.rules import json_problem

HUMAN_GROUP = "argilla"
PROMPT_FIELDS = ("prompt", "instruction", "question", "input", "text")
RESPONSE_FIELDS = ("response", "answer", "output", "completion")
PAIR_FIELDS = ("response_a", "response_b")
SETTINGS = "settings.json"
RECORD_SUFFIXES = (".json", ".jsonl", ".parquet")
MAX_ZIP_BYTES = 1 << 30  # uncompressed: a zip bomb stops here, not in memory
UNSUPPORTED = {
    "multi_label_selection": "MultiLabelQuestion",
    "span": "SpanQuestion",
}
HF_SKIPPED = {"id", "status", "_server_id", "inserted_at", "updated_at"}


@dataclass
class Question:
    name: str
    kind: str  # label_selection | rating | ranking | text
    options: list[Any]


@dataclass
class Settings:
    fields: list[str]
    questions: dict[str, Question] = field(default_factory=dict)

    @property
    def pairwise(self) -> Question | None:
        return next((q for q in self.questions.values() if q.kind == "ranking"), None)


@dataclass
class Source:
    """A file of the export, read from disk or from a zip."""

    name: str
    data: bytes

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix.lower()


def parse(paths: list[Path], *, human_group: str = HUMAN_GROUP) -> Iterator[Record]:
    """Yield the criteria from the settings, then each record's item and judgements."""
    try:
        settings_source, record_sources = _sources(paths)
    except FieldError as exc:
        name = Path(paths[0]).name if paths else "argilla"
        yield LineError(Origin(name, 1), exc.field, exc.message)
        return
    settings, errors = _settings(settings_source)
    if errors:
        yield from errors
        return
    assert settings is not None
    origin = Origin(settings_source.name, 1)
    for question in settings.questions.values():
        if question.kind == "text":
            continue
        scale = {"label_selection": "nominal", "rating": "ordinal", "ranking": "pairwise"}
        labels = [] if question.kind == "ranking" else question.options
        yield CriterionRecord(
            origin=origin,
            name=question.name,
            target="item",
            scale=scale[question.kind],
            labels=labels,
        )
    for source in record_sources:
        for origin, record in _records(source):
            if isinstance(record, FieldError):
                yield LineError(origin, record.field, record.message)
                continue
            try:
                yield from _record(record, origin, settings, human_group)
            except FieldError as exc:
                where = record.get("id")
                message = f"record {str(where)[:80]!r}: {exc.message}" if where else exc.message
                yield LineError(origin, exc.field, message)


# ---- where the files are ----------------------------------------------------------------------


def _sources(paths: list[Path]) -> tuple[Source, list[Source]]:
    files: list[Source] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(
                Source(_relative(p, path), p.read_bytes())
                for p in sorted(path.rglob("*"))
                if p.is_file()
            )
        elif zipfile.is_zipfile(path):
            try:
                files.extend(_zip_members(path))
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
                raise FieldError("", f"{path.name} is not a readable zip ({exc})") from None
        else:
            files.append(Source(path.name, path.read_bytes()))
    settings = [f for f in files if Path(f.name).name == SETTINGS]
    if len(settings) != 1:
        found = "none" if not settings else ", ".join(f.name for f in settings)
        raise FieldError(
            "", f"an Argilla export needs exactly one .argilla/settings.json (found {found})"
        )
    records = [
        f
        for f in files
        if f.suffix in RECORD_SUFFIXES
        and ".argilla" not in Path(f.name).parts
        and Path(f.name).name != SETTINGS
    ]
    if not records:
        raise FieldError("", "no records: expected records.json or data/*.parquet|jsonl files")
    return settings[0], records


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _zip_members(path: Path) -> list[Source]:
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise FieldError("", f"the zip holds more than {MAX_ZIP_BYTES:,} bytes")
        # A folder zipped with its own name puts everything under it: the names keep that.
        return [Source(m.filename, archive.read(m)) for m in members]


# ---- settings -----------------------------------------------------------------------------------


def _settings(source: Source) -> tuple[Settings | None, list[LineError]]:
    origin = Origin(source.name, 1)
    value, error = _json(source)
    if error is not None:
        return None, [error]
    if not isinstance(value, dict) or not isinstance(value.get("questions"), list):
        return None, [LineError(origin, "questions", "must be a list of questions")]
    fields = value.get("fields") if isinstance(value.get("fields"), list) else []
    settings = Settings(fields=[f["name"] for f in fields if isinstance(f, dict) and "name" in f])
    errors = []
    for position, question in enumerate(value["questions"]):
        where = f"questions[{position}]"
        try:
            parsed = _question(question)
        except FieldError as exc:
            errors.append(LineError(origin, f"{where}{exc.field}", exc.message))
            continue
        settings.questions[parsed.name] = parsed
    rankings = [q.name for q in settings.questions.values() if q.kind == "ranking"]
    if len(rankings) > 1:
        message = f"more than one ranking question ({', '.join(rankings)}): one pair per item"
        errors.append(LineError(origin, "questions", message))
    return settings, errors


def _question(question: Any) -> Question:
    if not isinstance(question, dict) or not isinstance(question.get("name"), str):
        raise FieldError("", "must be an object with a name")
    name = question["name"]
    options_holder = question.get("settings") if isinstance(question.get("settings"), dict) else {}
    kind = options_holder.get("type") or question.get("type")
    if not isinstance(kind, str):
        raise FieldError(".type", f"question {name!r} needs a type (label_selection, rating, ...)")
    if kind in UNSUPPORTED:
        raise FieldError(
            ".type",
            f"{UNSUPPORTED[kind]} {name!r} is not supported: judgeapp keeps one value per "
            "rater and criterion; remove the question from settings.json to import the rest",
        )
    if kind == "text":
        return Question(name, kind, [])
    if kind not in ("label_selection", "rating", "ranking"):
        raise FieldError(".type", f"question {name!r} has an unknown type {kind!r}")
    options = options_holder.get("options")
    if not isinstance(options, list) or not all(
        isinstance(o, dict) and "value" in o for o in options
    ):
        raise FieldError(".settings.options", f"question {name!r} needs a list of options")
    values = [o["value"] for o in options]
    # Argilla's settings hold labels and ranking options as texts and ratings as integers; any
    # other value (a list, an object, a bool) would reach a set or a dict key and break there.
    wanted = (int,) if kind == "rating" else (str,)
    for position, value in enumerate(values):
        if not isinstance(value, wanted) or isinstance(value, bool):
            what = "an integer" if kind == "rating" else "a text"
            raise FieldError(
                f".settings.options[{position}].value",
                f"question {name!r}: an option's value must be {what}, not "
                f"{json.dumps(value)[:40]}",
            )
    if len(set(values)) != len(values):
        raise FieldError(".settings.options", f"question {name!r} repeats an option")
    if kind == "ranking" and len(values) != 2:
        raise FieldError(
            ".settings.options",
            f"RankingQuestion {name!r} ranks {len(values)} options: only a ranking of two "
            "(a pairwise preference) is supported",
        )
    return Question(name, kind, values)


# ---- records -------------------------------------------------------------------------------------


def _json(source: Source) -> tuple[Any, LineError | None]:
    """The whole JSON file, through the shared reader (its line-numbered errors)."""
    # load_json reads a path; the bytes may come from a zip, so a tiny in-memory stand-in.
    return load_json(_BytesPath(source))  # type: ignore[arg-type]


class _BytesPath:
    def __init__(self, source: Source) -> None:
        self.name = source.name
        self.source = source

    def read_bytes(self) -> bytes:
        return self.source.data


def _records(source: Source) -> Iterator[tuple[Origin, dict | FieldError]]:
    if source.suffix == ".parquet":
        yield from _parquet_rows(source)
    elif source.suffix == ".jsonl":
        for number, line in enumerate(source.data.splitlines(), start=1):
            if line.strip():
                yield EntryOrigin(source.name, number), _hf_row(line, {})
    else:
        value, error = _json(source)
        if error is not None:
            yield error.origin, FieldError(error.field, error.message)
            return
        if not isinstance(value, list):
            yield Origin(source.name, 1), FieldError("", "must be a JSON list of records")
            return
        for number, record in enumerate(value, start=1):
            if not isinstance(record, dict):
                yield EntryOrigin(source.name, number), FieldError("", "must be an object")
            else:
                yield EntryOrigin(source.name, number), record


def _parquet_rows(source: Source) -> Iterator[tuple[Origin, dict | FieldError]]:
    try:
        parquet = pq.ParquetFile(pa.BufferReader(source.data))
        class_names = _class_names(parquet.schema_arrow.metadata or {})
        number = 0
        for batch in parquet.iter_batches(batch_size=1000):
            for row in batch.to_pylist():
                number += 1
                yield EntryOrigin(source.name, number), _hf_checked(row, class_names)
    except (pa.ArrowException, OSError) as exc:
        yield Origin(source.name, 1), FieldError("", f"is not a readable Parquet file ({exc})")


def _class_names(metadata: dict) -> dict[str, list]:
    """The ClassLabel columns of a datasets Parquet file and their names, by column."""
    try:
        features = json.loads(metadata[b"huggingface"])["info"]["features"]
    except (KeyError, TypeError, ValueError):
        return {}
    return {
        column: feature["names"]
        for column, feature in features.items()
        if isinstance(feature, dict) and feature.get("_type") == "ClassLabel"
    }


def _hf_row(line: bytes, class_names: dict) -> dict | FieldError:
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return FieldError("", "not valid JSON")
    if not isinstance(row, dict):
        return FieldError("", "must be a JSON object")
    return _hf_checked(row, class_names)


def _hf_checked(row: dict, class_names: dict[str, list]) -> dict | FieldError:
    try:
        return _hf_record(row, class_names)
    except FieldError as exc:
        return exc


def _hf_record(row: dict, class_names: dict[str, list]) -> dict:
    """A flattened (datasets) row as a to_disk record: the one shape `_record` reads."""
    record: dict[str, Any] = {"id": row.get("id"), "fields": {}, "metadata": {}}
    responses: dict[str, list] = {}
    suggestions: dict[str, dict] = {}
    for column, value in row.items():
        if column in HF_SKIPPED:
            continue
        name, dot, rest = column.partition(".")
        if rest == "responses":
            users = _list(row, f"{name}.responses.users")
            statuses = _list(row, f"{name}.responses.status")
            value = _list(row, column)
            responses[name] = [
                {
                    "value": v,
                    "user_id": users[i] if i < len(users) else None,
                    "status": statuses[i] if i < len(statuses) else None,
                }
                for i, v in enumerate(value)
            ]
        elif rest == "suggestion":
            names = class_names.get(column)
            if names is not None and type(value) is int and 0 <= value < len(names):
                value = names[value]  # a record without a suggestion has the class None
            if value is None:
                continue
            suggestions[name] = {
                "value": value,
                "score": row.get(f"{column}.score"),
                "agent": row.get(f"{column}.agent"),
            }
        elif not dot:
            record["metadata"][column] = value
    record["responses"] = responses
    record["suggestions"] = suggestions
    record["__hf__"] = True
    return record


def _list(row: dict, column: str) -> list:
    value = row.get(column)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(column, "must be a list")
    return value


def _record(record: dict, origin: Origin, settings: Settings, human_group: str) -> Iterator[Record]:
    try:
        json.dumps(record)
    except (TypeError, ValueError, RecursionError):
        raise FieldError("", "holds a value JSON cannot keep (bytes, a date, NaN?)") from None
    problem = json_problem(record)
    if problem:
        raise FieldError("", problem)
    item_id = record.get("id")
    if isinstance(item_id, int) and not isinstance(item_id, bool):
        item_id = str(item_id)
    if not isinstance(item_id, str) or not item_id:
        raise FieldError("id", "every record needs an id (a string)")
    texts = _texts(record, settings)
    yield _item(item_id, texts, record, origin, settings)
    yield from _responses(record, item_id, origin, settings, human_group)
    yield from _suggestions(record, item_id, origin, settings)


def _texts(record: dict, settings: Settings) -> dict[str, str]:
    if record.get("__hf__"):
        # A flattened row mixes fields and metadata: the settings say which are fields.
        merged = record["metadata"]
        record["fields"] = {k: merged.pop(k) for k in list(merged) if k in settings.fields}
    texts = record.get("fields")
    if not isinstance(texts, dict):
        raise FieldError("fields", "must be an object of field names to texts")
    for name, text in texts.items():
        if text is not None and not isinstance(text, str):
            raise FieldError(
                f"fields.{name}", "must be a text (image and chat fields are not read)"
            )
    return {name: text for name, text in texts.items() if text is not None}


def _item(
    item_id: str, texts: dict[str, str], record: dict, origin: Origin, settings: Settings
) -> ItemRecord:
    used = set()
    prompt_field = next((n for n in PROMPT_FIELDS if n in texts), None)
    if prompt_field:
        used.add(prompt_field)
    item = {"origin": origin, "external_id": item_id, "prompt": texts.get(prompt_field, "")}
    ranking = settings.pairwise
    if ranking is not None:
        names = ranking.options if all(o in texts for o in ranking.options) else PAIR_FIELDS
        missing = [n for n in names if n not in texts]
        if missing:
            raise FieldError(
                "fields",
                f"the ranking {ranking.name!r} needs the two answers as fields "
                f"{' and '.join(map(repr, names))}; {', '.join(map(repr, missing))} missing",
            )
        item |= {"kind": "pair", "response_a": texts[names[0]], "response_b": texts[names[1]]}
        used.update(names)
    else:
        response_field = next((n for n in RESPONSE_FIELDS if n in texts), None)
        if response_field is None:
            raise FieldError(
                "fields",
                f"no answer to judge: a field named one of {', '.join(RESPONSE_FIELDS)}",
            )
        item |= {"kind": "response", "response": texts[response_field]}
        used.add(response_field)
    meta = {name: text for name, text in texts.items() if name not in used}
    metadata = record.get("metadata")
    if isinstance(metadata, dict):
        meta |= {k: v for k, v in metadata.items() if v is not None}
    return ItemRecord(meta=meta, **item)


def _responses(
    record: dict, item_id: str, origin: Origin, settings: Settings, human_group: str
) -> Iterator[JudgementRecord]:
    responses = record.get("responses") or {}
    if not isinstance(responses, dict):
        raise FieldError("responses", "must be an object of question names to lists")
    answers: dict[str, dict[str, tuple[Any, str]]] = {}  # user -> question -> (value, where)
    for question, given in responses.items():
        if question not in settings.questions:
            raise FieldError(f"responses.{question}", f"no question {question!r} in the settings")
        if not isinstance(given, list):
            raise FieldError(f"responses.{question}", "must be a list of responses")
        for position, response in enumerate(given):
            where = f"responses.{question}[{position}]"
            if not isinstance(response, dict):
                raise FieldError(where, "must be an object")
            if response.get("status") not in (None, "submitted"):
                continue  # a draft or a discarded response is no judgement
            user = response.get("user_id")
            if not isinstance(user, str) or not user:
                raise FieldError(f"{where}.user_id", "must name the user (a user id)")
            if question in answers.get(user, {}):
                raise FieldError(f"{where}.user_id", f"user {user!r} answered twice")
            answers.setdefault(user, {})[question] = (response.get("value"), f"{where}.value")
    for user, values in answers.items():
        yield from _judgements(
            values, item_id, origin, settings, rater=user, rater_kind="human", group=human_group
        )


def _suggestions(
    record: dict, item_id: str, origin: Origin, settings: Settings
) -> Iterator[JudgementRecord]:
    suggestions = record.get("suggestions") or {}
    if not isinstance(suggestions, dict):
        raise FieldError("suggestions", "must be an object of question names to suggestions")
    by_agent: dict[str, dict[str, tuple[Any, str]]] = {}
    scores: dict[str, dict[str, Any]] = {}
    for question, suggestion in suggestions.items():
        where = f"suggestions.{question}"
        if question not in settings.questions:
            raise FieldError(where, f"no question {question!r} in the settings")
        if not isinstance(suggestion, dict):
            raise FieldError(where, "must be an object with value, score and agent")
        agent = suggestion.get("agent") or "argilla-suggestion"
        if not isinstance(agent, str):
            raise FieldError(f"{where}.agent", "must be a text")
        score = suggestion.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
            raise FieldError(f"{where}.score", "must be a number")
        by_agent.setdefault(agent, {})[question] = (suggestion.get("value"), f"{where}.value")
        scores.setdefault(agent, {})[question] = score
    for agent, values in by_agent.items():
        yield from _judgements(
            values,
            item_id,
            origin,
            settings,
            rater=agent,
            rater_kind="model",
            group=agent,
            scores=scores[agent],
        )


def _judgements(
    values: dict[str, tuple[Any, str]],
    item_id: str,
    origin: Origin,
    settings: Settings,
    *,
    rater: str,
    rater_kind: str,
    group: str,
    scores: dict[str, Any] | None = None,
) -> Iterator[JudgementRecord]:
    """One rater's answers on one record: the text answers become the others' rationale."""
    rationale = "\n\n".join(
        _text(value, where)
        for question, (value, where) in values.items()
        if settings.questions[question].kind == "text"
    )
    for question, (value, where) in values.items():
        kind = settings.questions[question]
        if kind.kind == "text":
            continue
        score = (scores or {}).get(question)
        yield JudgementRecord(
            origin=origin,
            item=item_id,
            criterion=question,
            rater=rater,
            rater_kind=rater_kind,
            rater_group=group,
            value=_value(kind, value, where),
            rationale=rationale,
            meta={"score": score} if score is not None else {},
            rater_model=rater if rater_kind == "model" else "",
        )


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise FieldError(where, "a TextQuestion's answer must be a text")
    return value


def _value(question: Question, value: Any, where: str) -> Any:
    if question.kind == "ranking":
        return _pair_verdict(question, value, where)
    if value not in question.options or type(value) not in {type(o) for o in question.options}:
        allowed = ", ".join(json.dumps(o) for o in question.options)
        raise FieldError(
            where, f"{json.dumps(value)[:60]} is not one of {allowed} ({question.name!r})"
        )
    return value


def _pair_verdict(question: Question, value: Any, where: str) -> str:
    """A ranking of the two options as a pairwise verdict: a, b or tie."""
    ranks = {}
    if isinstance(value, list):
        for entry in value:
            if isinstance(entry, dict) and entry.get("value") in question.options:
                rank = entry.get("rank")
                if isinstance(rank, int) and not isinstance(rank, bool):
                    ranks[entry["value"]] = rank
    first, second = question.options
    if set(ranks) != {first, second}:
        raise FieldError(
            where,
            f"must rank both {first!r} and {second!r} as [{{value, rank}}, ...] "
            f"({question.name!r})",
        )
    if ranks[first] == ranks[second]:
        return "tie"
    return "a" if ranks[first] < ranks[second] else "b"
