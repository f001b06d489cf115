"""From parsed answers to judgements: one value per target, as the import stores them.

A judge's answers about one item (one per presentation order and sample) make its judgement
of that item: pairs combine both orders the way MT-bench did (a verdict that changes with the
order is a tie flagged `inconsistent`, as the MT-bench importer stores GPT-4's "tie
(inconsistent)"), samples vote (labels) or average (interval scores), a critic's earliest-error
index becomes step labels. None when an answer needed is missing or unparsed: no label is
ever made from a guess.
"""

from collections import Counter
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from annotations.models import Criterion
from annotations.values import ValueRejected, ValueRule, is_one_of


@dataclass(frozen=True)
class Verdict:
    """The judgement values of one item: `steps` maps a step index to its value."""

    value: Any = None  # the item-level value (item criteria)
    steps: dict[int, Any] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


# A shown-as-A/B verdict, by the order the answers were shown in, as the item's a/b/tie.
_PAIR = {"ab": {"A": "a", "B": "b", "C": "tie"}, "ba": {"A": "b", "B": "a", "C": "tie"}}


def _vote(values: list) -> Any:
    """The most frequent value; None on a tie between the most frequent (no guess)."""
    counts = Counter(map(repr, values)).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    return next(v for v in values if repr(v) == counts[0][0])


def pair(by_order: dict[str, list[str]]) -> Verdict | None:
    """MT-bench pairs: each order's (voted) verdict in item terms; disagreement -> tie."""
    verdicts = {o: _vote([_PAIR[o][v] for v in vs]) for o, vs in by_order.items()}
    if None in verdicts.values():
        return None
    meta = {"orders": verdicts}
    values = set(verdicts.values())
    if len(values) > 1:
        return Verdict("tie", meta={**meta, "inconsistent": True})
    return Verdict(values.pop(), meta=meta)


def rating(scores: list[float], criterion: Criterion) -> Verdict | None:
    """Scores on the criterion's scale: interval criteria take the mean, ordinal and nominal
    ones the vote among the labels (a score that is not a label makes no judgement)."""
    rule = ValueRule.of(criterion)
    if criterion.scale == Criterion.Scale.INTERVAL:
        value = mean(scores)
        value = int(value) if float(value).is_integer() else value
    else:
        labels = [_label_for(score, criterion) for score in scores]
        if None in labels:
            return None
        value = _vote(labels)
    try:
        rule.check(value)
    except ValueRejected:
        return None
    return Verdict(value, meta={"scores": scores} if len(scores) > 1 else {})


def _label_for(score: float, criterion: Criterion) -> Any:
    for label in criterion.value_labels:
        if isinstance(label, int | float) and not isinstance(label, bool) and label == score:
            return label
    return None


def _valid_and_error(criterion: Criterion) -> tuple[Any, Any]:
    """The labels that mean a step is right and wrong: the first non-error label and the
    first error label."""
    labels = criterion.value_labels
    valid = next(x for x in labels if not is_one_of(x, criterion.error_labels))
    error = next(x for x in labels if is_one_of(x, criterion.error_labels))
    return valid, error


def earliest_error(indices: list[int], criterion: Criterion, n_steps: int) -> Verdict | None:
    """ProcessBench: steps before the earliest error valid, that step invalid, later steps
    unjudged; -1: every step valid."""
    index = _vote(indices)
    if index is None:
        return None
    valid, error = _valid_and_error(criterion)
    if index == -1:
        return Verdict(steps=dict.fromkeys(range(n_steps), valid))
    steps = dict.fromkeys(range(index), valid) | {index: error}
    return Verdict(steps=steps, meta={"earliest_error": index})


def step_labels(samples: list[list], n_steps: int) -> Verdict | None:
    """One verdict per step; with samples, a vote per step."""
    steps = {}
    for i in range(n_steps):
        value = _vote([sample[i] for sample in samples])
        if value is None:
            return None
        steps[i] = value
    return Verdict(steps=steps)


def checked(passed: list[bool], criterion: Criterion) -> Verdict:
    """An answer check: passed -> the criterion's first non-error label, else its first
    error label."""
    valid, error = _valid_and_error(criterion)
    return Verdict(valid if all(passed) else error)
