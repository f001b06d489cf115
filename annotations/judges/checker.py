"""The answer checker: an outcome-only judge that compares a solution's final answer with a
reference answer, LaTeX-aware, offline (math-verify: parse both to SymPy, then compare).

`final_answer` takes the solution's last `\\boxed{...}`; `check_answer` says whether it is
equivalent to the reference (`\\frac{1}{2}` and `0.5`, `3.0` and `3`, `\\{1,2\\}` and
`\\{2,1\\}`, `[0,1)` written either way), or None when there is nothing to compare.

Time limit. math-verify can spend minutes on a pathological expression, so every check has a
deadline (`timeout_seconds`). math-verify's own timeouts (`parse(parsing_timeout=...)`,
`verify(timeout_seconds=...)`) use `signal.alarm`, which only works in the main thread: in a
web server's request thread or a Celery thread pool they raise ValueError. They are turned off
here, and the checker sets the deadline itself:
- in the main thread (a Celery prefork worker runs its tasks there; so do scripts and
  gunicorn's sync workers), with a SIGALRM timer around the whole check, restoring any timer
  and handler that was there before;
- in any other thread, by running the check in a forked child process, where it is the main
  thread and the same timer applies; the parent waits a little longer and kills the child if
  it is still running. A fork costs a few milliseconds and copies the already imported SymPy.

A check that runs out of time has `passed` None and says so in `reason`.
"""

import logging
import multiprocessing
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from annotations.judges.parsers import final_answer

DEFAULT_TIMEOUT_SECONDS = 5.0
# Exit codes of the child process that runs a check off the main thread.
_NOT_EQUIVALENT, _EQUIVALENT, _TIMED_OUT = 10, 11, 12


@dataclass(frozen=True)
class CheckResult:
    passed: bool | None  # None: no final answer found, no reference, or out of time
    answer: str  # the final answer extracted from the solution ("" if none)
    reference: str
    reason: str  # "equivalent", "not equivalent", or why there was nothing to compare

    def as_answer(self) -> str:
        """The result as a judge's raw answer (stored like a model's; `passed_from` reads it)."""
        passed = "unknown" if self.passed is None else str(self.passed).lower()
        return (
            f"passed: {passed}\nanswer: {self.answer}\nreference: {self.reference}\n"
            f"reason: {self.reason}"
        )


def passed_from(answer: str) -> bool | None:
    """What `CheckResult.as_answer` said: passed, failed, or None (nothing was compared)."""
    first = answer.split("\n", 1)[0]
    return {"passed: true": True, "passed: false": False}.get(first)


def check_answer(
    *, solution_text: str, reference: str, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> CheckResult:
    """Whether the solution's final answer (`final_answer`) is equivalent to `reference`.

    `reference` may be a bare answer (`\\frac{1}{2}`) or itself contain a `\\boxed{}`, whose
    content is then the reference. `passed` is None, with the reason, when the reference is
    blank, the solution has no boxed answer, or the comparison ran out of time.
    """
    answer = final_answer(solution_text)
    reference = final_answer(reference) or reference.strip()
    if not reference:
        return CheckResult(None, answer, reference, "no reference answer")
    if not answer:
        return CheckResult(None, answer, reference, "no \\boxed{} answer in the solution")
    if threading.current_thread() is threading.main_thread():
        outcome = _outcome(answer, reference, timeout_seconds)
    else:
        outcome = _outcome_in_child(answer, reference, timeout_seconds)
    if outcome == _TIMED_OUT:
        reason = f"timed out after {timeout_seconds:g} s"
        return CheckResult(None, answer, reference, reason)
    passed = outcome == _EQUIVALENT
    return CheckResult(passed, answer, reference, "equivalent" if passed else "not equivalent")


class _OutOfTime(BaseException):
    """Raised by the timer. Not an Exception: math-verify catches and hides those."""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        raise _OutOfTime

    previous_handler = signal.signal(signal.SIGALRM, stop)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_timer[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, *previous_timer)


def _outcome(answer: str, reference: str, timeout_seconds: float) -> int:
    """_EQUIVALENT, _NOT_EQUIVALENT or _TIMED_OUT; only in the main thread (SIGALRM)."""
    # Imported here: SymPy takes about half a second to import, and the importers use
    # final_answer (parsers) without ever comparing, as do most web requests.
    from math_verify import parse, verify

    _quiet_math_verify()
    try:
        with _deadline(timeout_seconds):
            gold = parse(f"${reference}$", parsing_timeout=None)
            target = parse(f"${answer}$", parsing_timeout=None)
            equivalent = verify(gold, target, timeout_seconds=None)
    except _OutOfTime:
        return _TIMED_OUT
    return _EQUIVALENT if equivalent else _NOT_EQUIVALENT


def _outcome_in_child(answer: str, reference: str, timeout_seconds: float) -> int:
    """_outcome in a forked child process, for callers outside the main thread."""
    child = multiprocessing.get_context("fork").Process(
        target=_child, args=(answer, reference, timeout_seconds), daemon=True
    )
    child.start()
    # The child stops itself at the deadline; the margin covers the fork and its exit.
    child.join(timeout_seconds + 2)
    if child.exitcode is None:
        child.kill()
        child.join()
        return _TIMED_OUT
    if child.exitcode not in (_EQUIVALENT, _NOT_EQUIVALENT, _TIMED_OUT):
        raise RuntimeError(f"the answer check's child process failed (exit {child.exitcode})")
    return child.exitcode


def _child(answer: str, reference: str, timeout_seconds: float) -> None:
    sys.exit(_outcome(answer, reference, timeout_seconds))


class _NoTimeoutWarning(logging.Filter):
    """Drops math-verify's "Timeout is disabled" warning: the deadline is set here instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Timeout is disabled")


def _quiet_math_verify() -> None:
    for name in ("math_verify.parser", "math_verify.grader"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoTimeoutWarning) for f in logger.filters):
            logger.addFilter(_NoTimeoutWarning())
