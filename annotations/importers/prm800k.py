"""PRM800K (Lightman et al. 2023, openai/prm800k): step ratings of MATH solutions, raw JSONL.

Each line is one labelled solution: `{labeler, timestamp, generation,
is_quality_control_question, is_initial_screening_question, question: {problem,
ground_truth_answer, ...}, label: {steps: [{completions: [{text, rating, flagged}],
human_completion, chosen_completion}], total_time, finish_reason}}`.

- The solution's steps are, per step, the chosen completion's text; the human completion when
  `chosen_completion` is null and the labeler wrote one; otherwise the first completion (the
  last step of a phase-2 solution, where every alternative was rated and none chosen).
- A line becomes a `solution` item with the id `prm800k-<hash of problem and steps>`, so the
  same solution labelled by several labelers (the quality-control questions every labeler
  sees) is one item with several raters. Meta: `ground_truth_answer`. The labelers who stopped
  at different steps of the same generated solution made different step lists, hence
  different items: the raw format has no stable solution id.
- Each step's rating (-1, 0, +1) is a judgement on the ordinal criterion `rating` by the
  labeler (rater = the labeler's UUID, group `expert`, human). Unrated steps (rating null) and
  human-written steps without a rating get none; the ratings of the alternative completions
  that are not in the solution are not imported (they rate other steps). Judgement meta:
  `finish_reason`, `generation`, `timestamp`, `total_time_ms` (for the whole solution), and
  `quality_control`, `screening`, `flagged` when true.
- A line with no steps (a problem reported as bad, or given up at once) has nothing to judge
  and is skipped.
- A labeler who labelled the same solution again: the first labelling is kept and the number
  of dropped ones is recorded on its judgements' meta as `dropped_repeats`.

The files are streamed twice, one line at a time: the first pass yields the items (all before
any rating, so the writer stores them in batches) and counts the repeats, keeping one small
key per line; the second yields the ratings.
"""

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotations.importers.errors import FieldError, LineError, Origin
from annotations.importers.reading import json_lines
from annotations.importers.records import CriterionRecord, ItemRecord, JudgementRecord, Record

CRITERION = "rating"
RATINGS = (-1, 0, 1)


@dataclass(slots=True)
class Labelling:
    labeler: str
    item: ItemRecord
    ratings: list[tuple[int, int, bool]]  # (step index, rating, flagged)
    meta: dict

    @property
    def key(self) -> tuple[str, str]:
        return (self.labeler, self.item.external_id)


def parse(paths: list[Path]) -> Iterator[Record]:
    """Yield the rating criterion, then each labelled solution and its step ratings."""
    if not paths:
        return
    yield CriterionRecord(
        origin=Origin(Path(paths[0]).name, 1),
        name=CRITERION,
        target="step",
        scale="ordinal",
        labels=list(RATINGS),
        error_labels=[-1],
    )
    repeats: Counter[tuple[str, str]] = Counter()
    yield from _items(paths, repeats)
    yield from _ratings(paths, repeats)


def _items(paths: list[Path], repeats: Counter[tuple[str, str]]) -> Iterator[ItemRecord]:
    """Each solution once; counts in `repeats` how often each labeler labelled it."""
    items: set[str] = set()
    for _, labelling in _lines(paths):
        if isinstance(labelling, Labelling):
            repeats[labelling.key] += 1
            if labelling.item.external_id not in items:
                items.add(labelling.item.external_id)
                yield labelling.item


def _ratings(
    paths: list[Path], repeats: Counter[tuple[str, str]]
) -> Iterator[JudgementRecord | LineError]:
    kept: set[tuple[str, str]] = set()
    for origin, labelling in _lines(paths):
        if isinstance(labelling, FieldError):
            yield LineError(origin, labelling.field, labelling.message)
            continue
        if labelling is None or labelling.key in kept:
            continue
        kept.add(labelling.key)
        meta = dict(labelling.meta)
        if repeats[labelling.key] > 1:
            meta["dropped_repeats"] = repeats[labelling.key] - 1
        for step, rating, flagged in labelling.ratings:
            yield JudgementRecord(
                origin=origin,
                item=labelling.item.external_id,
                criterion=CRITERION,
                rater=labelling.labeler,
                rater_kind="human",
                rater_group="expert",
                value=rating,
                step=step,
                meta={**meta, "flagged": True} if flagged else meta,
            )


