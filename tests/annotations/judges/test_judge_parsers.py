"""Parsers of judge answers: the papers' formats, edge cases, and no guessing."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotations.judges import structured
from annotations.judges.parsers import (
    PARSERS,
    Unparsed,
    boxed_index,
    final_answer,
    pair_verdict,
    rating,
    step_verdicts,
)


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("A is more helpful. [[A]]", "A"),
        ("Final verdict: [[B]]", "B"),
        ("[[C]]", "C"),
        ("Not [[B]] but [[A]]", "A"),  # MT-bench checks A, then B, then C
        ("[[C]] ... [[B]]", "B"),
    ],
)
def test_it_reads_mtbench_pair_verdicts_in_the_papers_order(text, verdict):
    assert pair_verdict(text) == verdict


@pytest.mark.parametrize("text", ["[A]", "A is better", "[[a]]", "[[D]]", ""])
def test_it_refuses_a_pair_answer_without_a_verdict(text):
    with pytest.raises(Unparsed):
        pair_verdict(text)


@pytest.mark.parametrize(
    ("text", "score"),
    [("Rating: [[7]]", 7.0), ("[[8.5]] then [[2]]", 8.5), ("Rating: [6]", 6.0), ("[[10]]", 10.0)],
)
def test_it_reads_the_first_rating(text, score):
    assert rating(text) == score


def test_it_refuses_an_answer_without_a_rating():
    with pytest.raises(Unparsed, match="no \\[\\[rating\\]\\]"):
        rating("I would give it a seven.")


def test_it_reads_the_last_boxed_index_with_nested_braces():
    assert final_answer(r"\boxed{1} then \boxed{\frac{1}{2}}") == r"\frac{1}{2}"
    assert final_answer(r"\boxed{2") == ""
    assert boxed_index(r"paragraph_2 is wrong: \boxed{2}", n_steps=4) == 2
    assert boxed_index(r"all fine \boxed{ -1 }", n_steps=4) == -1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no box", "no \\\\boxed"),
        (r"\boxed{two}", "not a paragraph index"),
        (r"\boxed{4}", "out of range"),
        (r"\boxed{-2}", "out of range"),
    ],
)
def test_it_refuses_a_critic_answer_it_cannot_read(text, message):
    with pytest.raises(Unparsed, match=message):
        boxed_index(text, n_steps=4)


def test_it_reads_one_verdict_per_step_and_lets_a_correction_win():
    labels = ["correct", "incorrect"]
    text = "[[Step 1: correct]]\n[[Step 2: Incorrect]]\n[[Step 2: correct]]\n[[step 3: correct]]"
    assert step_verdicts(text, n_steps=3, labels=labels) == ["correct", "correct", "correct"]
    with pytest.raises(Unparsed, match="no verdict for step\\(s\\) 3"):
        step_verdicts("[[Step 1: correct]] [[Step 2: correct]]", n_steps=3, labels=labels)
    with pytest.raises(Unparsed, match="not one of the labels"):
        step_verdicts("[[Step 1: maybe]]", n_steps=1, labels=labels)


@given(text=st.text(max_size=300))
def test_a_parser_either_reads_a_verdict_or_says_unparsed(text):
    for parser in PARSERS.values():
        with contextlib.suppress(Unparsed):  # anything else raised fails the test
            parser.parse(text, n_steps=3, labels=["correct", "incorrect"])


@pytest.mark.parametrize(
    ("parser", "text", "verdict"),
    [
        ("rating", '{"explanation": "", "rating": 7}', 7.0),
        ("boxed-index", '{"explanation": "", "earliest_error": -1}', -1),
        ("step-verdicts", '{"explanation": "", "steps": ["Correct", "incorrect"]}',
         ["correct", "incorrect"]),
    ],
)  # fmt: skip
def test_it_reads_structured_verdicts(parser, text, verdict):
    assert structured.read(parser, text, n_steps=2, labels=["correct", "incorrect"]) == verdict


@pytest.mark.parametrize(
    ("parser", "text"),
    [
        ("rating", '{"explanation": "", "rating": true}'),
        ("rating", "Rating: [[7]]"),
        ("boxed-index", '{"explanation": "", "earliest_error": 2}'),
        ("step-verdicts", '{"explanation": "", "steps": ["correct"]}'),
        ("step-verdicts", '{"explanation": "", "steps": ["correct", "maybe"]}'),
        ("mtbench-pair", '["A"]'),
    ],
)
def test_it_refuses_structured_answers_that_do_not_match(parser, text):
    with pytest.raises(Unparsed):
        structured.read(parser, text, n_steps=2, labels=["correct", "incorrect"])
