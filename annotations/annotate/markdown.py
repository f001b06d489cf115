"""Markdown to sanitised HTML, with TeX maths marked for KaTeX: the one renderer of item texts
(prompts, answers, steps, reference answers, rationales on the review pages) and guidelines.

- Raw HTML in the source is escaped and links or images with an unsafe scheme (``javascript:``,
  ``data:``, ...) point nowhere.
- Fenced code blocks are highlighted by Pygments on the server (CSS classes, no inline styles);
  tables and lists follow Python-Markdown with its ``tables`` and ``sane_lists`` extensions;
  a single newline is a line break (``nl2br``).
- Maths is found here, not by scanning delimiters in the browser: ``$...$`` by pandoc's
  ``tex_math_dollars`` rule (see `scan_math`), ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``, and a
  bare ``\\boxed{...}`` outside any delimiter. Each becomes ``<span class="math inline">`` or
  ``<span class="math display">`` holding the TeX as escaped text; the page's script hands
  exactly those elements to ``katex.render``. Without the script the TeX shows as written.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlparse
from xml.etree.ElementTree import Element

import markdown
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

SAFE_SCHEMES = {"", "http", "https", "mailto"}


# ---- maths: pandoc's rule ---------------------------------------------------------------------
#
# Hand-written because no maintained Python-Markdown extension implements pandoc's rule: the
# common ones (pymdownx.arithmatex, mdit's dollarmath) read "$6.00 each and ... cost $5.00" as
# maths or use a different digit rule. This follows pandoc's `mathInlineWith` and
# `mathDisplayWith` (Text.Pandoc.Parsing.Math) step by step.


@dataclass(frozen=True)
class Math:
    """One maths span found in a text: its TeX (no delimiters) and where it lies."""

    tex: str
    display: bool
    start: int  # index of the opening delimiter
    end: int  # index just after the closing delimiter


def _blank_line_at(text: str, i: int) -> bool:
    """Whether text[i:] starts with a line of only spaces/tabs (ended by a newline or the end)."""
    j = i
    while j < len(text) and text[j] in " \t":
        j += 1
    return j == len(text) or text[j] == "\n"


def _inline(text: str, start: int, opener: str, closer: str) -> Math | None:
    """pandoc's mathInlineWith: an opening `$` is not followed by a space; the body has no blank
    line; whitespace may not come right before the closer; the closer is not followed by a
    digit. A backslash escapes the next character (so `\\$` does not close)."""
    i = start + len(opener)
    if opener == "$" and (i >= len(text) or text[i].isspace()):
        return None
    body: list[str] = []
    while i < len(text):
        if body and text.startswith(closer, i):
            end = i + len(closer)
            if end < len(text) and text[end].isdigit():
                return None  # "$5 and $6": the closer must not run into a number
            return Math("".join(body).strip(), False, start, end)
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                return None
            body.append(text[i : i + 2])
            i += 2
        elif c.isspace():
            j = i + 1 if c not in " \t\n" else i  # another space character stands alone
            while j < len(text) and text[j] in " \t":
                j += 1
            if j < len(text) and text[j] == "\n":
                j += 1
                if _blank_line_at(text, j):
                    return None  # a blank line ends the paragraph, and the maths with it
                while j < len(text) and text[j] in " \t":
                    j += 1
            if j < len(text) and text[j] == "$":
                return None  # a closing `$` right after whitespace is not a closer
            body.append(" ")
            i = j
        else:
            body.append(c)
            i += 1
    return None


def _display(text: str, start: int, opener: str, closer: str) -> Math | None:
    """pandoc's mathDisplayWith: anything up to the closer, but no blank line."""
    i = start + len(opener)
    end = text.find(closer, i + 1)
    if end == -1 or re.search(r"\n[ \t]*\n", text[i:end]):
        return None
    return Math(text[i:end].strip(), True, start, end + len(closer))


