"""The annotator's view of one item: its text, the questions to answer and their own earlier
answers. Built from records (`rules.ItemText`, `rules.Claim`) that either queue engine reads,
so the page and the API show the same sheet whichever engine claimed the item.

Nothing here reads another rater's judgement, an item's `meta` (imported data sets keep
labels there) or a gold item's expected values.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from annotations.annotate.rules import Claim, ItemText, criteria_for_item
from annotations.models import Criterion, Item
from annotations.values import ValueRejected, ValueRule, is_one_of

# ---- the item page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str  # what the form sends: the label's position, or the answer's side for pairs
    label: str
    keys: tuple[str, ...]  # keyboard shortcuts, the first one printed on the button
    is_error: bool = False


@dataclass
class Group:
    """One radio group (or number field): a criterion on one step or on the whole item."""

    name: str
    criterion: Criterion
    step: int | None
    legend: str
    choices: list[Choice]
    current: str = ""

    @property
    def is_number(self) -> bool:
        return self.criterion.scale == Criterion.Scale.INTERVAL

    @property
    def error_values(self) -> list[str]:
        return [c.value for c in self.choices if c.is_error]


@dataclass
class StepView:
    index: int
    text: str
    groups: list[Group] = field(default_factory=list)


@dataclass
class Answer:
    side: str  # "a" or "b": the item's orientation
    title: str  # "A" or "B": what the annotator sees, left to right
    text: str


@dataclass
class ItemSheet:
    """Everything the item page and the API show an annotator: the item and their own work."""

    claim: Claim
    item: ItemText
    steps: list[StepView]
    item_groups: list[Group]
    answers: list[Answer]
    rationale: str
    error_ends_solution: bool
    stored: dict[str, Any] = field(default_factory=dict)  # own stored values by group name

    @property
    def groups(self) -> list[Group]:
        return [g for s in self.steps for g in s.groups] + self.item_groups

    @property
    def criteria_key(self) -> str:
        """The ids of the criteria asked, as the form sends them back (`criteria`)."""
        ids = dict.fromkeys(g.criterion.pk for g in self.groups)
        return ",".join(str(pk) for pk in ids)


def _label_text(label: Any) -> str:
    return label if isinstance(label, str) else json.dumps(label)


def _choices(criterion: Criterion, swapped: bool) -> list[Choice]:
    if criterion.scale == Criterion.Scale.PAIRWISE:
        left, right = ("b", "a") if swapped else ("a", "b")
        return [
            Choice(left, "A is better", ("a", "1")),
            Choice(right, "B is better", ("b", "2")),
            Choice("tie", "Tie", ("t", "3")),
        ]
    if criterion.scale == Criterion.Scale.INTERVAL:
        return []
    return [
        Choice(
            value=str(i),
            label=_label_text(label),
            keys=(str(i + 1),) if i < 9 else (),
            is_error=is_one_of(label, criterion.error_labels),
        )
        for i, label in enumerate(criterion.labels)
    ]


def form_value(criterion: Criterion, value: Any) -> str:
    """A stored judgement value as the form sends it (see `Choice.value`)."""
    if criterion.scale == Criterion.Scale.PAIRWISE:
        return str(value)
    if criterion.scale == Criterion.Scale.INTERVAL:
        return "" if value is None else str(value)
    try:
        return str(int(ValueRule.of(criterion).code(value)))
    except ValueRejected:
        return ""


def group_name(criterion_id: int, step: int | None) -> str:
    return f"c{criterion_id}" if step is None else f"s{step}-c{criterion_id}"


@dataclass(frozen=True, slots=True)
class OwnAnswer:
    """One of the annotator's own stored judgements of the item."""

    criterion_id: int
    step: int | None
    value: Any
    rationale: str


def item_sheet_build(
    *,
    claim: Claim,
    item: ItemText,
    criteria: list[Criterion],
    steps: list[tuple[int, str]],
    error_ends_solution: bool,
    own: list[OwnAnswer] = (),
    posted: dict[str, str] | None = None,
    asked: frozenset[int] | None = None,
) -> ItemSheet:
    """The item sheet from what was read: the project's criteria in order, the item's (index,
    text) steps in order and the annotator's own judgements. `posted` (form values sent back
    after a rejected submission) takes precedence over the stored answers; `asked` keeps the
    criteria the form was rendered with (one imported since is not added to it)."""
    if asked is not None:
        criteria = [c for c in criteria if c.pk in asked]
    criteria = criteria_for_item(kind=item.kind, criteria=criteria)
    by_id = {c.pk: c for c in criteria}
    current: dict[str, str] = {}
    stored: dict[str, Any] = {}
    rationale = ""
    for answer in own:
        criterion = by_id.get(answer.criterion_id)
        if criterion is None:
            continue
        name = group_name(criterion.pk, answer.step)
        current[name] = form_value(criterion, answer.value)
        stored[name] = answer.value
        rationale = rationale or answer.rationale
    if posted is not None:
        current = {k: v for k, v in posted.items() if isinstance(v, str)}
        rationale = posted.get("rationale", rationale)

    def group(criterion: Criterion, step: int | None) -> Group:
        name = group_name(criterion.pk, step)
        legend = criterion.name.replace("_", " ")
        choices = _choices(criterion, claim.swapped)
        return Group(name, criterion, step, legend, choices, current.get(name, ""))

    step_views = [StepView(index=index, text=text) for index, text in steps]
    for step in step_views:
        step.groups = [group(c, step.index) for c in criteria if c.target == "step"]
    item_groups = [group(c, None) for c in criteria if c.target == "item"]
    return ItemSheet(
        claim=claim,
        item=item,
        steps=step_views,
        item_groups=item_groups,
        answers=_answers(item, claim.swapped),
        rationale=rationale,
        error_ends_solution=error_ends_solution,
        stored=stored,
    )


def _answers(item: ItemText, swapped: bool) -> list[Answer]:
    """A pair's two answers, left to right as this annotator sees them."""
    if item.kind != Item.Kind.PAIR:
        return []
    answers = [Answer("a", "", item.response_a or ""), Answer("b", "", item.response_b or "")]
    if swapped:
        answers.reverse()
    answers[0].title, answers[1].title = "A", "B"
    return answers
