"""MT-bench pairwise votes (Zheng et al. 2023): the vote CSVs, the questions, the answers.

Pass every file as an argument, in any order; each is recognised by its contents:
- a CSV with the columns `question_id,model_a,model_b,winner,judge,turn` (the human votes and
  the GPT-4 pair votes have the same columns; the `judge` column tells them apart);
- `question.jsonl` (`{question_id, category, turns}`): required, it gives the question texts;
- `reference_answer_gpt-4.jsonl` (`{question_id, choices: [{turns}]}`): optional, it fills in
  the reference answer of the math, reasoning and coding questions: the reference GPT-4 was
  shown as a judge in the paper. (The short human notes in question.jsonl's `reference` field
  are not imported.)
- model answer files, FastChat's `model_answer/<model>.jsonl` (`{question_id, model_id,
  choices: [{turns: [answer 1, answer 2]}]}`): optional, one per model, they fill in the
  answer texts. A reference answer file has exactly this shape too (FastChat writes GPT-4's
  references as `reference_answer/gpt-4.jsonl`), so here, and only here, the name decides: a
  `choices` file whose name contains "reference", or that sits in a folder named
  `reference_answer`, holds reference answers; any other one holds the answers of the model
  its lines name. Two answers by one model to one question are an error (it catches the
  reference file passed under a model answer's name next to that model's real answers).
  Answers to questions or by models that no vote mentions are ignored.

An item's content includes its reference answer and its answer texts, so pass the same files
on every import into one project: an import with other answer files is rejected item by item.

One pair item per (question, the two models in alphabetical order, turn), with the id
`q81-alpaca-13b-vs-gpt-3.5-turbo-t1`; answer A is the model first in alphabetical order. A row
that names the models the other way round has its verdict swapped (and `"swapped": true` in the
judgement's meta, so position bias stays measurable). The item's prompt is the judged turn's
question; a turn-2 prompt also shows the turn-1 question, marked as context.

`response_a` and `response_b` are the two models' answers to the judged turn, in the item's
a/b order; None for a model without an answer file (or without an answer to that turn). The
turn-2 votes judged the second answer in the context of the whole conversation, so a turn-2
item also keeps the conversation in item meta: `turn1_question`, `turn2_question`,
`turn1_reference` (when there are references) and the turn-1 answers `turn1_answer_a` and
`turn1_answer_b`: a judge prompt for "the whole conversation" reads them there. They are not
in the prompt on purpose: the annotator interface shows the two answers in a per-annotator
random side order, and turn-1 answers labelled A and B inside the prompt would then name the
wrong sides.

Raters: `expert_N` (group `expert`) and `author_N` (group `author`) are people; `gpt4_pair` is
the model GPT-4 (group `gpt-4`). "tie (inconsistent)" (GPT-4's verdict flipped when the answers
swapped places) is stored as "tie" with `{"inconsistent": true}` in the judgement's meta.

Repeats: one judge may vote twice on the same (question, pair, turn), e.g. once in each order
(the human CSV has one such case: author_0 on question 128, claude-v1 vs gpt-3.5-turbo, turn 1).
A project keeps one judgement per rater and target, so the first vote is kept and the later ones
are dropped, recorded on the kept judgement's meta as `dropped_repeats` (how many) and
`dropped_values` (their verdicts, re-expressed in alphabetical order), so a disagreeing repeat
is never lost silently.

The CSVs are streamed twice: the first pass yields the items (all before any vote, so the
writer stores them in batches) and finds the repeats, keeping one small key per vote; the
second yields the votes.
"""

import csv
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotations.importers.errors import FieldError, LineError, Origin
from annotations.importers.reading import csv_rows, json_lines
from annotations.importers.records import CriterionRecord, ItemRecord, JudgementRecord, Record

CSV_COLUMNS = ("question_id", "model_a", "model_b", "winner", "judge", "turn")
WINNERS = {"model_a": "a", "model_b": "b", "tie": "tie", "tie (inconsistent)": "tie"}
SWAPPED = {"a": "b", "b": "a", "tie": "tie"}
CRITERION = "preference"
GPT4_JUDGE = "gpt4_pair"
HUMAN_JUDGE = re.compile(r"(expert|author)_\d+")


