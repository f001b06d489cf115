"""Prompt templates: the built-in ones of the papers, rendered in Jinja2's sandbox.

A template is a system text and a prompt text, both Jinja2, rendered by `SandboxedEnvironment`
(a lead edits them; the sandbox keeps a template from reaching Python internals) with
`StrictUndefined`, so a misspelt variable is an error at preview instead of an empty string in
a thousand prompts. The variables a template may use are the keys of `prompt_context`.
"""

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

PROMPTS = Path(__file__).resolve().parent / "prompts"


class TemplateProblem(ValueError):
    """A template that does not render: the message says where."""


@dataclass(frozen=True)
class BuiltIn:
    name: str
    description: str
    item_kind: str  # the kind of item it judges: pair, response (or solution), solution
    target: str  # the criterion target it fills: item or step
    parser: str  # parsers.PARSERS key
    system_text: str
    template_text: str
    asks_both_orders: bool = False


@cache
def _mtbench() -> dict[str, dict]:
    """FastChat's judge prompts by name, placeholders as Jinja2 variables."""
    prompts = {}
    for line in (PROMPTS / "mtbench_judge_prompts.jsonl").read_text().splitlines():
        entry = json.loads(line)
        for key in ("system_prompt", "prompt_template"):
            entry[key] = re.sub(r"\{(\w+)\}", r"{{ \1 }}", entry[key])
        prompts[entry["name"]] = entry
    return prompts


def _by_variant(key: str, names: dict[tuple[bool, bool], str]) -> str:
    """One Jinja2 text choosing the paper's variant: (second turn?, reference?) -> prompt."""
    p = _mtbench()
    return (
        "{% if turn == 2 and reference %}" + p[names[True, True]][key]
        + "{% elif turn == 2 %}" + p[names[True, False]][key]
        + "{% elif reference %}" + p[names[False, True]][key]
        + "{% else %}" + p[names[False, False]][key] + "{% endif %}"
    )  # fmt: skip


_PAIR = {
    (False, False): "pair-v2",
    (False, True): "pair-math-v1",
    (True, False): "pair-v2-multi-turn",
    (True, True): "pair-math-v1-multi-turn",
}
_SINGLE = {
    (False, False): "single-v1",
    (False, True): "single-math-v1",
    (True, False): "single-v1-multi-turn",
    (True, True): "single-math-v1-multi-turn",
}

PROCESSBENCH_CRITIC = """The following is a math problem and a solution (split into paragraphs, \
enclosed with tags and indexed from 0):

[Math Problem]

{{ question }}

[Solution]

{% for step in steps %}<paragraph_{{ loop.index0 }}>
{{ step }}
</paragraph_{{ loop.index0 }}>{% if not loop.last %}

{% endif %}{% endfor %}

Your task is to review and critique the solution paragraph by paragraph. Once you identify an \
error in a paragraph, return the index of the paragraph where the earliest error occurs. \
Otherwise, return the index of -1 (which typically denotes "not found").

Please put your final answer (i.e., the index) in \\boxed{}."""

STEP_VALIDITY = """The following is a problem and a step-by-step solution.

[Problem]
{{ question }}

[Solution]
{% for step in steps %}Step {{ loop.index }}: {{ step }}
{% endfor %}
Judge every step on its own: is it correct, and does it follow from the problem and the steps \
before it? Explain briefly, then end with one line per step, in order, in exactly this form:
[[Step 1: LABEL]]
where LABEL is one of: {{ labels | join(", ") }}."""


def _rubric_text() -> str:
    # The paper's single-answer prompts, with the criterion's scale in place of "1 to 10".
    return _by_variant("prompt_template", _SINGLE).replace(
        "on a scale of 1 to 10", "on a scale of {{ low }} to {{ high }}"
    )


@cache
def built_ins() -> dict[str, BuiltIn]:
    return {
        t.name: t
        for t in (
            BuiltIn(
                "mtbench-pair",
                "MT-bench pairwise judge (pair-v2; pair-math-v1 with a reference answer; "
                "the whole conversation on a second turn). Asks both orders.",
                "pair",
                "item",
                "mtbench-pair",
                _by_variant("system_prompt", _PAIR),
                _by_variant("prompt_template", _PAIR),
                asks_both_orders=True,
            ),
            BuiltIn(
                "rubric",
                "MT-bench single-answer grading on the criterion's scale, [[rating]].",
                "response",
                "item",
                "rating",
                _by_variant("system_prompt", _SINGLE),
                _rubric_text(),
            ),
            BuiltIn(
                "processbench-critic",
                "ProcessBench critic: the index of the earliest wrong paragraph in \\boxed{}.",
                "solution",
                "step",
                "boxed-index",
                "",
                PROCESSBENCH_CRITIC,
            ),
            BuiltIn(
                "step-validity",
                "PRM800K-style: one verdict per step, [[Step k: label]].",
                "solution",
                "step",
                "step-verdicts",
                "",
                STEP_VALIDITY,
            ),
            BuiltIn(
                "answer-check",
                "The final \\boxed{} answer checked against the reference with math-verify "
                "(no model, no network).",
                "solution",
                "item",
                "checker",
                "",
                "",
            ),
        )
    }


_environment = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


@lru_cache(maxsize=256)
def _compiled(text: str) -> Template:
    # Compiling is ~1-3 ms for the built-ins, rendering ~10 us: a run renders the same two
    # texts for every request. Compiled sandboxed templates keep no state between renders.
    return _environment.from_string(text)


def render(text: str, context: dict) -> str:
    """The template rendered with `context`; TemplateProblem naming the line if it fails."""
    try:
        return _compiled(text).render(**context)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise TemplateProblem(f"The template does not render{where}: {exc.message}") from None


def syntax_check(text: str) -> None:
    """TemplateProblem naming the line if the template is not valid Jinja2."""
    try:
        _environment.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Template syntax error (line {exc.lineno}): {exc.message}") from None
