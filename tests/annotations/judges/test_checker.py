"""The answer checker: final-answer extraction and math-verify's equivalence, with a deadline
that works in the main thread and in any other thread."""

import signal
import threading
import time

import math_verify
import pytest

from annotations.judges.checker import CheckResult, check_answer, final_answer


def _check(answer: str, reference: str) -> CheckResult:
    return check_answer(
        solution_text=f"So the answer is $\\boxed{{{answer}}}$.", reference=reference
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is $\\boxed{42}$.", "42"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{\\left\\{ \\frac{a}{b} \\right\\}}", "\\left\\{ \\frac{a}{b} \\right\\}"),
        ("first \\boxed{1}, then \\boxed{2}", "2"),
        ("\\boxed{3} and a broken \\boxed{4", "3"),
        ("\\boxed {x = 5}", "x = 5"),
        ("\\boxed 7", ""),
        ("The answer is 7.", ""),
        ("", ""),
    ],
)
def test_it_takes_the_last_balanced_boxed_answer(text, expected):
    assert final_answer(text) == expected


@pytest.mark.parametrize(
    ("answer", "reference"),
    [
        ("\\frac{1}{2}", "0.5"),
        ("3.0", "3"),
        ("\\dfrac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}{2}"),
        ("\\{1, 2\\}", "\\{2, 1\\}"),
        ("[0, 1)", "[0,1)"),
        ("(-\\infty, 2)", "x < 2"),
        ("5\\text{ cm}", "5"),
        ("90^\\circ", "90"),
        ("\\text{Monday}", "\\text{Monday}"),
        ("1,000", "1000"),
    ],
)
def test_it_passes_an_equivalent_answer(answer, reference):
    result = _check(answer, reference)
    assert result == CheckResult(True, answer, reference, "equivalent")


@pytest.mark.parametrize(
    ("answer", "reference"),
    [("7", "8"), ("(0, 1]", "[0, 1)"), ("\\{1, 2\\}", "\\{1, 3\\}"), ("\\frac{1}{3}", "0.5")],
)
def test_it_fails_a_wrong_answer(answer, reference):
    result = _check(answer, reference)
    assert (result.passed, result.reason) == (False, "not equivalent")


def test_it_reads_a_boxed_reference():
    assert _check("\\frac{1}{2}", "so \\boxed{0.5}").passed is True


def test_it_has_no_verdict_without_a_boxed_answer_or_a_reference():
    no_answer = check_answer(solution_text="The answer is 0.5.", reference="\\frac12")
    assert no_answer == CheckResult(None, "", "\\frac12", "no \\boxed{} answer in the solution")
    no_reference = check_answer(solution_text="\\boxed{1}", reference="  ")
    assert no_reference == CheckResult(None, "1", "", "no reference answer")


def _hang(*args, **kwargs):
    time.sleep(30)


def test_it_gives_up_at_the_deadline(monkeypatch):
    monkeypatch.setattr(math_verify, "verify", _hang)
    started = time.monotonic()
    result = check_answer(solution_text="\\boxed{1}", reference="1", timeout_seconds=0.3)
    assert result == CheckResult(None, "1", "1", "timed out after 0.3 s")
    assert time.monotonic() - started < 5


def _in_thread(**kwargs) -> CheckResult:
    results: list[CheckResult] = []
    thread = threading.Thread(target=lambda: results.append(check_answer(**kwargs)))
    thread.start()
    thread.join(30)
    return results[0]


def test_it_works_outside_the_main_thread_where_math_verify_timeouts_fail():
    # What a web request thread or a Celery thread pool would hit with math-verify's own timeout:
    errors: list[Exception] = []

    def parse_with_signal_timeout() -> None:
        try:
            math_verify.parse("$1$", parsing_timeout=5)
        except ValueError as exc:
            errors.append(exc)

    thread = threading.Thread(target=parse_with_signal_timeout)
    thread.start()
    thread.join()
    assert errors and "threaded environment" in str(errors[0])

    assert _in_thread(solution_text="\\boxed{\\frac{1}{2}}", reference="0.5").passed is True
    assert _in_thread(solution_text="\\boxed{7}", reference="8").passed is False


def test_it_gives_up_at_the_deadline_outside_the_main_thread(monkeypatch):
    monkeypatch.setattr(math_verify, "verify", _hang)
    result = _in_thread(solution_text="\\boxed{1}", reference="1", timeout_seconds=0.3)
    assert (result.passed, result.reason) == (None, "timed out after 0.3 s")


def test_it_leaves_an_outer_timer_and_handler_as_they_were():

    def outer(signum, frame):
        raise AssertionError("the outer timer fired")

    previous = signal.signal(signal.SIGALRM, outer)
    signal.setitimer(signal.ITIMER_REAL, 60)
    try:
        assert _check("1", "1").passed is True
        assert signal.getsignal(signal.SIGALRM) is outer
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
