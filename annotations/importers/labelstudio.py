"""Label Studio exports (1.x): tasks -> items, annotations -> human judgements, predictions ->
model judgements. README "Label Studio" says what each export kind carries.

One export file (any of Label Studio's kinds, told apart by content):
- JSON (`exportType=JSON`, the Export button) and the snapshot export: a list of tasks with
  `data`, `annotations` and `predictions`. JSON lists predictions by id only (so no model
  judgement can come from it: a Note says so and counts them); the snapshot has them whole,
  and names annotators by email.
- JSON_MIN and CSV: one record per annotation that was not skipped, the task's data keys and
  the control tags' answers side by side (so the labeling config is required to tell them
  apart); no predictions, no skipped annotations, annotators by user id.

Criteria come from the labeling config when given (`labelstudio_config.config_read`), else from
the results (`config_infer`). Items: `data` keys to prompt / response / response_a /
response_b / steps by `Mapping` (the config's object tags first, then common key names; the
user may override each), the rest of `data` into meta; the id from a named data key, else the
task id. Judgements carry `meta.labelstudio` = the annotation's (or prediction's) id and
`updated_at`, which `supersedes` reads: a re-import updates a judgement only where Label Studio
says the annotation changed since. Errors name the file and task (`TaskOrigin`).
"""

import contextlib
import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotations.importers.errors import EntryOrigin, LineError, Note, Origin
from annotations.importers.labelstudio_config import (
    Config,
    ConfigError,
    Control,
    config_infer,
    config_read,
)
from annotations.importers.reading import load_json
from annotations.importers.records import (
    CriterionRecord,
    ItemRecord,
    JudgementRecord,
    Record,
    Supersede,
)
from annotations.importers.rules import json_problem

HUMAN_GROUP = "labelstudio"
ITEM_FIELDS = ("prompt", "response", "response_a", "response_b", "steps")
# Common data keys, tried in order when neither the config nor the user names one.
DEFAULT_KEYS = {
    "prompt": ("prompt", "question", "instruction", "input", "problem", "query", "article"),
    "response": ("response", "answer", "output", "summary", "completion", "text"),
    "response_a": ("response_a", "answer_a", "answer1", "left", "chosen"),
    "response_b": ("response_b", "answer_b", "answer2", "right", "rejected"),
    "steps": ("steps", "paragraphs"),
}
MIN_FIELDS = ("id", "annotation_id", "annotator", "created_at", "updated_at", "lead_time")
PAIRWISE = {"left": "a", "right": "b"}
IDS_ONLY = (
    "{n} prediction(s) are listed by id only: Label Studio's JSON export holds no prediction "
    "values, so no model judgement could be imported from this file. Use the snapshot export "
    "(Export > Create new snapshot, with predictions) to bring the models' predictions in."
)
NO_PREDICTIONS = (
    "This is a {kind} export: it holds no predictions and no skipped annotations, and names "
    "annotators by user id. The snapshot export carries all of them."
)


@dataclass(frozen=True, slots=True)
class TaskOrigin(Origin):
    """A task of a Label Studio export: `line` is the task id; `source` is the file's name,
    then (after a tab) which annotation or prediction of it."""

    def __str__(self) -> str:
        name, _, part = self.source.partition("\t")
        where = f"{name} task {self.line}" if name else f"task {self.line}"
        return f"{where}, {part}" if part else where


@dataclass(frozen=True, slots=True)
class ConfigOrigin(Origin):
    """The labeling config (or the file, for what needs one): `source` names the tag."""

    def __str__(self) -> str:
        return self.source


@dataclass
class Options:
    """What the user may say about an export (CLI flags, form fields, API fields)."""

    config: str | None = None  # the labeling config's XML text
    human_group: str = HUMAN_GROUP
    mapping: dict[str, str] = field(default_factory=dict)  # item field -> data key
    item_id_field: str | None = None


CONFIG_MAX_BYTES = 1_000_000  # a labeling config is a few kB; this bounds what is stored
GROUP_MAX_CHARS = 64  # Rater.group


