"""`{{ text|markdown }}`: an item's text (prompt, answer, step) as sanitised Markdown with its
maths marked for KaTeX, the same on the annotator's and the lead's pages."""

from django import template
from django.utils.safestring import SafeString

from annotations.annotate.markdown import markdown_html

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str | None) -> SafeString:
    return markdown_html(text)
