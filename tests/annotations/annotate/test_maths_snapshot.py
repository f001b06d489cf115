"""Which parts of the demo's real texts are maths: a snapshot over every ProcessBench and
MT-bench item (prompts, steps, answers, turn-1 answers, reference answers), rendered by the
item pages' Markdown pipeline.

The snapshot lists, for each distinct text holding any maths, the maths spans in order
(`i:` inline, `d:` display, then the TeX). A text missing from it renders no maths at all, so
a change that turns text into maths (or maths into text) anywhere fails here, naming the text.
Regenerate it after a deliberate change, then read the diff:

    UPDATE_MATHS_SNAPSHOT=1 .venv/bin/python -m pytest \
        tests/annotations/annotate/test_maths_snapshot.py
"""

import html
import json
import os
import re
from functools import cache
from pathlib import Path

from annotations.annotate.markdown import markdown_html
from annotations.importers.records import ItemRecord
from annotations.management.commands.load_demo import DEMO_DATA, PROJECTS

SNAPSHOT = Path(__file__).with_name("maths_snapshot.json")
MATH_SPAN = re.compile(r'<span class="math (inline|display)">(.*?)</span>', re.S)


def _texts(record: ItemRecord) -> dict[str, str]:
    fields = {
        "prompt": record.prompt,
        "response": record.response,
        "response_a": record.response_a,
        "response_b": record.response_b,
        "reference_answer": record.reference_answer,
        "turn1_answer_a": (record.meta or {}).get("turn1_answer_a"),
        "turn1_answer_b": (record.meta or {}).get("turn1_answer_b"),
    }
    fields |= {f"step {i}": text for i, text in enumerate(record.steps)}
    return {name: text for name, text in fields.items() if text}


@cache
def demo_texts() -> dict[str, str]:
    """Every distinct text of the two demo projects, keyed by where it first appears."""
    seen: dict[str, str] = {}
    keyed: dict[str, str] = {}
    for demo in PROJECTS:
        if demo.name not in ("ProcessBench", "MT-bench"):
            continue
        for record in demo.parse([DEMO_DATA / f for f in demo.files]):
            if not isinstance(record, ItemRecord):
                continue
            for name, text in _texts(record).items():
                if text not in seen:
                    seen[text] = f"{demo.name} {record.external_id} {name}"
                    keyed[seen[text]] = text
    return keyed


def maths_of(text: str) -> list[str]:
    spans = MATH_SPAN.findall(markdown_html(text))
    return [f"{kind[0]}:{html.unescape(tex)}" for kind, tex in spans]


def current() -> dict[str, list[str]]:
    return {key: m for key, text in demo_texts().items() if (m := maths_of(text))}


def test_it_renders_the_same_maths_as_the_snapshot_on_every_demo_text():
    found = current()
    if os.environ.get("UPDATE_MATHS_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(found, indent=0, sort_keys=True, ensure_ascii=False) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    changed = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
    assert not changed, f"{len(changed)} texts render other maths than the snapshot: {changed[:10]}"


def test_it_covers_every_processbench_and_mtbench_item():
    keys = demo_texts().keys()
    assert sum(k.startswith("ProcessBench ") for k in keys) > 3000  # 400 solutions' steps
    # (A turn-2 pair's turn-1 answers are the texts of the turn-1 pairs' answers: seen there.)
    assert {k.split()[-1] for k in keys if k.startswith("MT-bench ")} >= {
        "prompt", "response_a", "response_b", "reference_answer",
    }  # fmt: skip


def _text_containing(fragment: str) -> str:
    return next(t for t in demo_texts().values() if fragment in t)


def test_it_keeps_dollar_amounts_as_text():
    text = _text_containing("$6.00 each and bowls each cost $5.00")
    rendered = markdown_html(text)
    assert "$6.00 each and bowls each cost $5.00" in rendered
    assert "math" not in rendered


def test_it_renders_a_bare_boxed_answer_as_maths():
    """The issue: `\\boxed{9}` outside any delimiter stayed raw text (41 items)."""
    bare = {
        key.split()[1]: text
        for key, text in demo_texts().items()
        if "\\boxed{" in text and not re.search(r"\$|\\\(|\\\[", text)
    }
    assert len(bare) >= 40
    for text in bare.values():
        rendered = markdown_html(text)
        assert '<span class="math inline">\\boxed{' in rendered
        assert "\\boxed" not in MATH_SPAN.sub("", rendered)  # no \\boxed left as text


def _reads_words_as_maths(tex: str) -> bool:
    """Maths made of running English ("6.00 each and bowls each cost "), the old misreading."""
    return "\\" not in tex and re.search(r"[a-z]{3,} [a-z]{3,} [a-z]{3,}", tex) is not None


def test_it_keeps_the_gsm8k_dollar_amounts_as_text():
    """The issue: 30 of the demo's 100 GSM8K items hold `$<digit>` and rendered as maths."""
    dollars = {
        key: text
        for key, text in demo_texts().items()
        if key.startswith("ProcessBench gsm8k") and re.search(r"\$\d", text)
    }
    assert len({key.split()[1] for key in dollars}) == 30
    # Pairing each `$` with the next, as the old client-side rule did, reads words as maths...
    old = [
        k
        for k, t in dollars.items()
        if any(map(_reads_words_as_maths, re.findall(r"\$([^$]+)\$", t)))
    ]
    assert len(old) >= 20
    # ... pandoc's rule never does, on any demo text.
    assert [
        k for k, t in demo_texts().items() if any(_reads_words_as_maths(m) for m in maths_of(t))
    ] == []