def options_clean(
    *,
    config: Path | str | bytes | None = None,
    human_group: str | None = None,
    mapping: list[str] | dict[str, str] | None = None,
    item_id_field: str | None = None,
) -> dict[str, Any]:
    """The user's options (CLI, form, API) checked, as `Options` fields that can be stored as
    JSON with a job: the config as its text. ValueError says what is wrong."""
    options: dict[str, Any] = {}
    if config is not None:
        raw = Path(config).read_bytes() if isinstance(config, Path) else config
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogatepass")
        if len(raw) > CONFIG_MAX_BYTES:
            raise ValueError(f"the labeling config is larger than {CONFIG_MAX_BYTES:,} bytes")
        try:
            options["config"] = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("the labeling config is not UTF-8 text") from None
        if "\x00" in options["config"]:
            raise ValueError("the labeling config contains a NUL character")
    if human_group is not None:
        group = human_group.strip()
        if not group or len(group) > GROUP_MAX_CHARS or not group.isprintable():
            raise ValueError(f"the human group must be 1 to {GROUP_MAX_CHARS} printable characters")
        options["human_group"] = group
    if mapping:
        options["mapping"] = mapping_parse(
            [f"{k}={v}" for k, v in mapping.items()] if isinstance(mapping, dict) else mapping
        )
    if item_id_field is not None and item_id_field.strip():
        options["item_id_field"] = item_id_field.strip()
    return options


def mapping_parse(pairs: list[str]) -> dict[str, str]:
    """`field=data_key` pairs as a mapping; ValueError names a bad one."""
    mapping = {}
    for pair in pairs:
        name, sep, key = (x.strip() for x in pair.partition("="))
        if not sep or not key or name not in ITEM_FIELDS:
            raise ValueError(f"{pair!r}: expected FIELD=DATA_KEY with FIELD one of {ITEM_FIELDS}")
        mapping[name] = key
    return mapping


def supersedes(stored: dict, staged: dict) -> Supersede:
    """The same Label Studio annotation (or prediction) in a newer version overwrites the
    stored judgement; the same or an older version leaves it; anything else is a conflict."""
    old, new = stored.get("labelstudio"), staged.get("labelstudio")
    if not isinstance(old, dict) or not isinstance(new, dict):
        return Supersede.CONFLICT
    if old.get("record") != new.get("record"):
        return Supersede.CONFLICT
    # ISO 8601 in UTC with the same precision (Label Studio writes ...Z): text order is time order.
    if str(new.get("updated_at", "")) > str(old.get("updated_at", "")):
        return Supersede.UPDATE
    return Supersede.KEEP


def parse(paths: list[Path], **options: Any) -> Iterator[Record]:
    """Yield the criteria, then each task's item and judgements, then Notes."""
    opts = Options(**options)
    for path in map(Path, paths):
        yield from _File(path, opts).records()


