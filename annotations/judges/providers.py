"""One small client layer over the official `openai` and `anthropic` SDKs.

`client_for(settings)` gives a `Client` whose `complete(system=..., prompt=...,
parameters=...)` returns a `Completion` or raises `ProviderError`. "openai" speaks chat
completions to anything OpenAI-compatible (OpenAI, vLLM, Ollama, llama.cpp server, TGI) through
`base_url`; "anthropic" speaks the messages API. A reply's text is what the model wrote, or,
when it answered with a tool call (structured output, see `structured`), the JSON text of the
call's input.

Retries are the SDKs' own (`max_retries`). Both SDKs (openai 3.57, anthropic 2.14, in
`_base_client.py`) retry timeouts and connection errors, and responses with status 408, 409, 429
or >= 500 (`_should_retry`); 400/401/403/404 are raised at once. The wait
(`_calculate_retry_timeout`) is the server's `retry-after-ms` / `Retry-After` (seconds, floats
allowed, or an HTTP date) when that is positive, else `0.5 s * 2**retry` capped at 8 s with
up to 25 % jitter. Differences: openai honours a `Retry-After` only up to 120 s and does not
retry at all above that; anthropic honours any positive value. A `Retry-After: 0` is not
"retry now" in either: it falls back to the exponential backoff.
"""

import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import anthropic
import openai

PROVIDERS = ("openai", "anthropic")
SAMPLING = frozenset(
    {"temperature", "max_tokens", "max_completion_tokens", "top_p", "seed", "stop"}
)
# Each API's way of asking for JSON of a schema (see `structured.request_options`).
PARAMETERS = {
    "openai": SAMPLING | {"response_format"},
    "anthropic": SAMPLING | {"tools", "tool_choice"},
}

# The messages API refuses a request without max_tokens.
ANTHROPIC_DEFAULT_MAX_TOKENS = 1024

# Local servers (Ollama, llama.cpp, vLLM without --api-key) ignore the key, but both SDKs refuse
# to build a client without one.
PLACEHOLDER_API_KEY = "no-key"

# The SDKs retry these statuses (see the module docstring), so they are worth a later retry too.
_TRANSIENT_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class Completion:
    """One reply: its text, usage as the API counted it, wall time and the model that answered.

    `latency_ms` is the whole call, the SDK's retries and their waits included. Tokens are 0
    when the server reports no `usage`.
    """

    text: str
    tokens_in: int
    tokens_out: int
    latency_ms: int
    model: str


