"""Structured output: a judge's verdict as JSON constrained by a schema. An option of a judge
version (`structured: true`, part of its identity and of its parser version); the built-in
templates ask for the papers' text formats by default, as the published agreement figures were
measured with those.

One rule for every provider: `SCHEMAS` says what the verdict of each parser looks like, and
`request_options` asks each provider for JSON of that schema in its own way — OpenAI-compatible
servers (OpenAI, vLLM, Ollama, llama.cpp) through `response_format`, Anthropic through one tool
whose `input_schema` is the schema, with `tool_choice` forcing it. The Anthropic client stores the
tool call's input as its JSON text (`providers.AnthropicMessages`), so both providers' answers
are the same kind of raw text: cached, re-read after a parser fix, and read by `read` below.

The reader is as strict as the text parsers: JSON that does not match the schema's verdict is
`Unparsed`, stored raw and counted, never turned into a label.
"""

import json
from typing import Any

from annotations.judges.parsers import Unparsed


def _object(**properties: dict) -> dict:
    return {
        "type": "object",
        "properties": {"explanation": {"type": "string"}, **properties},
        "required": ["explanation", *properties],
        "additionalProperties": False,
    }


SCHEMAS = {
    "mtbench-pair": _object(verdict={"type": "string", "enum": ["A", "B", "C"]}),
    "rating": _object(rating={"type": "number"}),
    "boxed-index": _object(earliest_error={"type": "integer"}),
    "step-verdicts": _object(steps={"type": "array", "items": {"type": "string"}}),
}
VERSION_SUFFIX = "+json/1"
PROVIDERS = ("openai", "anthropic")  # the providers that can be asked for a schema
NAME = "verdict"  # the schema's name for OpenAI, the tool's for Anthropic
TOOL_DESCRIPTION = "Record your verdict: an explanation first, then the verdict."


def offered(provider: str) -> bool:
    """Whether a judge of `provider` can be asked for structured output."""
    return provider in PROVIDERS


def request_options(provider: str, parser: str) -> dict:
    """What a request to `provider` adds to ask for this parser's verdict as JSON."""
    schema = SCHEMAS[parser]
    if provider == "openai":
        json_schema = {"name": NAME, "strict": True, "schema": schema}
        return {"response_format": {"type": "json_schema", "json_schema": json_schema}}
    if provider == "anthropic":
        tool = {"name": NAME, "description": TOOL_DESCRIPTION, "input_schema": schema}
        return {"tools": [tool], "tool_choice": {"type": "tool", "name": NAME}}
    raise ValueError(f"structured output is offered for {', '.join(PROVIDERS)} only")


def _field(text: str, name: str) -> Any:
    try:
        data = json.loads(text)
    except ValueError:
        raise Unparsed("the answer is not JSON") from None
    if not isinstance(data, dict) or name not in data:
        raise Unparsed(f"the JSON has no {name!r}")
    return data[name]


def read(parser: str, text: str, *, n_steps: int, labels: list) -> Any:
    """The verdict of a structured answer, in the text parser's terms; Unparsed otherwise."""
    if parser == "mtbench-pair":
        verdict = _field(text, "verdict")
        if verdict not in ("A", "B", "C"):
            raise Unparsed(f"verdict {verdict!r} is not A, B or C")
        return verdict
    if parser == "rating":
        rating = _field(text, "rating")
        if isinstance(rating, bool) or not isinstance(rating, int | float):
            raise Unparsed("rating is not a number")
        return float(rating)
    if parser == "boxed-index":
        index = _field(text, "earliest_error")
        if isinstance(index, bool) or not isinstance(index, int) or not -1 <= index < n_steps:
            raise Unparsed(f"earliest_error {index!r} is not -1 or a step index")
        return index
    steps = _field(text, "steps")
    by_text = {str(label).lower(): label for label in labels}
    if not isinstance(steps, list) or len(steps) != n_steps:
        raise Unparsed(f"steps is not a list of {n_steps} labels")
    found = [by_text.get(str(step).lower()) for step in steps]
    if None in found:
        raise Unparsed("a step's label is not one of the criterion's labels")
    return found
