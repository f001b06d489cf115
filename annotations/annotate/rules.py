"""The annotator queue's decisions that need no database: what an item is judged on, whether a
submission is complete and valid, what it stores, how a gold item scores it.

Both queue engines (`queue_orm`, and `queue_sql` on PostgreSQL) call these with the facts they
read, so a rule about a submission is written once. Which items may be claimed is a query, so
each engine states it in its own query language; `tests/annotations/annotate/test_queue_contract.py`
holds both to the same behaviour.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from annotations.errors import DomainError
from annotations.models import SCATTER_SPAN, Assignment, Criterion, Item
from annotations.values import ValueRejected, ValueRule, describe, is_one_of

# An annotator sees (and may submit to) their open and submitted items only.
ANNOTATOR_STATUSES = (Assignment.Status.ASSIGNED, Assignment.Status.SUBMITTED)
MAX_TIME_PER_SUBMISSION_MS = 6 * 3600 * 1000
MAX_RATIONALE = 10_000
_claim_random = random.SystemRandom()


def claim_start() -> int:
    """A random point of the scatter order (`Item.scatter`), where the next claim starts.

    Items sit in a fixed scatter order; every claim starts at a fresh random point of it and
    takes the first item the user may have, wrapping around. So each annotator's sequence is a
    random draw without replacement, different for every annotator and unrelated to the import
    order, and an item's chance to come next is nearly the same for all (the scatter leaves
    only three gap sizes between neighbours), which also keeps annotators off each other's
    items.
    """
    return _claim_random.randrange(SCATTER_SPAN)


# ---- what the annotator sees ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemText:
    """What an annotator may see of an item: its text, never its meta, its external id (which
    names models and subsets, e.g. "q157-gpt-4-vs-vicuna-13b-v1.2-t1") or anyone's labels.
    Annotators know an item by its primary key."""

    pk: int
    kind: str
    prompt: str
    response: str | None
    response_a: str | None
    response_b: str | None
    reference_answer: str
    n_steps: int


@dataclass(frozen=True, slots=True)
class Claim:
    """An assignment as the annotator's pages need it."""

    pk: int
    item_id: int
    project_slug: str
    slot: int | None
    status: str
    is_gold: bool
    swapped: bool  # pairs: answer B is shown first
    submitted_at: datetime | None
    submission_id: uuid.UUID | None = None  # the stored answers' version (None: none stored)


def criteria_for_item(*, kind: str, criteria: list[Criterion]) -> list[Criterion]:
    """The criteria an item is judged on, in the project's order.

    Solutions: the step criteria and the non-pairwise item criteria. Responses: the
    non-pairwise item criteria. Pairs: the pairwise criteria (or, if the project has none, the
    other item criteria).
    """
    step = [c for c in criteria if c.target == Criterion.Target.STEP]
    pairwise = [c for c in criteria if c.scale == Criterion.Scale.PAIRWISE]
    other = [
        c
        for c in criteria
        if c.target == Criterion.Target.ITEM and c.scale != Criterion.Scale.PAIRWISE
    ]
    if kind == Item.Kind.SOLUTION:
        return step + other
    if kind == Item.Kind.PAIR:
        return pairwise or other
    return other


# ---- submissions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelInput:
    """One answer: a criterion by name, a step index (None for item criteria) and the value.

    Pairwise values are always in the item's orientation ("a" is the item's response_a).
    """

    criterion: str
    step: int | None
    value: Any


class _Unchecked:
    def __repr__(self) -> str:
        return "UNCHECKED"


# A submission that does not say which stored answers it was made against (an API call without
# `base_submission_id`): it replaces them, as an edit does.
UNCHECKED: Any = _Unchecked()


@dataclass(frozen=True, slots=True)
class Submission:
    """An annotator's answers to one item. A repeated `submission_id` is a no-op.

    `base` is the version of the stored answers (their submission id, None for none) the form
    was made against; `overwrite` the stored version its author saw in a conflict and chose
    to replace (`submission_conflict`). `criteria` are the ids of the criteria the form asked
    (None: the project's current ones): a criterion imported since is not asked of it.
    """

    submission_id: uuid.UUID
    labels: list[LabelInput]
    rationale: str = ""
    time_spent_ms: int = 0
    base: uuid.UUID | None = UNCHECKED
    overwrite: uuid.UUID | None = None
    criteria: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class JudgementRow:
    """One judgement a submission stores."""

    criterion: Criterion
    step: int | None
    value: Any
    code: float


@dataclass(frozen=True, slots=True)
class SubmitResult:
    item_id: int
    status: str
    stored: int
    repeated: bool  # the same submission id was already recorded: nothing was written


def _label_row(label: LabelInput, criterion: Criterion, n_steps: int) -> JudgementRow:
    if criterion.target == Criterion.Target.STEP:
        if label.step is None or not 0 <= label.step < n_steps:
            raise DomainError(
                f"{criterion.name}: this item has steps 1 to {n_steps}; "
                f"got step {describe(label.step)}."
            )
    elif label.step is not None:
        raise DomainError(f"{criterion.name} judges the whole item, not a step.")
    return JudgementRow(criterion, label.step, label.value, value_code(criterion, label.value))


def value_code(criterion: Criterion, value: Any) -> float:
    """The value's code (`ValueRule`); the error names only the criterion, the value and the
    labels."""
    try:
        return ValueRule.of(criterion).code(value)
    except ValueRejected as exc:
        raise DomainError(f"{criterion.name}: {exc.message}.") from None


def _solution_end(rows: list[JudgementRow], n_steps: int) -> int:
    """Steps after the first one labelled as an error are not judged (when the project says
    an error ends the solution)."""
    end = n_steps
    for row in rows:
        if row.step is not None and is_one_of(row.value, row.criterion.error_labels):
            end = min(end, row.step + 1)
    return end


