"""Extractive fragment coverage and density (Grusky et al. 2018), the demo's score judge."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.judges.extractive import coverage, density, fragments, tokens


def w(text: str) -> list[str]:
    return text.split()


def test_it_finds_the_longest_shared_run_at_each_summary_position():
    article = w("a b c d a b c")
    assert fragments(article, w("a b c d x b c")) == [4, 2]
    assert fragments(article, w("x y")) == []


def test_it_scores_a_summary_with_a_new_word_by_hand():
    # fragments "the cat sat on" (4) and "mat" (1); "a" is not in the article
    assert coverage("The cat sat on the mat.", "the cat sat on a mat") == pytest.approx(5 / 6)
    assert density("The cat sat on the mat.", "the cat sat on a mat") == pytest.approx(17 / 6)


def test_it_continues_the_scan_after_a_match_as_the_paper_does():
    # Algorithm 1 resumes the article scan at the end of a match (j <- j'), so the longer
    # "a a b" starting inside the first match "a a" is never tried: fragments 2 and 1.
    assert fragments(w("a a a b"), w("a a b")) == [2, 1]
    assert fragments(w("a a x a a b"), w("a a b")) == [3]


def test_it_gives_zero_for_an_empty_summary():
    assert coverage("an article", "") == density("an article", "") == 0.0


words = st.lists(st.sampled_from(w("a b c d e f")), max_size=30)


@given(article=words, summary=words)
def test_it_keeps_coverage_in_range_and_density_above_it(article, summary):
    found = fragments(article, summary)
    assert sum(found) <= len(summary) and all(n >= 1 for n in found)
    a, s = " ".join(article), " ".join(summary)
    assert 0.0 <= coverage(a, s) <= 1.0
    assert density(a, s) >= coverage(a, s)
    if summary:
        assert fragments(summary, summary) == [len(summary)]  # a copy is one fragment


def test_it_tokenises_words_and_single_punctuation_lowercased():
    assert tokens("Hello, World!") == ["hello", ",", "world", "!"]