@dataclass(frozen=True, slots=True)
class Vote:
    question_id: int
    first: str  # the model first in alphabetical order: answer A
    second: str
    turn: int
    judge: str
    value: str  # "a", "b" or "tie", in alphabetical order
    inconsistent: bool
    swapped: bool

    @property
    def item_id(self) -> str:
        return f"q{self.question_id}-{self.first}-vs-{self.second}-t{self.turn}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.judge, self.item_id)


@dataclass(slots=True)
class Question:
    category: str
    turns: list[str]
    references: list[str] | None = None


# (model, question id) -> the model's answer to each turn
Answers = dict[tuple[str, int], list[str]]


def parse(paths: list[Path]) -> Iterator[Record]:
    """Yield the preference criterion, the pair items and the votes of MT-bench files."""
    questions: dict[int, Question] = {}
    references: dict[int, list[str]] = {}
    answers: Answers = {}
    answered_at: dict[tuple[str, int], Origin] = {}
    vote_files: list[Path] = []
    for path in paths:
        kind, error = _kind(Path(path))
        if error is not None:
            yield error
        elif kind == "questions":
            yield from _read_jsonl(Path(path), _question, questions)
        elif kind == "references":
            yield from _read_jsonl(Path(path), _reference, references)
        elif kind == "answers":
            yield from _read_answers(Path(path), answers, answered_at)
        else:
            vote_files.append(Path(path))
    if not vote_files:
        return
    first = Origin(vote_files[0].name, 1)
    if not questions:
        yield LineError(first, "", "question.jsonl is missing: pass it too, for the questions")
        return
    for question_id, texts in references.items():
        if question_id in questions:
            questions[question_id].references = texts
    yield CriterionRecord(origin=first, name=CRITERION, target="item", scale="pairwise")
    repeats: dict[tuple[str, str], list[str]] = defaultdict(list)
    yield from _items(vote_files, questions, answers, repeats)
    yield from _votes(vote_files, questions, repeats)


def _kind(path: Path) -> tuple[str, LineError | None]:
    """questions, references, answers or votes, from the first line (and, for the two
    `choices` files, which have the same shape, the name) of the file."""
    try:
        # utf-8-sig: a CSV saved by a spreadsheet starts with a byte order mark.
        with open(path, encoding="utf-8-sig") as handle:
            head = next((line for line in handle if line.strip()), "")
    except UnicodeDecodeError:
        return "", LineError(Origin(path.name, 1), "", "is not UTF-8 text")
    if head.lstrip().startswith("{"):
        try:
            obj = json.loads(head)
        except (ValueError, RecursionError):  # not JSON, or too deep: the lines say which
            obj = {}
        if isinstance(obj, dict) and "turns" in obj:
            return "questions", None
        if isinstance(obj, dict) and "choices" in obj:
            if _named_reference(path) or "model_id" not in obj:
                return "references", None
            return "answers", None
        message = "is neither question.jsonl nor an answer file (no turns or choices)"
        return "", LineError(Origin(path.name, 1), "", message)
    try:
        header = next(csv.reader([head]), [])
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        return "", LineError(Origin(path.name, 1), "", f"is not an MT-bench vote CSV ({exc})")
    missing = [name for name in CSV_COLUMNS if name not in header]
    if missing:
        message = f"is not an MT-bench vote CSV: missing column(s) {', '.join(missing)}"
        return "", LineError(Origin(path.name, 1), "", message)
    return "votes", None


def _named_reference(path: Path) -> bool:
    return "reference" in path.name.lower() or path.parent.name == "reference_answer"


def _read_jsonl(
    path: Path, build: Callable[[dict], tuple[int, Any]], into: dict
) -> Iterator[LineError]:
    """Fill `into` with question id -> what `build` makes of each line; yield the bad lines."""
    for origin, built in json_lines([path], lambda obj, _: build(obj)):
        if isinstance(built, FieldError):
            yield LineError(origin, built.field, built.message)
        else:
            question_id, value = built
            into[question_id] = value


