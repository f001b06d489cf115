"""Fake LLM servers for tests: real HTTP on a loopback port, not mocks of the SDKs.

`fake_server("openai")` speaks chat completions (`POST /v1/chat/completions`) and
`fake_server("anthropic")` the messages API (`POST /v1/messages`), each with `usage`, on
127.0.0.1 with a free port, in daemon threads. A test scripts the replies with
`script(request_json, call_index) -> FakeReply`; a non-200 reply is the provider's own JSON
error shape. The Anthropic fake answers a forced tool call when the reply gives the call's input
(`FakeReply.tool_input`). Every request (body, headers, arrival time) is recorded.

Each connection has its own thread and `delay_s` sleeps outside every lock, so slow replies
overlap: a benchmark can hold 32 requests of 200 ms in flight at once.
"""

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


@dataclass(frozen=True)
class FakeReply:
    """What the server answers; `model` "" echoes the requested model."""

    status: int = 200
    text: str = "ok"
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    usage: bool = True
    model: str = ""
    # Anthropic: answer with a call of the tool the request forces, with this input (any
    # JSON, so a test can send a malformed one); None answers with `text`.
    tool_input: object = None


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict
    received_at: float  # time.monotonic()


Script = Callable[[dict, int], FakeReply]


def reply_ok(request_json: dict, call_index: int) -> FakeReply:
    return FakeReply()


def replies(*scripted: FakeReply) -> Script:
    """A script that answers the n-th request with the n-th reply, and the last one after that."""
    return lambda request_json, call_index: scripted[min(call_index, len(scripted) - 1)]


class FakeServer:
    """A running fake; `base_url` is what the provider's SDK takes as its `base_url`."""

    def __init__(self, *, provider: str, httpd: ThreadingHTTPServer) -> None:
        self.provider = provider
        host, port = httpd.server_address[:2]
        root = f"http://{host}:{port}"
        # The openai SDK appends /chat/completions to base_url; anthropic appends /v1/messages.
        self.base_url = root + "/v1" if provider == "openai" else root
        self._script: Script = reply_ok
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._counter = itertools.count()

    def use(self, script: Script) -> None:
        """Answer the requests from now on with `script`."""
        self._script = script

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def answer(self, *, path: str, headers: dict[str, str], body: dict) -> tuple[int, dict, dict]:
        """Record one request and build (status, headers, JSON body) of its reply."""
        with self._lock:
            call_index = next(self._counter)
            self._requests.append(
                RecordedRequest(path=path, headers=headers, body=body, received_at=time.monotonic())
            )
        if path != PATHS[self.provider]:
            return 404, {}, _error(self.provider, 404, f"no route {path}")
        reply = self._script(body, call_index)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.status != 200:
            return reply.status, reply.headers, _error(self.provider, reply.status, reply.text)
        model = reply.model or body.get("model", "")
        return 200, reply.headers, _success(self.provider, reply, body, model=model, n=call_index)


def _success(provider: str, reply: FakeReply, request: dict, *, model: str, n: int) -> dict:
    if provider == "openai":
        message = {"role": "assistant", "content": reply.text}
        body: dict = {
            "id": f"chatcmpl-fake-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }
        if reply.usage:
            body["usage"] = {
                "prompt_tokens": reply.tokens_in,
                "completion_tokens": reply.tokens_out,
                "total_tokens": reply.tokens_in + reply.tokens_out,
            }
        return body
    content = [{"type": "text", "text": reply.text}]
    stop_reason = "end_turn"
    if reply.tool_input is not None:
        tool = (request.get("tool_choice") or {}).get("name", "")
        content = [{"type": "tool_use", "id": f"toolu_fake_{n}", "name": tool}]
        content[0]["input"] = reply.tool_input
        stop_reason = "tool_use"
    body = {
        "id": f"msg_fake_{n}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
    }
    if reply.usage:
        body["usage"] = {"input_tokens": reply.tokens_in, "output_tokens": reply.tokens_out}
    return body


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def _error(provider: str, status: int, message: str) -> dict:
    kind = _ERROR_TYPES.get(status, "api_error")
    if provider == "openai":
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return {"type": "error", "error": {"type": kind, "message": message}}


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections open, as the SDKs' pools expect.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm the second one waits for
    # the client's delayed ACK, adding ~40 ms to every reply.
    disable_nagle_algorithm = True
    server: "_HTTPServer"

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, extra, reply = self.server.fake.answer(path=self.path, headers=headers, body=body)
        payload = json.dumps(reply).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout test); nobody is left to answer.
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass  # a line per request would drown pytest's output


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    fake: FakeServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients dropping connections mid-reply is what timeout tests do


@contextmanager
def fake_server(provider: str) -> Iterator[FakeServer]:
    """Serve a fake `provider` ("openai" or "anthropic") until the block ends."""
    if provider not in PATHS:
        raise ValueError(f"no fake for provider {provider!r}")
    httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
    httpd.fake = FakeServer(provider=provider, httpd=httpd)
    # A short poll interval: shutdown() waits for the serving loop to notice.
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True, name=provider
    )
    thread.start()
    try:
        yield httpd.fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
