"""ProcessBench (Zheng et al. 2024): expert step labels on competition-math solutions.

Each file is a JSON list of `{id, generator, problem, steps: [str], final_answer_correct: bool,
label: int}`; `label` is the 0-based index of the earliest wrong step, or -1 when every step is
correct. A file is one subset (gsm8k, math, olympiadbench, omnimath).

Every entry becomes a `solution` item (id = the entry's id, prompt = the problem, meta `subset`
and `generator`) and the judgements below. The subset is the id's prefix (`gsm8k` of
`gsm8k-0`), which is the file's name without `.json` in the published data; it is not taken
from the file name itself, which an upload may change (`gsm8k_x7Yz.json`): the item would then
differ from the one imported before, and a re-import would be rejected. An id without a prefix
takes the file's name.
- `validity` per step by `processbench_experts` (human, group `expert`): the steps before the
  earliest error "correct", the error step "incorrect"; later steps are left unjudged, since
  the experts stopped there. With label -1 every step is "correct".
- `solution_correct` by `processbench_experts`: "correct" iff label == -1.
- `solution_correct` by `outcome_check` (model, group `outcome-check`): `final_answer_correct`,
  what a judge that reads only the final answer says. Where it says "correct" and the experts
  do not, an answer-only check passed a flawed solution.

Reference answers (`parse(..., leave_one_out_references=True)`; off by default, `load_demo`
turns it on). ProcessBench ships no reference answers, only `final_answer_correct`, but many
problems come with several solutions (by different generators). With the option, an item's
`reference_answer` is the final answer (`annotations.judges.parsers.final_answer`, the last
`\\boxed{}`) of ANOTHER solution of the same problem (the same problem text, in any of the
files passed) that the data set marks `final_answer_correct: true`, the first such one in file
and entry order; item meta `reference_source` names the solution it came from. Never the
item's own answer, so an answer checker compared with the data set's own verdict is not
shown its own label. An item without such a neighbour has no reference. Off by default
because (1) an import of a user's files should not put references in that the files do not
contain, and (2) an item's content includes its reference, so the same solution imported
with another set of files (another neighbour, or none) would become a different item and the
import would be rejected; the demo's files are fixed.

The files are small, so they are all loaded first (the references need every file); a
file's items are yielded before its judgements. Errors name the file and the entry (1-based).
"""

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from annotations.importers.errors import FieldError, LineError, Origin
from annotations.importers.reading import json_entries, load_json
from annotations.importers.records import CriterionRecord, ItemRecord, JudgementRecord, Record
from annotations.judges.parsers import final_answer

LABELS = ["correct", "incorrect"]
EXPERTS = "processbench_experts"
OUTCOME_CHECK = "outcome_check"


# problem text -> (solution id, final answer) of its solutions with a correct final answer
Answers = dict[str, list[tuple[str, str]]]


def parse(paths: list[Path], *, leave_one_out_references: bool = False) -> Iterator[Record]:
    """Yield the two criteria, then each file's solutions and their judgements."""
    if not paths:
        return
    first = Origin(Path(paths[0]).name, 1)
    yield CriterionRecord(
        origin=first,
        name="validity",
        target="step",
        scale="nominal",
        labels=LABELS,
        error_labels=["incorrect"],
    )
    yield CriterionRecord(
        origin=first,
        name="solution_correct",
        target="item",
        scale="nominal",
        labels=LABELS,
        error_labels=["incorrect"],  # what an outcome judge (the answer checker) says of a miss
    )
    files = [(path, *load_json(path)) for path in map(Path, paths)]
    answers = _correct_answers(files) if leave_one_out_references else {}
    for path, data, error in files:
        if error is not None:
            yield error
            continue
        if not isinstance(data, list):
            yield LineError(Origin(path.name, 1), "", "must be a JSON list of solutions")
            continue
        # A file's items go before its judgements, so the writer stores them in batches.
        judgements: list[Record] = []
        build = partial(_solution, default_subset=path.stem, answers=answers)
        read = json_entries(data, path.name, build)
        for origin, built in read:
            if isinstance(built, FieldError):
                yield LineError(origin, built.field, built.message)
                continue
            item, labels = built
            yield item
            judgements.extend(labels)
        yield from judgements


