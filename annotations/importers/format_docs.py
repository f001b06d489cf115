"""The import format as the in-app page shows it to leads (`annotations:import-format`).

Derived from the records (`records.py`): each line type's fields, whether they are required and
what they must be (`DESCRIPTIONS`, the words the parser's errors use), so the page cannot drift
from the parser. The examples are README's "Import format" examples; a test decodes each one
with the native parser.
"""

from dataclasses import dataclass

import msgspec

from annotations.importers.records import CriterionRecord, ItemRecord, JudgementRecord, ScoreRecord

RECORD_TYPES = (CriterionRecord, ItemRecord, JudgementRecord, ScoreRecord)

# What each field means beyond its type, where the type alone does not say it.
NOTES = {
    ("criterion", "target"): "step or item",
    ("criterion", "scale"): "nominal, ordinal, interval or pairwise",
    ("criterion", "labels"): "nominal and ordinal: at least 2 distinct JSON values, in order",
    ("criterion", "min"): "interval only",
    ("criterion", "max"): "interval only",
    ("criterion", "error_labels"): "labels that mark a step wrong (earliest-error analysis)",
    ("item", "id"): "unique in the project; a number is read as text",
    ("item", "kind"): "solution (needs steps), response (needs response) or pair",
    ("item", "response_a"): "pairs; absent when only the verdicts are known",
    ("item", "response_b"): "pairs; absent when only the verdicts are known",
    ("item", "meta"): "free key/values that reports slice by",
    ("judgement", "step"): "exactly when the criterion's target is step",
    ("judgement", "value"): 'one of the labels (compared as JSON: 4 is not "4") or a number '
    "within min..max; pairwise: a, b or tie",
    ("judgement", "rater_group"): "defaults to the kind",
    ("score", "step"): "exactly when the criterion's target is step",
    ("score", "score"): "higher = more likely correct; on a pair item P(a is better than b)",
    ("score", "rater_group"): "defaults to model",
}

EXAMPLES = [
    '{"type": "criterion", "name": "validity", "target": "step", "scale": "nominal", '
    '"labels": ["correct", "incorrect"], "error_labels": ["incorrect"]}',
    '{"type": "criterion", "name": "preference", "target": "item", "scale": "pairwise"}',
    '{"type": "criterion", "name": "coherence", "target": "item", "scale": "ordinal", '
    '"labels": [1, 2, 3, 4, 5]}',
    '{"type": "criterion", "name": "score", "target": "item", "scale": "interval", '
    '"min": 0, "max": 10}',
    '{"type": "item", "id": "gsm8k-5", "kind": "solution", "prompt": "...", '
    '"steps": ["...", "..."], "meta": {"subset": "gsm8k"}}',
    '{"type": "item", "id": "q81-t1", "kind": "pair", "prompt": "...", "response_a": "...", '
    '"response_b": "...", "meta": {"turn": 1}}',
    '{"type": "item", "id": "sum-7", "kind": "response", "prompt": "article ...", '
    '"response": "summary ...", "reference_answer": "..."}',
    '{"type": "judgement", "item": "gsm8k-5", "step": 1, "criterion": "validity", '
    '"rater": "expert_1", "rater_kind": "human", "rater_group": "expert", '
    '"value": "incorrect", "rationale": "..."}',
    '{"type": "judgement", "item": "q81-t1", "criterion": "preference", "rater": "gpt-4", '
    '"rater_kind": "model", "rater_group": "gpt-4", "value": "tie", '
    '"rater_model": "gpt-4-0613", "rater_prompt_version": "pair-v2", '
    '"rater_parameters": {"temperature": 0}}',
    '{"type": "score", "item": "gsm8k-5", "step": 1, "criterion": "validity", '
    '"rater": "math-prm", "rater_group": "prm", "score": -1.7, '
    '"rater_model": "Qwen2.5-Math-PRM-7B"}',
    '{"type": "score", "item": "q81-t1", "criterion": "preference", "rater": "pair-rm", '
    '"score": 0.83}',
]

SCORES_CSV = """item,criterion,step,rater,rater_group,score
gsm8k-5,validity,0,math-prm,prm,2.3
gsm8k-5,validity,1,math-prm,prm,-1.7
q81-t1,preference,,pair-rm,,0.83"""


@dataclass(frozen=True)
class FieldDoc:
    name: str
    required: bool
    what: str  # what the value must be
    note: str


@dataclass(frozen=True)
class LineDoc:
    type: str
    summary: str
    fields: list[FieldDoc]


def import_format_docs() -> list[LineDoc]:
    """Every line type of the native format with its fields, in definition order."""
    docs = []
    for record_type in RECORD_TYPES:
        tag = record_type.__struct_config__.tag
        fields = [
            FieldDoc(
                name=f.encode_name,
                required=f.required,
                what=record_type.DESCRIPTIONS.get(f.encode_name, "a JSON value"),
                note=NOTES.get((tag, f.encode_name), ""),
            )
            for f in msgspec.structs.fields(record_type)
            if f.name != "origin"
        ]
        summary = (record_type.__doc__ or "").strip().split("\n\n")[0]
        docs.append(LineDoc(type=tag, summary=" ".join(summary.split()), fields=fields))
    return docs
