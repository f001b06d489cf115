"""Small builders for native-format lines and files, shared by the import tests."""

import json
from pathlib import Path

VALIDITY = {
    "type": "criterion",
    "name": "validity",
    "target": "step",
    "scale": "nominal",
    "labels": ["correct", "incorrect"],
    "error_labels": ["incorrect"],
}
PREFERENCE = {"type": "criterion", "name": "preference", "target": "item", "scale": "pairwise"}
COHERENCE = {
    "type": "criterion",
    "name": "coherence",
    "target": "item",
    "scale": "ordinal",
    "labels": [1, 2, 3, 4, 5],
}


def solution(item_id: str = "gsm8k-5", n_steps: int = 3, **meta) -> dict:
    return {
        "type": "item",
        "id": item_id,
        "kind": "solution",
        "prompt": r"Find \(x\) if $x^2 = 4$ and <script>alert(1)</script>",
        "steps": [f"step {i}: \\(x_{i}\\)" for i in range(n_steps)],
        "meta": meta or {"subset": "gsm8k"},
    }


def pair(item_id: str = "q81-t1", **meta) -> dict:
    return {
        "type": "item",
        "id": item_id,
        "kind": "pair",
        "prompt": "Write a haiku.",
        "response_a": "A",
        "response_b": "B",
        "meta": meta or {"turn": 1},
    }


def judgement(item: str, criterion: str, value, rater: str = "expert_1", **extra) -> dict:
    line = {
        "type": "judgement",
        "item": item,
        "criterion": criterion,
        "rater": rater,
        "rater_kind": extra.pop("rater_kind", "human"),
        "rater_group": extra.pop("rater_group", "expert"),
        "value": value,
    }
    line.update(extra)
    return line


def write_jsonl(path: Path, lines: list) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line if isinstance(line, str) else json.dumps(line))
            out.write("\n")
    return path


def good_lines() -> list[dict]:
    return [
        VALIDITY,
        PREFERENCE,
        COHERENCE,
        solution(),
        pair(),
        judgement("gsm8k-5", "validity", "correct", step=0),
        judgement("gsm8k-5", "validity", "incorrect", step=1, rationale="sign error"),
        judgement("gsm8k-5", "validity", "correct", step=0, rater="expert_2"),
        judgement(
            "q81-t1", "preference", "tie", rater="gpt-4", rater_kind="model", rater_group="gpt-4"
        ),
        judgement("q81-t1", "preference", "a"),
    ]
