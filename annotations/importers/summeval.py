"""SummEval (Fabbri et al. 2021): Likert ratings of CNN/DailyMail summaries by experts and crowd.

Each line of `M<k>_outputs_annotations.jsonl` is one summary: `{id, model_id, decoded, text,
expert_annotations: [3 x {coherence, consistency, fluency, relevance}], turker_annotations:
[5 x {...}], references, filepath}`.

Every line becomes a `response` item with the id `<id>-<model_id>` (the article id alone is
shared by the twelve systems' summaries), prompt = the article, response = the summary, meta
`model_id` and `source_id`. The four criteria are ordinal, 1-5, per item. The data gives no
rater identities, only positions: the i-th expert annotation is rater `expert_<i>` (group
`expert`), the i-th crowd one `turker_<i>` (group `crowd`). The reference summaries and the
file path are not imported.

The binary `consistent` criterion (`parse(..., consistent=True)`; off by default, `load_demo`
turns it on): every consistency rating also becomes a `yes` (rated 5) or `no` (rated 1-4)
judgement by the same rater, on a nominal criterion whose error label is `no`. This is the
binarisation factual-consistency benchmarks built on SummEval use (SummaC, Laban et al. 2022:
a summary is consistent when rated 5), and it is what a score judge (a reward model, a
consistency metric) is calibrated against: scores need a criterion with an error label.

Scores: the published files hold only the integers 1-5. A whole-number float (4.0) is taken as
the integer; a missing or null score is skipped (no judgement); any other value is an error
naming the line and the field, since an ordinal 1-5 criterion has no place for 3.5.

Streamed one line at a time; the records of a few hundred lines are yielded together, items
first, so the writer stores the items in batches rather than one at a time.
"""

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from annotations.importers.errors import FieldError, LineError, Origin
from annotations.importers.reading import json_lines
from annotations.importers.records import CriterionRecord, ItemRecord, JudgementRecord, Record

CRITERIA = ("coherence", "consistency", "fluency", "relevance")
LABELS = [1, 2, 3, 4, 5]
GROUPS = {"expert_annotations": ("expert", "expert"), "turker_annotations": ("turker", "crowd")}
CHUNK = 200
CONSISTENT = "consistent"


def parse(paths: list[Path], *, consistent: bool = False) -> Iterator[Record]:
    """Yield the four criteria (and `consistent`), then the summaries and their ratings."""
    if not paths:
        return
    first = Origin(Path(paths[0]).name, 1)
    for name in CRITERIA:
        yield CriterionRecord(
            origin=first, name=name, target="item", scale="ordinal", labels=LABELS
        )
    if consistent:
        yield CriterionRecord(
            origin=first,
            name=CONSISTENT,
            target="item",
            scale="nominal",
            labels=["yes", "no"],
            error_labels=["no"],
        )
    items: list[Record] = []
    judgements: list[Record] = []
    for origin, built in json_lines(paths, partial(_summary, consistent=consistent)):
        if isinstance(built, FieldError):
            items.append(LineError(origin, built.field, built.message))
            continue
        item, ratings = built
        items.append(item)
        judgements.extend(ratings)
        if len(items) >= CHUNK:
            yield from items
            yield from judgements
            items, judgements = [], []
    yield from items
    yield from judgements


def _summary(
    obj: dict, origin: Origin, *, consistent: bool = False
) -> tuple[ItemRecord, list[JudgementRecord]]:
    source_id = _string(obj, "id")
    model_id = _string(obj, "model_id")
    item_id = f"{source_id}-{model_id}"
    item = ItemRecord(
        origin=origin,
        external_id=item_id,
        kind="response",
        prompt=_string(obj, "text"),
        response=_string(obj, "decoded"),
        meta={"model_id": model_id, "source_id": source_id},
    )
    judgements = []
    for field, (prefix, group) in GROUPS.items():
        annotations = obj.get(field)
        if not isinstance(annotations, list):
            raise FieldError(field, "must be a list of objects")
        for position, scores in enumerate(annotations, start=1):
            if not isinstance(scores, dict):
                raise FieldError(f"{field}[{position - 1}]", "must be an object")
            for criterion in CRITERIA:
                where = f"{field}[{position - 1}].{criterion}"
                score = _score(scores.get(criterion), where)
                if score is None:
                    continue
                values = {criterion: score}
                if consistent and criterion == "consistency":
                    values[CONSISTENT] = "yes" if score == LABELS[-1] else "no"
                judgements.extend(
                    JudgementRecord(
                        origin=origin,
                        item=item_id,
                        criterion=name,
                        rater=f"{prefix}_{position}",
                        rater_kind="human",
                        rater_group=group,
                        value=value,
                    )
                    for name, value in values.items()
                )
    return item, judgements


def _string(obj: dict, name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise FieldError(name, f"must be a non-empty string, got {json.dumps(value)[:60]}")
    return value


def _score(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value not in LABELS:
        raise FieldError(where, f"must be a whole number 1-5, got {json.dumps(value)}")
    return value