def _lines(paths: list[Path]) -> Iterator[tuple[Origin, Labelling | FieldError | None]]:
    return json_lines(paths, _labelling)


def _labelling(obj: dict, origin: Origin) -> Labelling | None:
    labeler = obj.get("labeler")
    if not isinstance(labeler, str) or not labeler:
        raise FieldError("labeler", "must be a non-empty string")
    question = _object(obj, "question")
    problem = question.get("problem")
    if not isinstance(problem, str):
        raise FieldError("question.problem", "must be a string")
    label = _object(obj, "label")
    steps = label.get("steps")
    if not isinstance(steps, list):
        raise FieldError("label.steps", "must be a list")
    if not steps:
        return None
    texts, ratings = [], []
    for index, step in enumerate(steps):
        text, rating, flagged = _step(step, f"label.steps[{index}]")
        texts.append(text)
        if rating is not None:
            ratings.append((index, rating, flagged))
    digest = hashlib.sha256(json.dumps([problem, texts]).encode()).hexdigest()[:20]
    answer = question.get("ground_truth_answer")
    item = ItemRecord(
        origin=origin,
        external_id=f"prm800k-{digest}",
        kind="solution",
        prompt=problem,
        steps=texts,
        meta={"ground_truth_answer": answer} if isinstance(answer, str) else {},
    )
    meta = {
        "finish_reason": label.get("finish_reason"),
        "generation": obj.get("generation"),
        "timestamp": obj.get("timestamp"),
        "total_time_ms": label.get("total_time"),
    }
    if obj.get("is_quality_control_question") is True:
        meta["quality_control"] = True
    if obj.get("is_initial_screening_question") is True:
        meta["screening"] = True
    return Labelling(labeler, item, ratings, meta)


def _object(obj: dict, name: str) -> dict:
    value = obj.get(name)
    if not isinstance(value, dict):
        raise FieldError(name, "must be an object")
    return value


def _step(step: Any, where: str) -> tuple[str, int | None, bool]:
    """(text, rating or None, flagged) of the completion that is the solution's step."""
    if not isinstance(step, dict):
        raise FieldError(where, "must be an object")
    completions = step.get("completions") or []
    if not isinstance(completions, list) or not all(isinstance(c, dict) for c in completions):
        raise FieldError(f"{where}.completions", "must be a list of objects")
    chosen = step.get("chosen_completion")
    human = step.get("human_completion")
    if chosen is not None:
        if not isinstance(chosen, int) or isinstance(chosen, bool):
            raise FieldError(f"{where}.chosen_completion", "must be an integer or null")
        if not 0 <= chosen < len(completions):
            message = f"{chosen} is out of range: the step has {len(completions)} completion(s)"
            raise FieldError(f"{where}.chosen_completion", message)
        return _completion(completions[chosen], f"{where}.completions[{chosen}]")
    if isinstance(human, str):
        return human, None, False
    if isinstance(human, dict):
        return _completion(human, f"{where}.human_completion")
    if human is not None:
        raise FieldError(f"{where}.human_completion", "must be a text, an object or null")
    if not completions:
        raise FieldError(where, "has no completion and no human completion")
    return _completion(completions[0], f"{where}.completions[0]")


def _completion(completion: dict, where: str) -> tuple[str, int | None, bool]:
    text = completion.get("text")
    if not isinstance(text, str):
        raise FieldError(f"{where}.text", "must be a string")
    rating = completion.get("rating")
    if rating is not None and (isinstance(rating, bool) or rating not in RATINGS):
        raise FieldError(f"{where}.rating", f"must be -1, 0, 1 or null, got {json.dumps(rating)}")
    return text, None if rating is None else int(rating), completion.get("flagged") is True
