"""The provider clients against fake OpenAI and Anthropic servers, and the rate limiters."""

import json
import os
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import redis

from annotations.judges import structured
from annotations.judges.providers import (
    PLACEHOLDER_API_KEY,
    Client,
    ProviderError,
    ProviderSettings,
    client_for,
)
from annotations.judges.ratelimit import (
    REDIS_PREFIX,
    Limiter,
    LocalBuckets,
    RedisBuckets,
    limiter_for,
)
from tests.annotations.judges.fakes import FakeReply, FakeServer, replies

API_KEY = "sk-test-alice-0123456789abcdef"
SYSTEM = "You are a careful grader."
PROMPT = "Is 2 + 2 = 4? Answer yes or no."
REDIS_URL = "redis://127.0.0.1:6379/12"


@pytest.fixture(params=["openai", "anthropic"])
def server(request: pytest.FixtureRequest) -> FakeServer:
    return request.getfixturevalue(f"{request.param}_server")


def client_of(server: FakeServer, **overrides: object) -> Client:
    options: dict = {"model": "judge-model", "api_key": API_KEY, "timeout_s": 0.5}
    options |= {"max_retries": 2, **overrides}
    return client_for(
        ProviderSettings(provider=server.provider, base_url=server.base_url, **options)
    )


def sent_key(headers: dict[str, str]) -> str:
    # anthropic>=1.0 sends its key as a bearer token; older releases used x-api-key.
    return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")


def complete(client: Client, **parameters: object):
    return client.complete(system=SYSTEM, prompt=PROMPT, parameters=parameters)


def test_it_sends_the_system_and_prompt_as_chat_messages(openai_server: FakeServer) -> None:
    complete(client_of(openai_server), temperature=0.0, seed=7, stop=["\n"], max_tokens=5)

    (request,) = openai_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "judge-model"
    assert request.body["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": PROMPT},
    ]
    assert request.body["temperature"] == 0.0
    assert request.body["seed"] == 7
    assert request.body["stop"] == ["\n"]
    assert request.body["max_tokens"] == 5
    assert sent_key(request.headers) == API_KEY


def test_it_sends_the_system_and_prompt_as_a_message(anthropic_server: FakeServer) -> None:
    complete(client_of(anthropic_server), temperature=0.5, stop="END", top_p=0.9)

    (request,) = anthropic_server.requests
    assert request.path == "/v1/messages"
    assert request.body["model"] == "judge-model"
    assert request.body["system"] == SYSTEM
    assert request.body["messages"] == [{"role": "user", "content": PROMPT}]
    assert request.body["max_tokens"] == 1024
    assert request.body["stop_sequences"] == ["END"]
    assert request.body["temperature"] == 0.5
    assert request.body["top_p"] == 0.9
    assert sent_key(request.headers) == API_KEY


def test_it_passes_max_tokens_to_anthropic(anthropic_server: FakeServer) -> None:
    complete(client_of(anthropic_server), max_tokens=16)

    assert anthropic_server.requests[0].body["max_tokens"] == 16


def test_it_refuses_a_seed_for_anthropic(anthropic_server: FakeServer) -> None:
    with pytest.raises(ValueError, match="seed"):
        complete(client_of(anthropic_server), seed=1)

    assert anthropic_server.requests == []


def test_it_reads_an_anthropic_tool_call_as_the_json_of_its_input(
    anthropic_server: FakeServer,
) -> None:
    anthropic_server.use(replies(FakeReply(tool_input={"explanation": "fine", "verdict": "B"})))
    options = structured.request_options("anthropic", "mtbench-pair")

    completion = complete(client_of(anthropic_server), **options)

    assert json.loads(completion.text) == {"explanation": "fine", "verdict": "B"}
    body = anthropic_server.requests[0].body
    assert body["tools"] == options["tools"] and body["tool_choice"] == options["tool_choice"]


@pytest.mark.parametrize(
    ("provider", "parameter"), [("openai", "tools"), ("anthropic", "response_format")]
)
def test_each_provider_refuses_the_other_ones_structured_output(
    provider: str, parameter: str, request: pytest.FixtureRequest
) -> None:
    server = request.getfixturevalue(f"{provider}_server")
    with pytest.raises(ValueError, match=parameter):
        complete(client_of(server), **{parameter: {}})

    assert server.requests == []


def test_it_counts_usage_and_reports_the_served_model(server: FakeServer) -> None:
    server.use(replies(FakeReply(text="yes", tokens_in=42, tokens_out=3, model="served-v2")))

    completion = complete(client_of(server))

    assert completion.text == "yes"
    assert (completion.tokens_in, completion.tokens_out) == (42, 3)
    assert completion.model == "served-v2"
    assert completion.latency_ms >= 0


def test_it_counts_zero_tokens_when_the_server_reports_no_usage(server: FakeServer) -> None:
    server.use(replies(FakeReply(text="yes", usage=False)))

    completion = complete(client_of(server))

    assert (completion.text, completion.tokens_in, completion.tokens_out) == ("yes", 0, 0)