class SubmissionConflict(DomainError):
    """Answers stored since the form was opened (another tab, another device) would be
    replaced: the caller shows them (`stored`, `rationale`) and may resubmit with `overwrite`
    set to `version`."""

    def __init__(self, *, version: uuid.UUID | None, stored: list[dict], rationale: str) -> None:
        super().__init__(
            "You submitted other answers to this item in another tab or window since this "
            "page was opened. Your stored answers are shown; submit again with "
            '"Replace them" to store these instead.',
            [f"Stored: {describe_stored(row)}" for row in stored],
        )
        self.version = version
        self.stored = stored
        self.rationale = rationale

    def as_data(self) -> dict:
        """The body of the 409 answer (page and API alike)."""
        return {
            "detail": self.message,
            "errors": self.errors,
            "conflict": {
                "version": None if self.version is None else str(self.version),
                "stored": self.stored,
                "rationale": self.rationale,
            },
        }


def describe_stored(row: dict) -> str:
    where = "" if row["step"] is None else f"step {row['step'] + 1}, "
    return f"{where}{row['criterion']}: {describe(row['value'])}"


def submission_conflict(*, stored_version: uuid.UUID | None, submission: Submission) -> bool:
    """Whether the submission would replace stored answers its author has not seen.

    The one rule for both engines, the page and the API: a submission made against the stored
    version (`base`), or one whose author saw the stored version and chose to replace it
    (`overwrite`), goes through; so does one that does not say (`UNCHECKED`). A repeated
    submission id never gets here (it is a no-op).
    """
    if submission.base is UNCHECKED or submission.base == stored_version:
        return False
    return submission.overwrite is None or submission.overwrite != stored_version


def same_answers(rows: list["JudgementRow"], stored: list[dict], rationale: str) -> bool:
    """Whether `rows` (and the rationale) are what is stored: then a conflicting submission
    changes nothing and is answered as a repeat (two tabs that agree)."""
    mine = {(r.criterion.name, r.step): r.value for r in rows}
    theirs = {(s["criterion"], s["step"]): s["value"] for s in stored}
    same_rationale = all(s["rationale"] == rationale for s in stored)
    return mine == theirs and same_rationale


def criteria_asked(criteria: list[Criterion], asked: frozenset[int] | None) -> list[Criterion]:
    """The criteria a submission answers: the project's, or those its form asked (`asked`).

    A criterion imported while the form was open is left out (it will be asked of the next
    form); one the form asked that is gone now is a clear error, not a wrong "missing"."""
    if asked is None:
        return criteria
    known = {c.pk for c in criteria}
    if not asked <= known:
        raise DomainError(
            "This project's questions changed since the page was opened: reload the page "
            "(your answers are kept as a draft)."
        )
    return [c for c in criteria if c.pk in asked]


def submission_rows(
    *,
    kind: str,
    n_steps: int,
    criteria: list[Criterion],
    labels: list[LabelInput],
    error_ends_solution: bool,
    rationale: str = "",
    asked: frozenset[int] | None = None,
) -> list[JudgementRow]:
    """The judgements a submission stores; DomainError (with every missing answer) if it is
    invalid or incomplete. `criteria` are the project's, in order; `asked` the ids of those
    the form asked (`criteria_asked`)."""
    if len(rationale) > MAX_RATIONALE:
        raise DomainError(f"The rationale is longer than {MAX_RATIONALE} characters.")
    judged = criteria_for_item(kind=kind, criteria=criteria_asked(criteria, asked))
    by_name = {c.name: c for c in judged}
    given: dict[tuple[int, int | None], JudgementRow] = {}
    for label in labels:
        criterion = by_name.get(label.criterion)
        if criterion is None:
            raise DomainError("A label names a criterion this item is not judged on.")
        row = _label_row(label, criterion, n_steps)
        if (criterion.pk, row.step) in given:
            raise DomainError(f"{criterion.name}: the same target is labelled twice.")
        given[criterion.pk, row.step] = row
    end = _solution_end(list(given.values()), n_steps) if error_ends_solution else n_steps
    missing = []
    for criterion in judged:
        if criterion.target == Criterion.Target.STEP:
            missing += [
                f"Step {i + 1} needs a label for {criterion.name}."
                for i in range(end)
                if (criterion.pk, i) not in given
            ]
        elif (criterion.pk, None) not in given:
            missing.append(f"{criterion.name} needs an answer.")
    if missing:
        raise DomainError("Some answers are missing.", missing)
    return [row for row in given.values() if row.step is None or row.step < end]


def time_total(before: int, added: int) -> int:
    """Time spent on an item after one more submission: each submission counts at most
    MAX_TIME_PER_SUBMISSION_MS (a tab left open overnight), the total fits the column."""
    return min(before + max(0, min(added, MAX_TIME_PER_SUBMISSION_MS)), 2**31 - 1)


def gold_score(expected: dict, rows: list[JudgementRow]) -> tuple[int, int]:
    """Correct and scored answers against a gold item's expected values (null: any)."""
    correct = total = 0
    for row in rows:
        wanted = expected.get(row.criterion.name)
        if row.step is not None:
            in_range = isinstance(wanted, list) and row.step < len(wanted)
            wanted = wanted[row.step] if in_range else None
        if wanted is None:
            continue
        total += 1
        correct += ValueRule.of(row.criterion).same(wanted, row.value)
    return correct, total


def judgement_meta(*, submission_id: uuid.UUID, kind: str, swapped: bool) -> dict:
    """What a submitted judgement records about how it was made."""
    meta: dict[str, Any] = {"source": "annotate", "submission_id": str(submission_id)}
    if kind == Item.Kind.PAIR:
        meta["swapped"] = swapped
    return meta