class _File:
    def __init__(self, path: Path, options: Options) -> None:
        self.path = path
        self.name = path.name
        self.options = options
        self.skipped = self.empty = self.ids_only = 0
        self.kind = "json"

    def origin(self, task: int, part: str = "") -> TaskOrigin:
        return TaskOrigin(f"{self.name}\t{part}" if part else self.name, task)

    def error(self, message: str, field: str = "", line: int = 1) -> LineError:
        return LineError(Origin(self.name, line), field, message)

    # ---- reading --------------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        tasks = self._tasks()
        if isinstance(tasks, LineError):
            yield tasks
            return
        try:
            config = self._config(tasks)
            mapping = _Mapping(config, self.options)
        except ConfigError as exc:
            yield LineError(ConfigOrigin(exc.where, 1), "", exc.message)
            return
        for control in config.judging():
            yield CriterionRecord(
                origin=Origin(self.name, 1),
                name=control.name,
                target=control.target,
                scale=control.scale,
                labels=list(control.labels) if control.scale != "pairwise" else [],
                min_value=control.min_value,
                max_value=control.max_value,
                error_labels=control.error_labels,
            )
        if self.kind != "json":
            tasks = _group_flat(tasks, config)
        for number, task in enumerate(tasks, start=1):
            yield from self._task(task, number, config, mapping)
        counts = (("annotations_skipped", self.skipped), ("annotations_empty", self.empty))
        yield Note(counts=(*counts, ("predictions_ids_only", self.ids_only)))
        if self.ids_only:
            yield Note(text=IDS_ONLY.format(n=self.ids_only))
        if self.kind != "json":
            yield Note(text=NO_PREDICTIONS.format(kind=self.kind.upper()))

    def _tasks(self) -> list | LineError:
        if self.path.suffix.lower() == ".csv":
            self.kind = "csv"
            return self._csv()
        data, error = load_json(self.path)
        if error is not None:
            return error
        if not isinstance(data, list):
            return self.error("not a Label Studio export: expected a JSON list of tasks")
        if data and isinstance(data[0], dict) and "annotation_id" in data[0]:
            self.kind = "json_min"
        return data

    def _csv(self) -> list | LineError:
        # Label Studio quotes every field but plain numbers, so QUOTE_NONNUMERIC gives the
        # task data's numbers back as numbers (a whole one as int, as in the JSON export); a
        # CSV written otherwise (an unquoted text) is read as all text.
        try:
            rows = self._csv_rows(csv.QUOTE_NONNUMERIC)
        except ValueError:
            rows = None
        except UnicodeDecodeError:
            return self.error("is not UTF-8 text")
        except csv.Error as exc:
            return self.error(f"is not readable CSV ({exc})")
        if rows is None:
            try:
                rows = self._csv_rows(csv.QUOTE_MINIMAL)
            except csv.Error as exc:
                return self.error(f"is not readable CSV ({exc})")
        if rows and "annotation_id" not in rows[0]:
            return self.error("not a Label Studio CSV export: no annotation_id column")
        return rows

    def _csv_rows(self, quoting: int) -> list[dict]:
        with open(self.path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle, quoting=quoting))
        return [{k: _whole(v) for k, v in row.items()} for row in rows]

    def _config(self, tasks: list) -> Config:
        if self.options.config is not None:
            return config_read(self.options.config)
        if self.kind != "json":
            raise ConfigError(
                self.name,
                f"a {self.kind.upper()} export puts the task data and the answers side by side; "
                "give the labeling config (--config) so they can be told apart",
            )
        return config_infer(list(_all_results(tasks)))

    # ---- one task -------------------------------------------------------------------------------

    def _task(
        self, task: Any, number: int, config: Config, mapping: "_Mapping"
    ) -> Iterator[Record]:
        task_id = task.get("id") if isinstance(task, dict) else None
        if type(task_id) is not int or not 0 <= task_id < 2**62:
            origin = EntryOrigin(self.name, number)
            yield LineError(origin, "id", "must be a task with an integer id")
            return
        origin = self.origin(task_id)
        data = task.get("data")
        if not isinstance(data, dict) or not data:
            yield LineError(origin, "data", "the task has no data")
            return
        try:
            item = mapping.item(task_id, data, origin)
        except _Problem as exc:
            yield LineError(origin, exc.field, exc.message)
            return
        yield item
        n_steps = len(item.steps)
        for annotation in _list(task.get("annotations")):
            yield from self._annotation(annotation, item.external_id, task_id, config, n_steps)
        predictions = task.get("predictions")
        for prediction in _list(predictions):
            if isinstance(prediction, int):
                self.ids_only += 1
            else:
                yield from self._prediction(prediction, item.external_id, task_id, config)

    def _annotation(
        self, annotation: Any, item: str, task_id: int, config: Config, n_steps: int
    ) -> Iterator[Record]:
        if not isinstance(annotation, dict):
            yield LineError(self.origin(task_id), "annotations", "an annotation must be an object")
            return
        origin = self.origin(task_id, f"annotation {_id_text(annotation.get('id'))}")
        if annotation.get("was_cancelled") is True:
            self.skipped += 1
            return
        try:
            rater = _rater(annotation.get("completed_by"))
            time_ms = _time_ms(annotation.get("lead_time"))
            base = {
                "origin": origin,
                "item": item,
                "rater": rater,
                "rater_group": self.options.human_group,
                "time_spent_ms": time_ms,
                "meta": _meta(annotation, "annotation"),
            }
            judgements = _judgements(annotation.get("result"), config, base)
        except _Problem as exc:
            yield LineError(origin, exc.field, exc.message)
            return
        if not judgements:
            self.empty += 1
        yield from judgements

    def _prediction(
        self, prediction: Any, item: str, task_id: int, config: Config
    ) -> Iterator[Record]:
        if not isinstance(prediction, dict):
            yield LineError(self.origin(task_id), "predictions", "a prediction must be an object")
            return
        origin = self.origin(task_id, f"prediction {_id_text(prediction.get('id'))}")
        version = prediction.get("model_version")
        if not isinstance(version, str) or not version.strip():
            version = "labelstudio-model"  # Label Studio's predictions need not name a model
        try:
            meta = _meta(prediction, "prediction")
            score = prediction.get("score")
            if type(score) in (int, float):
                meta["score"] = score
            base = {
                "origin": origin,
                "item": item,
                "rater": version,
                "rater_kind": "model",
                "rater_group": version,
                "rater_model": version,
                "meta": meta,
            }
            yield from _judgements(prediction.get("result"), config, base)
        except _Problem as exc:
            yield LineError(origin, exc.field, exc.message)