def test_it_retries_a_429_then_succeeds(server: FakeServer) -> None:
    limited = FakeReply(status=429, text="slow down", headers={"retry-after": "0"})
    server.use(replies(limited, FakeReply(text="yes")))

    completion = complete(client_of(server))

    assert completion.text == "yes"
    assert len(server.requests) == 2


def test_it_retries_a_500_then_succeeds(server: FakeServer) -> None:
    server.use(replies(FakeReply(status=500, text="boom"), FakeReply(text="yes")))

    assert complete(client_of(server)).text == "yes"
    assert len(server.requests) == 2


def test_it_waits_as_long_as_a_positive_retry_after_says(server: FakeServer) -> None:
    # The fixture made the SDK's own backoff 10 ms, so a gap of 0.5 s is the header's doing.
    limited = FakeReply(status=429, text="slow down", headers={"retry-after": "0.5"})
    server.use(replies(limited, FakeReply(text="yes")))

    complete(client_of(server))

    first, second = server.requests
    assert 0.45 <= second.received_at - first.received_at < 5


def test_it_retries_a_timeout_then_fails_as_transient(server: FakeServer) -> None:
    server.use(replies(FakeReply(text="late", delay_s=1.0)))

    with pytest.raises(ProviderError) as caught:
        complete(client_of(server, timeout_s=0.2, max_retries=2))

    assert caught.value.transient
    assert caught.value.status is None
    assert len(server.requests) == 3


def test_it_fails_as_transient_when_5xx_outlasts_the_retries(server: FakeServer) -> None:
    server.use(replies(FakeReply(status=503, text="overloaded")))

    with pytest.raises(ProviderError) as caught:
        complete(client_of(server, max_retries=1))

    assert (caught.value.status, caught.value.transient) == (503, True)
    assert caught.value.message == "overloaded"
    assert len(server.requests) == 2


def test_it_fails_at_once_on_a_400_with_the_servers_message(server: FakeServer) -> None:
    server.use(replies(FakeReply(status=400, text="temperature must be <= 2")))

    with pytest.raises(ProviderError) as caught:
        complete(client_of(server), temperature=5)

    assert caught.value.message == "temperature must be <= 2"
    assert "temperature must be <= 2" in str(caught.value)
    assert (caught.value.status, caught.value.transient) == (400, False)
    assert len(server.requests) == 1


def test_it_fails_at_once_on_a_401_without_revealing_the_key(server: FakeServer) -> None:
    server.use(replies(FakeReply(status=401, text=f"Incorrect API key provided: {API_KEY}.")))

    with pytest.raises(ProviderError) as caught:
        complete(client_of(server))

    error = caught.value
    assert (error.status, error.transient) == (401, False)
    assert error.message == "Incorrect API key provided: [redacted]."
    assert sent_key(server.requests[0].headers) == API_KEY
    traceback_text = "".join(traceback.format_exception(error))
    for shown in (str(error), repr(error), error.message, str(error.args), traceback_text):
        assert API_KEY not in shown
    assert len(server.requests) == 1


def test_it_keeps_the_key_out_of_the_settings_and_client_reprs(server: FakeServer) -> None:
    client = client_of(server)

    assert API_KEY not in repr(client)
    assert "api_key" not in repr(client.settings)


def test_it_refuses_an_unknown_parameter_before_any_request(server: FakeServer) -> None:
    with pytest.raises(ValueError, match="frequency_penalty"):
        complete(client_of(server), frequency_penalty=0.5)

    assert server.requests == []


def test_it_sends_a_placeholder_key_when_none_is_set(server: FakeServer) -> None:
    complete(client_of(server, api_key=""))

    assert sent_key(server.requests[0].headers) == PLACEHOLDER_API_KEY


def test_it_shares_one_sdk_client_per_configuration(openai_server: FakeServer) -> None:
    first, again = client_of(openai_server), client_of(openai_server, model="other-model")
    slower = client_of(openai_server, timeout_s=5.0)

    assert first.sdk is again.sdk
    assert first.sdk is not slower.sdk


def test_it_refuses_an_unknown_provider() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        client_for(ProviderSettings(provider="litellm", model="m"))


def test_it_answers_slow_requests_concurrently(server: FakeServer) -> None:
    server.use(replies(FakeReply(text="yes", delay_s=0.2)))
    client = client_of(server, timeout_s=5.0)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        texts = list(pool.map(lambda _: complete(client).text, range(64)))

    assert texts == ["yes"] * 64
    # Two waves of 0.2 s; one at a time would take 12.8 s.
    assert time.monotonic() - started < 4


# Rate limits ---------------------------------------------------------------------------------


