"""Fake LLM servers as fixtures, and SDK retry waits short enough for tests."""

from collections.abc import Iterator

import anthropic._base_client
import openai._base_client
import pytest

from tests.annotations.judges.fakes import FakeServer, fake_server


@pytest.fixture
def openai_server() -> Iterator[FakeServer]:
    with fake_server("openai") as server:
        yield server


@pytest.fixture
def anthropic_server() -> Iterator[FakeServer]:
    with fake_server("anthropic") as server:
        yield server


@pytest.fixture(autouse=True)
def short_sdk_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the SDKs' exponential backoff 10 ms instead of 0.5 s, 1 s, 2 s, ...

    Neither SDK has a client option for it. Both compute the wait in `_calculate_retry_timeout`
    from the module global `INITIAL_RETRY_DELAY` of their `_base_client`, read at call time, so
    patching it there takes effect (and fails loudly, not silently, if an SDK renames it).
    `Retry-After: 0` would not help: both SDKs treat 0 as "no advice" and back off anyway.
    A positive `Retry-After` is still honoured, which one test checks.
    """
    monkeypatch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.01)
    monkeypatch.setattr(anthropic._base_client, "INITIAL_RETRY_DELAY", 0.01)
