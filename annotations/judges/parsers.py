"""Parsers of judge answers: the verdict formats of the papers, versioned.

A parser returns what the answer says or raises `Unparsed`; it never guesses or defaults (an
answer that does not parse is stored raw and counted, and no label is made from it). Changing
a parser's behaviour means a new version, which is part of a judge's identity, so answers
parsed one way are never mixed with answers parsed another. Re-parsing reads the cache.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Unparsed(ValueError):
    """The answer holds no verdict in the expected format; the message says what is missing."""


# MT-bench (FastChat `llm_judge/common.py`): the first of [[A]], [[B]], [[C]] found, checked in
# that order (so an answer naming two verdicts counts as the first of that order, as the
# paper's figures were computed).
def pair_verdict(text: str, **_: Any) -> str:
    for verdict in ("A", "B", "C"):
        if f"[[{verdict}]]" in text:
            return verdict
    raise Unparsed("no [[A]], [[B]] or [[C]] in the answer")


_RATING = re.compile(r"\[\[(\d+\.?\d*)\]\]")
_RATING_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")


# MT-bench single-answer grading: the first [[number]], else the first [number].
def rating(text: str, **_: Any) -> float:
    match = _RATING.search(text) or _RATING_BACKUP.search(text)
    if match is None:
        raise Unparsed("no [[rating]] in the answer")
    return float(match.group(1))


BOXED = "\\boxed"


def final_answer(text: str) -> str:
    """The content of the last `\\boxed{...}` in `text`, stripped; "" when there is none.

    The rule: find the last `\\boxed` followed (after optional spaces) by `{`, and take
    everything up to the matching `}`, counting nested braces (`\\boxed{\\frac{1}{2}}` gives
    `\\frac{1}{2}`); escaped braces `\\{` and `\\}` do not count. A `\\boxed` whose braces never
    close, or with no brace (`\\boxed 5`), is skipped and the one before it is tried.
    `\\fbox` and answers stated in words are not final answers here.
    """
    end = len(text)
    while (start := text.rfind(BOXED, 0, end)) != -1:
        content = _braced(text, start + len(BOXED))
        if content is not None:
            return content.strip()
        end = start
    return ""


def _braced(text: str, at: int) -> str | None:
    """The text inside the brace group that opens at `at` (after spaces), or None."""
    while at < len(text) and text[at] == " ":
        at += 1
    if at >= len(text) or text[at] != "{":
        return None
    depth, i = 0, at
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2  # an escaped character, \{ or \} included, is not a brace
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[at + 1 : i]
        i += 1
    return None


# ProcessBench: the index in the last \boxed{}, -1 for "no error", else an index of a step.
def boxed_index(text: str, *, n_steps: int, **_: Any) -> int:
    content = final_answer(text)
    if not content:
        raise Unparsed("no \\boxed{} in the answer")
    try:
        index = int(content.strip())
    except ValueError:
        raise Unparsed(f"\\boxed{{{content[:20]}}} is not a paragraph index") from None
    if not -1 <= index < n_steps:
        raise Unparsed(f"paragraph {index} is out of range (-1 or 0..{n_steps - 1})")
    return index


_STEP_LINE = re.compile(r"\[\[\s*Step\s+(\d+)\s*:\s*([^\]]+?)\s*\]\]", re.IGNORECASE)


# PRM800K-style: [[Step k: label]] for every step, each label one of the criterion's.
def step_verdicts(text: str, *, n_steps: int, labels: list, **_: Any) -> list:
    by_text = {str(label).lower(): label for label in labels}
    found: dict[int, Any] = {}
    for number, word in _STEP_LINE.findall(text):
        label = by_text.get(word.strip().lower())
        if label is None:
            raise Unparsed(f"step {number}: {word[:20]!r} is not one of the labels")
        found[int(number)] = label  # a later line for the same step wins (a correction)
    missing = [k for k in range(1, n_steps + 1) if k not in found]
    if missing:
        raise Unparsed(f"no verdict for step(s) {', '.join(map(str, missing[:5]))}")
    return [found[k] for k in range(1, n_steps + 1)]


@dataclass(frozen=True)
class Parser:
    version: str
    parse: Callable[..., Any]


PARSERS = {
    "mtbench-pair": Parser("mtbench-pair/1", pair_verdict),
    "rating": Parser("rating/1", rating),
    "boxed-index": Parser("boxed-index/1", boxed_index),
    "step-verdicts": Parser("step-verdicts/1", step_verdicts),
}