@dataclass
class FakeClock:
    """Time that moves only when someone sleeps."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def local_limiter(clock: FakeClock, *, rpm: int, tpm: int) -> Limiter:
    buckets = LocalBuckets(clock=clock)
    return Limiter(key="openai|local|m", rpm=rpm, tpm=tpm, buckets=buckets, sleep=clock.sleep)


def acquired_at(limiter: Limiter, clock: FakeClock, tokens: list[int]) -> list[float]:
    times = []
    for n in tokens:
        limiter.acquire(n)
        times.append(round(clock.now, 6))
    return times


def test_it_spaces_requests_at_a_tiny_rpm() -> None:
    clock = FakeClock()
    limiter = local_limiter(clock, rpm=2, tpm=0)

    assert acquired_at(limiter, clock, [100, 100, 100]) == [0.0, 30.0, 60.0]


def test_it_paces_tokens_and_lets_a_large_request_through_into_debt() -> None:
    clock = FakeClock()
    limiter = local_limiter(clock, rpm=0, tpm=600)  # 10 tokens a second, 10 at most at once

    # The 25-token request waits for a full bucket, then its debt of 15 delays the next one.
    assert acquired_at(limiter, clock, [10, 10, 25, 1]) == [0.0, 1.0, 2.0, 3.6]


def test_it_obeys_the_tighter_of_both_limits() -> None:
    clock = FakeClock()
    limiter = local_limiter(clock, rpm=60, tpm=60_000)

    assert acquired_at(limiter, clock, [1, 1, 1]) == [0.0, 1.0, 2.0]


def test_it_never_waits_without_limits() -> None:
    clock = FakeClock()
    limiter = local_limiter(clock, rpm=0, tpm=0)

    acquired_at(limiter, clock, [10**6] * 100)

    assert clock.slept == []


def test_it_grants_one_request_to_many_threads_at_once() -> None:
    limiter = local_limiter(FakeClock(), rpm=60, tpm=0)  # a bucket of 1, and time stands still
    barrier = threading.Barrier(16)

    def attempt(_: int) -> float:
        barrier.wait()
        return limiter.try_acquire(0)

    with ThreadPoolExecutor(max_workers=16) as pool:
        waits = list(pool.map(attempt, range(16)))

    assert waits.count(0.0) == 1


def test_it_refuses_negative_limits() -> None:
    with pytest.raises(ValueError, match="rpm and tpm"):
        local_limiter(FakeClock(), rpm=-1, tpm=0)


@pytest.fixture
def redis_url(settings) -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError as err:
        reason = f"the Redis limiter needs Redis at 127.0.0.1:6379 ({err})"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(reason)  # as in tests/conftest.py: CI must not pass by skipping
        pytest.skip(reason)
    settings.CELERY_BROKER_URL = REDIS_URL
    return REDIS_URL


@pytest.fixture
def key() -> str:
    return f"test|{uuid.uuid4().hex}|model"


@pytest.fixture(params=["local", "redis"])
def store(request: pytest.FixtureRequest, settings, key: str):
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        yield "redis"
        redis.Redis.from_url(url).delete(REDIS_PREFIX + key)
    else:
        settings.CELERY_BROKER_URL = None
        yield "local"


def test_it_chooses_the_store_from_the_broker_url(settings) -> None:
    settings.CELERY_BROKER_URL = REDIS_URL
    assert isinstance(limiter_for(key="k", rpm=1, tpm=0).buckets, RedisBuckets)
    settings.CELERY_BROKER_URL = None
    assert isinstance(limiter_for(key="k", rpm=1, tpm=0).buckets, LocalBuckets)


def test_it_shares_the_request_budget_between_limiters(store: str, key: str) -> None:
    alice, bob = limiter_for(key=key, rpm=1, tpm=0), limiter_for(key=key, rpm=1, tpm=0)

    assert alice.try_acquire(0) == 0.0
    assert 50 < bob.try_acquire(0) <= 60  # the one request a minute is spent


def test_it_shares_the_token_budget_between_limiters(store: str, key: str) -> None:
    alice, bob = limiter_for(key=key, rpm=0, tpm=600), limiter_for(key=key, rpm=0, tpm=600)

    assert alice.try_acquire(10) == 0.0
    assert 0.5 < bob.try_acquire(10) <= 1.0  # 10 tokens come back in a second


def test_it_blocks_a_second_process_until_the_shared_budget_refills(
    redis_url: str, key: str
) -> None:
    # Two RedisBuckets with their own connections stand for two worker processes.
    alice = Limiter(key=key, rpm=120, tpm=0, buckets=RedisBuckets(redis.Redis.from_url(redis_url)))
    bob = Limiter(key=key, rpm=120, tpm=0, buckets=RedisBuckets(redis.Redis.from_url(redis_url)))
    try:
        alice.acquire(0)
        alice.acquire(0)  # a bucket of 2: one second of 120 a minute
        started = time.monotonic()
        bob.acquire(0)
        assert 0.3 < time.monotonic() - started < 3
    finally:
        redis.Redis.from_url(redis_url).delete(REDIS_PREFIX + key)