# ---- helpers -----------------------------------------------------------------------------------


class _Problem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _all_results(tasks: list) -> Iterator[dict]:
    for task in tasks:
        if not isinstance(task, dict):
            continue
        for record in _list(task.get("annotations")) + _list(task.get("predictions")):
            if isinstance(record, dict):
                yield from (r for r in _list(record.get("result")) if isinstance(r, dict))


def _rater(completed_by: Any) -> str:
    """An annotator's rater name: the email where the export has it (snapshot), else
    `labelstudio-user-<id>` (JSON, JSON_MIN, CSV)."""
    if isinstance(completed_by, dict):
        email = completed_by.get("email")
        if isinstance(email, str) and email.strip():
            return email.strip()
        completed_by = completed_by.get("id")
    if type(completed_by) is int:
        return f"labelstudio-user-{completed_by}"
    if isinstance(completed_by, str) and completed_by.strip():
        text = completed_by.strip()
        return f"labelstudio-user-{text}" if text.isdigit() else text
    raise _Problem("completed_by", "must name the annotator (a user id or an object with email)")


def _time_ms(lead_time: Any) -> int | None:
    if lead_time is None or lead_time == "":
        return None
    try:
        seconds = float(lead_time)
    except (TypeError, ValueError):
        raise _Problem("lead_time", f"must be seconds, got {str(lead_time)[:40]!r}") from None
    if not math.isfinite(seconds) or not 0 <= seconds * 1000 <= 2_147_483_647:
        raise _Problem("lead_time", f"must be 0 to 2147483.647 seconds, got {lead_time!r}")
    return round(seconds * 1000)


def _id_text(value: Any) -> str:
    """An annotation's or prediction's id as the text errors and meta show: an int, or a
    short printable text (a CSV's); anything else is "?" (shown in errors, never stored)."""
    if type(value) is int or (isinstance(value, str) and value.isprintable() and len(value) < 40):
        return str(value)
    return "?"


def _meta(record: dict, kind: str) -> dict:
    record_id = _id_text(record.get("id"))
    if record_id == "?":
        raise _Problem("id", f"the {kind} needs its Label Studio id (a number)")
    info: dict[str, Any] = {"record": f"{kind} {record_id}"}
    if isinstance(record.get("updated_at"), str):
        info["updated_at"] = record["updated_at"]
    meta: dict[str, Any] = {"labelstudio": info}
    if record.get("ground_truth") is True:
        meta["ground_truth"] = True
    return meta


def _judgements(results: Any, config: Config, base: dict) -> list[JudgementRecord]:
    """One annotation's (or prediction's) results as judgements; TextArea results become the
    rationale of the judgements on the same toName."""
    if not isinstance(results, list):
        raise _Problem("result", "must be a list of results")
    made: list[tuple[Control, JudgementRecord]] = []
    texts: list[tuple[int, Control, str]] = []
    for index, result in enumerate(results):
        where = f"result[{index}]"
        if not isinstance(result, dict):
            raise _Problem(where, "must be an object")
        name, value = result.get("from_name"), result.get("value")
        control = config.controls.get(name) if isinstance(name, str) else None
        if control is None:
            raise _Problem(
                f"{where}.from_name", f"{name!r} is not a control tag of the labeling config"
            )
        if not isinstance(value, dict):
            raise _Problem(f"{where}.value", "must be an object")
        if control.scale == "rationale":
            texts.append((index, control, _text(value, where)))
            continue
        for step, answer in _answers(control, value, where):
            made.append((control, JudgementRecord(step=step, criterion=name, value=answer, **base)))
    for index, textarea, text in texts:
        mine = [j for c, j in made if set(c.to_names) & set(textarea.to_names)]
        if not mine and text:
            raise _Problem(
                f"result[{index}]",
                f"the text of {textarea.name!r} has no judgement on "
                f"{', '.join(textarea.to_names)} in this annotation to be the rationale of",
            )
        for judgement in mine:
            judgement.rationale = f"{judgement.rationale}\n{text}" if judgement.rationale else text
    return [j for _, j in made]