def _read_answers(
    path: Path, into: Answers, answered_at: dict[tuple[str, int], Origin]
) -> Iterator[LineError]:
    """Fill `into` with (model, question id) -> answers per turn; yield the bad lines."""
    for origin, built in json_lines([path], lambda obj, _: _answer(obj)):
        if isinstance(built, FieldError):
            yield LineError(origin, built.field, built.message)
            continue
        key, turns = built
        if key in answered_at:
            message = f"{key[0]} answers question {key[1]} twice: also {answered_at[key]}"
            yield LineError(origin, "question_id", message)
            continue
        answered_at[key] = origin
        into[key] = turns


def _answer(obj: dict) -> tuple[tuple[str, int], list[str]]:
    model = obj.get("model_id")
    if not isinstance(model, str) or not model:
        raise FieldError("model_id", f"must be a model name, got {model!r}")
    question_id = _question_id(obj)
    choices = obj.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise FieldError("choices", "must be a non-empty list of objects")
    turns = choices[0].get("turns")
    # An empty answer is an answer (llama-13b gave one to question 127's first turn).
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) for t in turns):
        raise FieldError("choices", "the first choice's turns must be a non-empty list of strings")
    return (model, question_id), turns


def _question_id(obj: dict) -> int:
    question_id = obj.get("question_id")
    if not isinstance(question_id, int) or isinstance(question_id, bool):
        raise FieldError("question_id", f"must be an integer, got {question_id!r}")
    return question_id