def _correct_answers(files: list[tuple[Path, Any, LineError | None]]) -> Answers:
    """Every problem's solutions marked final_answer_correct that have a boxed final answer.

    Malformed files and entries are skipped here; `parse` and `_solution` report them.
    """
    answers: Answers = {}
    for _, data, _ in files:
        for entry in data if isinstance(data, list) else []:
            if not isinstance(entry, dict) or entry.get("final_answer_correct") is not True:
                continue
            steps, problem, item_id = entry.get("steps"), entry.get("problem"), entry.get("id")
            if not (isinstance(steps, list) and isinstance(problem, str)):
                continue
            answer = final_answer("\n".join(s for s in steps if isinstance(s, str)))
            if answer and isinstance(item_id, str):
                answers.setdefault(problem.strip(), []).append((item_id, answer))
    return answers


def _reference(answers: Answers, problem: str, item_id: str) -> tuple[str, str] | None:
    """(answer, source id) of the first other correct solution of `problem`, if any."""
    return next(
        (
            (answer, source)
            for source, answer in answers.get(problem.strip(), [])
            if source != item_id
        ),
        None,
    )


def _field(entry: dict, name: str, kind: type, what: str) -> Any:
    value = entry.get(name)
    # bool is an int subclass; a JSON true is not a label index.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise FieldError(name, f"must be {what}, got {json.dumps(value)[:60]}")
    return value


def _solution(
    entry: Any, origin: Origin, default_subset: str, answers: Answers
) -> tuple[ItemRecord, list[JudgementRecord]]:
    """The item and judgements of one entry, built only once the whole entry is valid."""
    if not isinstance(entry, dict):
        raise FieldError("", "must be a JSON object")
    item_id = _field(entry, "id", str, "a string")
    subset = item_id.rsplit("-", 1)[0] if "-" in item_id else default_subset
    steps = _field(entry, "steps", list, "a list of strings")
    if not steps or not all(isinstance(step, str) for step in steps):
        raise FieldError("steps", "must be a non-empty list of strings")
    label = _field(entry, "label", int, "an integer")
    if not -1 <= label < len(steps):
        raise FieldError("label", f"must be -1 or a step index 0..{len(steps) - 1}, got {label}")
    final_answer_correct = _field(entry, "final_answer_correct", bool, "true or false")
    problem = _field(entry, "problem", str, "a string")
    meta = {"subset": subset, "generator": _field(entry, "generator", str, "a string")}
    reference = _reference(answers, problem, item_id)
    if reference is not None:
        meta["reference_source"] = reference[1]
    item = ItemRecord(
        origin=origin,
        external_id=item_id,
        kind="solution",
        prompt=problem,
        steps=steps,
        reference_answer=reference[0] if reference is not None else None,
        meta=meta,
    )
    judged = len(steps) if label == -1 else label + 1
    experts_verdict = "correct" if label == -1 else "incorrect"
    outcome_verdict = "correct" if final_answer_correct else "incorrect"
    return item, [
        *(
            _judgement(origin, item_id, "validity", "incorrect" if i == label else "correct", i)
            for i in range(judged)
        ),
        _judgement(origin, item_id, "solution_correct", experts_verdict),
        _judgement(origin, item_id, "solution_correct", outcome_verdict, rater=OUTCOME_CHECK),
    ]


def _judgement(
    origin: Origin,
    item_id: str,
    criterion: str,
    value: str,
    step: int | None = None,
    rater: str = EXPERTS,
) -> JudgementRecord:
    is_model = rater == OUTCOME_CHECK
    return JudgementRecord(
        origin=origin,
        item=item_id,
        criterion=criterion,
        rater=rater,
        rater_kind="model" if is_model else "human",
        rater_group="outcome-check" if is_model else "expert",
        value=value,
        step=step,
    )
