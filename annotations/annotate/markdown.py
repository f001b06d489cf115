"""Project guidelines: Markdown to HTML with raw HTML escaped and unsafe link schemes dropped."""

from urllib.parse import urlparse
from xml.etree.ElementTree import Element

import markdown
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

SAFE_SCHEMES = {"", "http", "https", "mailto"}


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
        # Keep \( \) \[ \] for KaTeX instead of reading them as escaped brackets.
        md.ESCAPED_CHARS = [c for c in md.ESCAPED_CHARS if c not in "()[]"]
        md.treeprocessors.register(_DropUnsafeLinks(md), "drop_unsafe_links", 0)


def guidelines_html(text: str) -> SafeString:
    html = markdown.markdown(text or "", extensions=[_Sanitise(), "tables", "sane_lists"])
    return mark_safe(html)  # noqa: S308 - raw HTML is escaped by _Sanitise above
