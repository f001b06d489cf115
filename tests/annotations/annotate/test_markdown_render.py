"""The item-text renderer: pandoc's tex_math_dollars rule on pandoc's own test suite examples
(test/testsuite.txt, "LaTeX"), the other delimiters, bare \\boxed, Markdown blocks, code
highlighting and sanitising."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.annotate.markdown import markdown_html, scan_math


def maths(text: str) -> list[str]:
    return [("d:" if m.display else "i:") + m.tex for m in scan_math(text)]


def rendered_maths(text: str) -> list[str]:
    spans = re.findall(r'<span class="math (\w)\w+">(.*?)</span>', markdown_html(text), re.S)
    return [f"{kind}:{tex}" for kind, tex in spans]


# ---- pandoc's testsuite.txt, "LaTeX" ----------------------------------------------------------


def test_it_reads_pandocs_maths_examples_as_maths():
    assert maths("$2+2=4$") == ["i:2+2=4"]
    assert maths(r"$x \in y$") == [r"i:x \in y"]
    assert maths(r"$\alpha \wedge \omega$") == [r"i:\alpha \wedge \omega"]
    assert maths("$223$") == ["i:223"]
    assert maths("$p$-Tree") == ["i:p"]
    display = r"Here's some display math: $$\frac{d}{dx}f(x)=\lim_{h\to 0}\frac{f(x+h)-f(x)}{h}$$"
    assert maths(display) == [r"d:\frac{d}{dx}f(x)=\lim_{h\to 0}\frac{f(x+h)-f(x)}{h}"]
    broken = "Here's one that has a line break in it: $\\alpha + \\omega \\times\nx^2$."
    assert maths(broken) == [r"i:\alpha + \omega \times x^2"]


def test_it_keeps_pandocs_non_maths_examples_as_text():
    money = '$22,000 is a *lot* of money.  So is $34,000.\n(It worked if "lot" is emphasized.)'
    assert maths(money) == []
    assert "<em>lot</em>" in markdown_html(money)
    assert maths("Shoes ($20) and socks ($5).") == []
    escaped = r"Escaped `$`:  $73 *this should be emphasized* 23\$."
    html = markdown_html(escaped)
    assert "math" not in html and "<em>this should be emphasized</em>" in html
    assert "<code>$</code>" in html and "23$." in html
    code = markdown_html("To get the famous equation, write `$e = mc^2$`.")
    assert "<code>$e = mc^2$</code>" in code and "math" not in code


def test_it_applies_each_part_of_the_dollar_rule():
    assert maths("$ x$") == []  # a space after the opening $
    assert maths("$x $") == []  # a space before the closing $
    assert maths("$x$5") == []  # a digit after the closing $
    assert maths("$x$ 5") == ["i:x"]
    assert maths("$a\n\nb$") == []  # no blank line inside
    assert maths(r"$a \$ b$") == [r"i:a \$ b"]  # an escaped dollar does not close
    assert maths(r"\$5 and $x$") == ["i:x"]
    assert maths("cost $6.00 each and bowls each cost $5.00") == []


def test_it_keeps_the_backslash_delimiters_and_double_dollars():
    assert maths(r"\(a*b*c\) and \[x_1 + y_2\]") == ["i:a*b*c", "d:x_1 + y_2"]
    assert maths("$$\n a \n$$") == ["d:a"]
    assert maths("$$a\n\nb$$") == []
    assert rendered_maths(r"\(a*b*c\) and $x_1 + y_2$") == ["i:a*b*c", "i:x_1 + y_2"]


def test_it_renders_a_bare_boxed_as_maths_with_nested_braces():
    assert maths(r"So the answer is \boxed{\frac{1}{2}}.") == [r"i:\boxed{\frac{1}{2}}"]
    assert maths(r"unbalanced \boxed{9 and more") == []
    assert maths(r"$\boxed{9}$") == [r"i:\boxed{9}"]  # inside $...$ it is that span's TeX


def test_it_escapes_tex_in_the_maths_span():
    html = markdown_html("$a<b & c>d$")
    assert '<span class="math inline">a&lt;b &amp; c&gt;d</span>' in html


def test_it_renders_markdown_lists_tables_and_highlighted_code():
    text = (
        "1. first\n2. second\n\n| a | b |\n|---|---|\n| $x$ | 2 |\n\n"
        "```python\ndef f(x):\n    return '$a$'\n```\n"
    )
    html = markdown_html(text)
    assert (
        "<ol>" in html
        and "<table>" in html
        and '<td><span class="math inline">x</span></td>' in html
    )
    assert '<div class="highlight"><pre>' in html and '<span class="k">def</span>' in html
    assert "$a$" in html  # maths is not looked for inside code


def test_it_escapes_raw_html_and_drops_unsafe_links():
    html = markdown_html("<script>alert(1)</script> [x](javascript:alert(1)) ![i](data:x)")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="#"' in html and 'src="#"' in html and "javascript:" not in html


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("$\\()[]{}`*_<>& \n\taxb1boxed|-#")), max_size=80))
def test_it_renders_any_text_without_raw_html_or_errors(text):
    html = markdown_html(text)
    assert "<script" not in html.lower()
    tags = set(re.findall(r"</?([a-z0-9]+)", html))
    assert tags <= {"p", "span", "code", "pre", "div", "em", "strong", "ol", "ul", "li", "h1",
                    "h2", "h3", "h4", "h5", "h6", "hr", "br", "table", "thead", "tbody", "tr",
                    "th", "td", "blockquote", "a", "img"}  # fmt: skip
    for found in scan_math(text):
        assert 0 <= found.start < found.end <= len(text)