def _text(value: dict, where: str) -> str:
    text = value.get("text")
    if isinstance(text, str):
        return text
    if isinstance(text, list) and all(isinstance(x, str) for x in text):
        return "\n".join(text)
    raise _Problem(f"{where}.value.text", "must be a list of strings")


def _answers(control: Control, value: dict, where: str) -> list[tuple[int | None, Any]]:
    """(step or None, value) pairs of one result."""
    if control.scale == "pairwise":
        selected = value.get("selected")
        if not isinstance(selected, str) or selected not in PAIRWISE:
            raise _Problem(f"{where}.value.selected", f"must be left or right, got {selected!r}")
        answer: Any = PAIRWISE[selected]
    elif control.tag == "rating" or (control.scale == "ordinal" and "rating" in value):
        answer = value.get("rating")
    elif control.scale == "interval":
        answer = value.get("number")
    else:
        labels = value.get(control.tag, value.get("choices", value.get("labels")))
        if not isinstance(labels, list) or len(labels) != 1:
            raise _Problem(f"{where}.value", "must hold exactly one label or choice")
        answer = labels[0]
    if control.target == "item":
        return [(None, answer)]
    first, last = _paragraph(value.get("start"), where), _paragraph(value.get("end"), where)
    if last < first:
        raise _Problem(f"{where}.value.end", "ends before it starts")
    return [(step, answer) for step in range(first, last + 1)]


def _paragraph(index: Any, where: str) -> int:
    """A paragraph region's start or end: the paragraph's index, as text in Label Studio's
    results ("2")."""
    if type(index) is int or (isinstance(index, str) and index.isdigit()):
        number = int(index)
        if number < 10_000:
            return number
    raise _Problem(f"{where}.value.start", f"must be a paragraph index, got {index!r}")


# ---- items ----------------------------------------------------------------------------------


class _Mapping:
    """Which data key fills which item field: the user's mapping, then the config's object
    tags (the Pairwise's two names, the Paragraphs a step control labels, the Text the item
    controls judge, the first other object as the prompt), then DEFAULT_KEYS."""

    def __init__(self, config: Config, options: Options) -> None:
        self.kind = config.kind
        self.item_id_field = options.item_id_field
        self.text_key = "text"
        from_config: dict[str, str] = {}
        objects = config.objects
        for control in config.judging():
            keys = [objects[t] for t in control.to_names if t in objects]
            if control.scale == "pairwise" and len(keys) == 2:
                from_config.setdefault("response_a", keys[0])
                from_config.setdefault("response_b", keys[1])
            elif control.target == "step" and keys:
                from_config.setdefault("steps", keys[0])
                self.text_key = config.text_keys.get(control.to_names[0], "text")
            elif keys and self.kind == "response":
                from_config.setdefault("response", keys[0])
        used = set(from_config.values())
        prompt = next((k for k in config.object_order if k not in used), None)
        if prompt is not None:
            from_config["prompt"] = prompt
        self.keys = from_config | options.mapping

    def key(self, name: str, data: dict) -> str | None:
        if name in self.keys:
            return self.keys[name]
        return next((k for k in DEFAULT_KEYS[name] if k in data), None)

    def item(self, task_id: int, data: dict, origin: Origin) -> ItemRecord:
        fields: dict[str, Any] = {}
        used: set[str] = set()
        wanted = {
            "pair": ("prompt", "response_a", "response_b"),
            "response": ("prompt", "response"),
        }
        for name in wanted.get(self.kind, ("prompt", "steps")):
            key = self.key(name, data)
            if key is None or key not in data:
                if name in ("response", "steps"):
                    where = f"data.{key}" if key else "data"
                    hint = f"data key {key!r}" if key else f"any of {', '.join(DEFAULT_KEYS[name])}"
                    raise _Problem(
                        where,
                        f"the task has no {name} (looked for {hint}; set it with --map {name}=KEY)",
                    )
                continue
            used.add(key)
            fields[name] = (
                self._steps(data[key], key) if name == "steps" else _item_text(data[key], key)
            )
        external_id = str(task_id)
        if self.item_id_field:
            value = data.get(self.item_id_field)
            if value is None or isinstance(value, dict | list) or value == "":
                raise _Problem(
                    f"data.{self.item_id_field}", "the item id field is missing or not a scalar"
                )
            external_id = str(value)
            used.add(self.item_id_field)
        meta = {k: v for k, v in data.items() if k not in used}
        meta["labelstudio_task"] = task_id
        problem = json_problem(meta)
        if problem:
            raise _Problem("data", problem)
        return ItemRecord(
            origin=origin, external_id=external_id, kind=self._kind(), meta=meta, **fields
        )

    def _kind(self) -> str:
        return {"pair": "pair", "solution": "solution"}.get(self.kind, "response")

    def _steps(self, value: Any, key: str) -> list[str]:
        if isinstance(value, str):  # CSV exports hold nested values as JSON text
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise _Problem(f"data.{key}", "must be a list of paragraphs") from None
        if not isinstance(value, list) or not value:
            raise _Problem(f"data.{key}", "must be a non-empty list of paragraphs")
        steps = []
        for paragraph in value:
            text = paragraph.get(self.text_key) if isinstance(paragraph, dict) else paragraph
            if not isinstance(text, str):
                raise _Problem(
                    f"data.{key}", f"each paragraph must be text or hold {self.text_key!r}"
                )
            steps.append(text)
        return steps


