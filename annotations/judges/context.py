"""What a judge is asked about one item: the template's variables and the requests to make.

Variables (`prompt_context`), for every item: `question` (the judged turn's question, or the
item's prompt), `reference` (the reference answer, "" when none), `criterion`, `guidelines`,
`labels`, `low`, `high` (the criterion's labels or range), `turn`; for pairs `answer_a`,
`answer_b` in the order shown, and for second turns the whole conversation: `question_1`,
`question_2`, `answer_a_1`, `answer_a_2`, `answer_b_1`, `answer_b_2`, `ref_answer_1`,
`ref_answer_2` (MT-bench's names); for responses `answer` (and `answer_1`, `answer_2`); for
solutions `steps` (a list) and `answer` (the steps joined).
"""

from dataclasses import dataclass

from annotations.models import Criterion, Item


@dataclass(frozen=True)
class Request:
    """One question to a judge about one item: the presentation order and the sample."""

    order: str  # "ab", "ba" (pairs) or ""
    sample: int


def requests_for(*, kind: str, both_orders: bool, samples: int) -> list[Request]:
    """Every request a judge makes about an item of this kind."""
    orders = [""]  # only pairs have a presentation order
    if kind == Item.Kind.PAIR:
        orders = ["ab", "ba"] if both_orders else ["ab"]
    return [Request(order, sample) for order in orders for sample in range(samples)]


def _scale(criterion: Criterion) -> tuple[list, object, object]:
    if criterion.scale == Criterion.Scale.INTERVAL:
        return [], _number(criterion.min_value), _number(criterion.max_value)
    labels = criterion.value_labels
    numbers = [x for x in labels if isinstance(x, int | float) and not isinstance(x, bool)]
    low, high = (min(numbers), max(numbers)) if len(numbers) == len(labels) else (None, None)
    return labels, low, high


def _number(value: float | None) -> object:
    return int(value) if value is not None and float(value).is_integer() else value


def _pair(item: Item, order: str, turn: int) -> dict:
    meta = item.meta or {}
    a, b = item.response_a or "", item.response_b or ""
    a1, b1 = meta.get("turn1_answer_a"), meta.get("turn1_answer_b")
    if order == "ba":
        a, b, a1, b1 = b, a, b1, a1
    context = {"answer_a": a, "answer_b": b}
    if turn == 2:
        context.update(
            question_1=meta.get("turn1_question"),
            question_2=meta.get("turn2_question"),
            answer_a_1=a1,
            answer_b_1=b1,
            answer_a_2=a,
            answer_b_2=b,
            ref_answer_1=meta.get("turn1_reference") or "",
            ref_answer_2=item.reference_answer or "",
        )
    return {k: v for k, v in context.items() if v is not None}  # missing: undefined, an error


def prompt_context(
    *, item: Item, steps: list[str], criterion: Criterion, order: str, guidelines: str = ""
) -> dict:
    """The variables of a template for one request about an item (see the module docstring)."""
    meta = item.meta or {}
    turn = meta.get("turn", 1) if isinstance(meta.get("turn", 1), int) else 1
    labels, low, high = _scale(criterion)
    question = item.prompt
    if turn == 2 and meta.get("turn2_question"):
        question = meta["turn2_question"]
    context = {
        "question": question,
        "reference": item.reference_answer or "",
        "ref_answer_1": item.reference_answer or "",
        "criterion": criterion.name,
        "guidelines": guidelines,
        "labels": labels,
        "low": low,
        "high": high,
        "turn": turn,
    }
    if item.kind == Item.Kind.PAIR:
        context.update(_pair(item, order, turn))
    elif item.kind == Item.Kind.RESPONSE:
        context.update(answer=item.response or "", answer_1=item.response or "")
    else:
        context.update(steps=steps, answer="\n\n".join(steps))
    return context