class ProviderError(Exception):
    """A request that failed: the provider's own message, its HTTP status, and whether to retry.

    The API key never appears in `message`: it is scrubbed, since some servers echo it.
    `status` is None when no response came (timeout, connection error). `transient` is True
    for 408/409/429/5xx, timeouts and connection errors, which the SDK had already retried
    `max_retries` times; a later attempt may succeed. Other errors (400, 401, 403, 404) are not.
    """

    def __init__(self, message: str, *, status: int | None, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.transient = transient

    def __str__(self) -> str:
        return self.message if self.status is None else f"HTTP {self.status}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"ProviderError(message={self.message!r}, status={self.status!r}, "
            f"transient={self.transient!r})"
        )


@dataclass(frozen=True)
class ProviderSettings:
    """Which API to call and how.

    `api_key` comes from the environment (the caller reads it) and is never stored in the
    database; "" sends a placeholder, for local servers that need none. `base_url` "" is the
    SDK's default host; an OpenAI-compatible server's URL ends in `/v1`.
    """

    provider: str
    model: str
    base_url: str = ""
    # Out of repr, so that logging the settings or a client does not print it.
    api_key: str = field(default="", repr=False)
    timeout_s: float = 60.0
    max_retries: int = 5


class Client(Protocol):
    def complete(self, *, system: str, prompt: str, parameters: dict) -> Completion: ...


def client_for(settings: ProviderSettings) -> Client:
    """The client for `settings`; the SDK client under it is shared, see `_sdk_client`."""
    if settings.provider not in PROVIDERS:
        raise ValueError(f"unknown provider {settings.provider!r}; expected one of {PROVIDERS}")
    sdk = _sdk_client(
        provider=settings.provider,
        base_url=settings.base_url,
        api_key=settings.api_key or PLACEHOLDER_API_KEY,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
    )
    if settings.provider == "openai":
        return OpenAIChat(settings=settings, sdk=sdk)
    return AnthropicMessages(settings=settings, sdk=sdk)


@dataclass(frozen=True)
class OpenAIChat:
    """Chat completions on any OpenAI-compatible server."""

    settings: ProviderSettings
    sdk: openai.OpenAI

    def complete(self, *, system: str, prompt: str, parameters: dict) -> Completion:
        _check_parameters("openai", parameters)
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        started = time.monotonic()
        try:
            reply = self.sdk.chat.completions.create(
                model=self.settings.model, messages=messages, **parameters
            )
        except openai.APIError as err:
            raise _provider_error(err, api_key=self.settings.api_key) from None
        usage = reply.usage
        return Completion(
            text=(reply.choices[0].message.content or "") if reply.choices else "",
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            latency_ms=_ms_since(started),
            model=reply.model,
        )


@dataclass(frozen=True)
class AnthropicMessages:
    """The Anthropic messages API."""

    settings: ProviderSettings
    sdk: anthropic.Anthropic

    def complete(self, *, system: str, prompt: str, parameters: dict) -> Completion:
        request = _anthropic_parameters(parameters)
        if system:
            request["system"] = system
        started = time.monotonic()
        try:
            reply = self.sdk.messages.create(
                model=self.settings.model,
                messages=[{"role": "user", "content": prompt}],
                **request,
            )
        except anthropic.APIError as err:
            raise _provider_error(err, api_key=self.settings.api_key) from None
        usage = reply.usage
        return Completion(
            text=_anthropic_text(reply.content),
            tokens_in=(usage.input_tokens or 0) if usage else 0,
            tokens_out=(usage.output_tokens or 0) if usage else 0,
            latency_ms=_ms_since(started),
            model=reply.model,
        )


def _anthropic_text(content: list) -> str:
    """The input of the reply's first tool call as JSON text, else its text blocks.

    A structured request forces one tool (`structured.request_options`), whose input is the
    verdict; stored as JSON text, it is cached and re-read like any answer. Whatever the
    input holds is kept as it came: `structured.read` decides whether it is a verdict.
    """
    for block in content:
        if block.type == "tool_use":
            return json.dumps(block.input, ensure_ascii=False)
    return "".join(block.text for block in content if block.type == "text")


def _check_parameters(provider: str, parameters: dict) -> None:
    unknown = sorted(set(parameters) - PARAMETERS[provider])
    if unknown:
        allowed = sorted(PARAMETERS[provider])
        raise ValueError(f"unknown {provider} parameters {unknown}; allowed: {allowed}")


def _anthropic_parameters(parameters: dict) -> dict[str, Any]:
    _check_parameters("anthropic", parameters)
    if "seed" in parameters:
        # Refused rather than dropped: a run that asked for a seed must not silently lose it.
        raise ValueError("the anthropic messages API takes no seed")
    if "max_completion_tokens" in parameters:
        raise ValueError("the anthropic messages API takes max_tokens")
    request: dict[str, Any] = {
        "max_tokens": parameters.get("max_tokens", ANTHROPIC_DEFAULT_MAX_TOKENS)
    }
    request |= {k: parameters[k] for k in ("tools", "tool_choice") if k in parameters}
    if "stop" in parameters:
        stop = parameters["stop"]
        request["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    # anthropic>=1.0 took temperature and top_p out of `messages.create`'s signature; the API
    # still takes them on models that allow sampling (newer ones answer 400, which we pass on).
    sampling = {k: parameters[k] for k in ("temperature", "top_p") if k in parameters}
    if sampling:
        request["extra_body"] = sampling
    return request


def _provider_error(err: openai.APIError | anthropic.APIError, *, api_key: str) -> ProviderError:
    """The SDK's error as a ProviderError, with the key scrubbed from the provider's message.

    Raised `from None`: the SDK error holds the request (its auth header) and the raw body,
    which may echo the key, and a logged traceback would print them.
    """
    status: int | None = getattr(err, "status_code", None)
    message = _message_in(err.body) or err.message
    if api_key:
        message = message.replace(api_key, "[redacted]")
    if status is None:
        # No response: a timeout or a connection error (both retried by the SDK), or a reply
        # the SDK could not read, which a retry will not fix.
        transient = isinstance(err, openai.APIConnectionError | anthropic.APIConnectionError)
    else:
        transient = status in _TRANSIENT_STATUSES or status >= 500
    return ProviderError(message, status=status, transient=transient)


def _message_in(body: object) -> str:
    """The message of an error body: OpenAI's `{"error": {"message"}}` (the openai SDK hands
    over the inner object), Anthropic's `{"type": "error", "error": {"message"}}` (the
    anthropic SDK hands over all of it); "" for any other shape."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""


@functools.lru_cache(maxsize=64)
def _sdk_client(
    *, provider: str, base_url: str, api_key: str, timeout_s: float, max_retries: int
) -> openai.OpenAI | anthropic.Anthropic:
    """One SDK client per configuration: each holds an HTTP connection pool worth reusing.

    SDK clients are thread-safe, so threads of a worker share them.
    """
    options: dict[str, Any] = {
        "api_key": api_key,
        "base_url": base_url or None,
        "timeout": timeout_s,
        "max_retries": max_retries,
    }
    if provider == "openai":
        return openai.OpenAI(**options)
    return anthropic.Anthropic(**options)


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