def _balanced(text: str, open_brace: int) -> int | None:
    """Index just after the brace matching the one at `open_brace`; None when unbalanced."""
    depth = 0
    i = open_brace
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == "\n" and _blank_line_at(text, i + 1):
            return None
        i += 1
    return None


def math_at(text: str, i: int) -> Math | None:
    """The maths span that starts at text[i], if one does (pandoc's order: display first)."""
    if text.startswith("$$", i):
        return _display(text, i, "$$", "$$") or _inline(text, i, "$", "$")
    if text.startswith("$", i):
        return _inline(text, i, "$", "$")
    if text.startswith("\\[", i):
        return _display(text, i, "\\[", "\\]")
    if text.startswith("\\(", i):
        return _inline(text, i, "\\(", "\\)")
    if text.startswith("\\boxed{", i):
        # Solutions often end with a bare \boxed{9}, written for a TeX renderer: render it.
        end = _balanced(text, i + len("\\boxed"))
        return None if end is None else Math(text[i:end], False, i, end)
    return None


def scan_math(text: str) -> list[Math]:
    """Every maths span of a plain text (no Markdown), left to right.

    A backslash outside maths escapes the next character: `\\$5` is a dollar sign."""
    found: list[Math] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in "$\\":
            math = math_at(text, i)
            if math is not None:
                found.append(math)
                i = math.end
                continue
            if c == "\\":
                i += 1  # skip the escaped character
        i += 1
    return found


# ---- Markdown ---------------------------------------------------------------------------------

# Backslash pairs as one match, so an escaped `\$` is skipped whole and never opens maths.
_MATH_START = r"\$|\\[\s\S]"


class _MathPattern(InlineProcessor):
    """Runs after code spans (so `$HOME` in code stays code) and before escapes and emphasis
    (so `*` and `_` inside maths stay TeX)."""

    def handleMatch(self, m: re.Match, data: str):  # noqa: N802 - Markdown's API
        math = math_at(data, m.start(0))
        if math is None:
            return None, None, None
        element = Element("span", {"class": "math display" if math.display else "math inline"})
        element.text = AtomicString(math.tex)  # escaped on output, never parsed again
        return element, math.start, math.end


class _DropUnsafeLinks(Treeprocessor):
    def run(self, root: Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                url = element.get(attribute)
                if url is not None and urlparse(url.strip()).scheme.lower() not in SAFE_SCHEMES:
                    element.set(attribute, "#")


class _Sanitise(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API
        # Without these two, raw HTML in the source passes through; with them it is text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # An unmatched \( or \[ stays as written; `\$` is a dollar sign, as in pandoc.
        md.ESCAPED_CHARS = [c for c in md.ESCAPED_CHARS if c not in "()[]"] + ["$"]
        md.inlinePatterns.register(_MathPattern(_MATH_START, md), "math", 185)
        md.treeprocessors.register(_DropUnsafeLinks(md), "drop_unsafe_links", 0)


_EXTENSIONS = [
    _Sanitise(),
    "tables",
    "sane_lists",
    # A single newline is a line break: answers and steps are written for chat windows, and
    # poems, addresses and "First, ...\nSecond, ..." steps keep their lines.
    "nl2br",
    "fenced_code",
    "codehilite",
]
_EXTENSION_CONFIGS = {
    # guess_lang off: an unlabelled block is plain text, not whatever Pygments guesses.
    "codehilite": {"guess_lang": False, "css_class": "highlight", "use_pygments": True},
}


@lru_cache(maxsize=256)  # at most ~25 MB for 50k-character answers
def _render(text: str) -> str:
    return markdown.markdown(text, extensions=_EXTENSIONS, extension_configs=_EXTENSION_CONFIGS)


def markdown_html(text: str | None) -> SafeString:
    """A text as sanitised HTML with its maths marked (see the module docstring).

    Cached by text: items are rendered again on every visit and answers repeat across pairs."""
    return mark_safe(_render(text or ""))  # noqa: S308 - raw HTML is escaped by _Sanitise


def guidelines_html(text: str) -> SafeString:
    return markdown_html(text)