def _texts(value: object, field: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
        raise FieldError(field, "must be a non-empty list of strings")
    return value


def _question(obj: dict) -> tuple[int, Question]:
    category = obj.get("category")
    if not isinstance(category, str):
        raise FieldError("category", f"must be a string, got {category!r}")
    return _question_id(obj), Question(category, _texts(obj.get("turns"), "turns"))


def _reference(obj: dict) -> tuple[int, list[str]]:
    choices = obj.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise FieldError("choices", "must be a non-empty list of objects")
    return _question_id(obj), _texts(choices[0].get("turns"), "choices")


def _rows(paths: list[Path]) -> Iterator[tuple[Origin, Vote | FieldError]]:
    return csv_rows(paths, lambda row, _: _vote(row))


def _vote(row: dict) -> Vote:
    try:
        question_id = int(row["question_id"])
    except (TypeError, ValueError):
        raise FieldError("question_id", f"must be an integer, got {row['question_id']!r}") from None
    model_a, model_b = row["model_a"] or "", row["model_b"] or ""
    if not model_a or not model_b or model_a == model_b:
        raise FieldError("model_b", "model_a and model_b must name two different models")
    if row["turn"] not in ("1", "2"):
        raise FieldError("turn", f"must be 1 or 2, got {row['turn']!r}")
    winner = row["winner"]
    if winner not in WINNERS:
        raise FieldError("winner", f"must be one of {', '.join(WINNERS)}, got {winner!r}")
    judge = row["judge"] or ""
    if judge != GPT4_JUDGE and not HUMAN_JUDGE.fullmatch(judge):
        raise FieldError("judge", f"must be expert_N, author_N or gpt4_pair, got {judge!r}")
    swapped = model_a > model_b
    value = WINNERS[winner]
    return Vote(
        question_id=question_id,
        first=min(model_a, model_b),
        second=max(model_a, model_b),
        turn=int(row["turn"]),
        judge=judge,
        value=SWAPPED[value] if swapped else value,
        inconsistent=winner == "tie (inconsistent)",
        swapped=swapped,
    )


def _items(
    paths: list[Path],
    questions: dict[int, Question],
    answers: Answers,
    repeats: dict[tuple[str, str], list[str]],
) -> Iterator[ItemRecord]:
    """Each pair item once; fills `repeats` with the values of every vote after the first."""
    items: set[str] = set()
    votes: set[tuple[str, str]] = set()
    for origin, vote in _rows(paths):
        if not isinstance(vote, Vote) or _problem(vote, questions) is not None:
            continue  # reported by _votes
        if vote.key in votes:
            repeats[vote.key].append(vote.value)
        votes.add(vote.key)
        if vote.item_id not in items:
            items.add(vote.item_id)
            yield _item(origin, vote, questions[vote.question_id], answers)


def _votes(
    paths: list[Path], questions: dict[int, Question], repeats: dict[tuple[str, str], list[str]]
) -> Iterator[JudgementRecord | LineError]:
    kept: set[tuple[str, str]] = set()
    for origin, vote in _rows(paths):
        if isinstance(vote, FieldError):
            yield LineError(origin, vote.field, vote.message)
            continue
        problem = _problem(vote, questions)
        if problem is not None:
            yield LineError(origin, *problem)
            continue
        if vote.key not in kept:
            kept.add(vote.key)
            yield _judgement(origin, vote, repeats.get(vote.key, []))


def _problem(vote: Vote, questions: dict[int, Question]) -> tuple[str, str] | None:
    """(field, message) when the vote's question or turn is not in question.jsonl."""
    question = questions.get(vote.question_id)
    if question is None:
        return "question_id", f"{vote.question_id} is not in question.jsonl"
    if vote.turn > len(question.turns):
        return "turn", f"question {vote.question_id} has {len(question.turns)} turn(s)"
    return None


def _turn_answer(answers: Answers, model: str, question_id: int, turn: int) -> str | None:
    turns = answers.get((model, question_id), [])
    return turns[turn - 1] if len(turns) >= turn else None


def _item(origin: Origin, vote: Vote, question: Question, answers: Answers) -> ItemRecord:
    prompt = question.turns[0]
    if vote.turn == 2:
        prompt = (
            "[Turn 1 question, already answered - context only]\n"
            f"{question.turns[0]}\n\n"
            "[Turn 2 question - the turn being judged]\n"
            f"{question.turns[1]}"
        )
    references = question.references or []
    reference = references[vote.turn - 1] if len(references) >= vote.turn else ""
    meta = {
        "turn": vote.turn,
        "category": question.category,
        "model_a": vote.first,
        "model_b": vote.second,
        "question_id": vote.question_id,
    }
    if vote.turn == 2:
        # The whole conversation, for judges (MT-bench's multi-turn prompts): both questions
        # apart, the turn-1 reference answer, and the turn-1 answers below.
        meta["turn1_question"], meta["turn2_question"] = question.turns[0], question.turns[1]
        if references:
            meta["turn1_reference"] = references[0]
        for side, model in (("a", vote.first), ("b", vote.second)):
            earlier = _turn_answer(answers, model, vote.question_id, 1)
            if earlier is not None:
                meta[f"turn1_answer_{side}"] = earlier
    return ItemRecord(
        origin=origin,
        external_id=vote.item_id,
        kind="pair",
        prompt=prompt,
        response_a=_turn_answer(answers, vote.first, vote.question_id, vote.turn),
        response_b=_turn_answer(answers, vote.second, vote.question_id, vote.turn),
        reference_answer=reference or None,
        meta=meta,
    )


def _judgement(origin: Origin, vote: Vote, dropped: list[str]) -> JudgementRecord:
    meta: dict = {}
    if vote.inconsistent:
        meta["inconsistent"] = True
    if vote.swapped:
        meta["swapped"] = True
    if dropped:
        meta["dropped_repeats"] = len(dropped)
        meta["dropped_values"] = dropped
    is_model = vote.judge == GPT4_JUDGE
    return JudgementRecord(
        origin=origin,
        item=vote.item_id,
        criterion=CRITERION,
        rater=vote.judge,
        rater_kind="model" if is_model else "human",
        rater_group="gpt-4" if is_model else vote.judge.split("_")[0],
        value=vote.value,
        meta=meta,
        rater_model="gpt-4" if is_model else "",
    )