def _whole(value: Any) -> Any:
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _item_text(value: Any, key: str) -> str:
    if isinstance(value, str):
        return value
    if type(value) in (int, float):
        return str(value)
    raise _Problem(f"data.{key}", "must be text")


# ---- JSON_MIN and CSV ------------------------------------------------------------------------


def _group_flat(rows: list, config: Config) -> list:
    """JSON_MIN or CSV records (one per annotation, grouped by task) as tasks with their
    annotations, in file order. A record that is not an object stays as it is (an error)."""
    tasks: dict[Any, dict] = {}
    out: list = []
    for row in rows:
        task = _from_flat(row, config)
        if task is None:
            out.append(row)
            continue
        key = json.dumps(task["id"])
        if key in tasks:
            tasks[key]["annotations"] += task["annotations"]
        else:
            tasks[key] = task
            out.append(task)
    return out


def _from_flat(row: Any, config: Config) -> dict | None:
    """A JSON_MIN or CSV record as a task with its one annotation (the same shape as JSON)."""
    if not isinstance(row, dict):
        return None
    task_id = row.get("id")
    if isinstance(task_id, str) and task_id.isdigit():
        task_id = int(task_id)
    results = []
    for name, control in config.controls.items():
        if name in row and row[name] not in (None, ""):
            results += _flat_results(name, control, row[name])
    data = {k: v for k, v in row.items() if k not in MIN_FIELDS and k not in config.controls}
    annotation = {
        "id": row.get("annotation_id"),
        "completed_by": row.get("annotator"),
        "lead_time": row.get("lead_time"),
        "updated_at": row.get("updated_at"),
        "result": results,
    }
    return {"id": task_id, "data": data, "annotations": [annotation]}


def _flat_results(name: str, control: Control, answer: Any) -> list[dict]:
    """JSON_MIN's answer of one control as results: `[{"selected": "left"}]`, `[{"rating":
    2}]`, `"yes"` (one choice), `"text"`, or a list of region values; CSV holds the nested
    ones as JSON text."""
    if isinstance(answer, str) and answer[:1] in "[{" and control.tag != "textarea":
        with contextlib.suppress(ValueError, RecursionError):  # else a plain text answer
            answer = json.loads(answer)
    if control.scale == "rationale":
        return [
            {"from_name": name, "value": {"text": answer if isinstance(answer, list) else [answer]}}
        ]
    if isinstance(answer, dict):
        answer = [answer]
    if not isinstance(answer, list):  # one choice as plain text
        return [{"from_name": name, "value": {control.tag: [answer]}}]
    if control.tag == "choices" and all(not isinstance(x, dict) for x in answer):
        return [{"from_name": name, "value": {"choices": answer}}]
    return [{"from_name": name, "value": value} for value in answer]
