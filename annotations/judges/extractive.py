"""Extractive fragment density: how much of a summary is copied from its source, as a score.

Grusky, Naaman and Artzi 2018, "Newsroom: A Dataset of 1.3 Million Summaries with Diverse
Extractive Strategies" (NAACL), section 4.1 and Algorithm 1: the extractive fragments of a
summary are the greedy, non-overlapping longest shared token sequences between the summary and
its article; coverage is the share of summary tokens inside a fragment, density the mean
squared fragment length per summary token (a summary copied in long runs scores high).

A summary that copies its article rarely states a fact the article lacks, so density is a
reference-free, offline score of factual consistency: a weak one, but a real one, and the demo's
score judge on SummEval (there are no reward-model scores in the public data sets it ships).

Written by hand: the algorithm is a dozen lines in the paper, and its reference implementation
(lil-lab/newsroom, `newsroom.analyze.Fragments`) is not on PyPI and pulls in spaCy for its
tokeniser. Here tokens are lower-cased words and single punctuation marks, so the values differ
slightly from the paper's spaCy-based ones.
"""

import re
from collections import defaultdict
from collections.abc import Sequence

TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def fragments(article: Sequence[str], summary: Sequence[str]) -> list[int]:
    """The lengths of the summary's extractive fragments, in summary order (Algorithm 1)."""
    where = defaultdict(list)
    for j, token in enumerate(article):
        where[token].append(j)
    found, i = [], 0
    while i < len(summary):
        best = resume = 0
        for j in where.get(summary[i], ()):
            if j < resume:  # the paper's scan goes on after the end of the last match
                continue
            n = 0
            while (
                i + n < len(summary) and j + n < len(article) and summary[i + n] == article[j + n]
            ):
                n += 1
            best, resume = max(best, n), j + n
        if best:
            found.append(best)
        i += max(best, 1)
    return found


def coverage(article: str, summary: str) -> float:
    """Share of summary tokens inside an extractive fragment, 0..1 (0 for an empty summary)."""
    words = tokens(summary)
    return sum(fragments(tokens(article), words)) / len(words) if words else 0.0


def density(article: str, summary: str) -> float:
    """Mean squared fragment length per summary token (0 for an empty summary)."""
    words = tokens(summary)
    return sum(n * n for n in fragments(tokens(article), words)) / len(words) if words else 0.0
