"""A local, deterministic, OpenAI-compatible LLM stub, standard library only.

A real Langflow's OpenAI model component (``ChatOpenAI`` with its base URL set to
``StubLLM.base_url``) calls it, and load tests hammer it, so it answers with no internet, no
randomness and nothing logged per request.

Endpoints (each also without the ``/v1`` prefix, since clients disagree on where it goes):

- ``POST /v1/chat/completions``, plain or with ``"stream": true`` (server-sent events, one
  ``chat.completion.chunk`` per token, ``stream_options.include_usage`` honoured, then
  ``data: [DONE]``);
- ``GET /v1/models`` and ``GET /v1/models/{id}`` (any id is answered: the stub accepts any model);
- ``GET /health`` answers ``{"status": "ok"}``.

Errors use OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``: 404 for an
unknown path, 405 for a wrong method, 400 for a body that is not JSON or not a chat request.

The answer shows what reached the stub, so a test can see which tweak arrived. It is exactly
``tokens`` tokens, and its content is their concatenation:

- token 0 is ``[model=<model> temperature=<temperature> prompt=<prompt>]``, where
  ``<temperature>`` is the request's value as JSON (``0.2``) or ``default`` when absent or null,
  and ``<prompt>`` is every message as ``<role>: <text>`` joined with `` | ``
  (``system: Be brief. | user: Hi``); a content given as a list of parts contributes its
  ``text`` parts joined with one space, other parts (images) are skipped;
- tokens 1 to N-1 are `` tok1``, `` tok2``, ...

Usage: ``completion_tokens`` is N, ``prompt_tokens`` is the number of whitespace-separated words
across all the messages' texts (roles not counted), ``total_tokens`` their sum.

Timing, measured from when the request body has been read: token ``i`` is sent
``first_token_delay + i * inter_token_delay`` seconds later, and a non-streaming answer is sent
when the last token would have been, so both modes take the same time. The role chunk that opens
a stream goes out with token 0, as OpenAI's does. Three request headers override the settings for
one request: ``x-stub-first-token-delay-ms``, ``x-stub-inter-token-delay-ms`` (0 to 600000) and
``x-stub-tokens`` (1 to 100000); another value answers 400.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import json
import logging
import signal
import socket
import socketserver
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, Self
from urllib.parse import unquote

from flowprobe.errors import FlowprobeError, SettingsError

# Header names, not secrets: bandit's rule only sees "TOKEN" in the names.
FIRST_TOKEN_DELAY_HEADER = "x-stub-first-token-delay-ms"  # noqa: S105
INTER_TOKEN_DELAY_HEADER = "x-stub-inter-token-delay-ms"  # noqa: S105
TOKENS_HEADER = "x-stub-tokens"
SETTINGS_PATH = "/stub/settings"  # GET or PUT {first_token_delay_ms, inter_token_delay_ms, tokens}
MODEL_IDS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "flowprobe-stub")
LAST_REQUESTS_KEPT = 100

# Bounds on what a request may ask for, so one bad header cannot park a thread for hours.
_MAX_HEADER_DELAY_MS = 600_000.0
_MAX_HEADER_TOKENS = 100_000
_MAX_BODY_BYTES = 16 * 1024 * 1024
_MAX_CHUNK_LINE = 1024
# A fixed date keeps the models answer byte-for-byte the same across runs.
_MODELS_CREATED = 1_700_000_000
_FINGERPRINT = "fp_flowprobe_stub"
# How often a serving loop checks for stop(); short so tests that start many stubs stay fast.
_POLL_INTERVAL = 0.05
# An idle keep-alive connection is dropped after this long, so abandoned clients do not pin threads.
_IDLE_TIMEOUT = 300.0
_LOOPBACK_HINT = "127.0.0.1, ::1 or localhost"

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class StubSettings:
    """How the stub paces and sizes every answer (seconds, and a number of tokens)."""

    first_token_delay: float = 0.0
    inter_token_delay: float = 0.0
    tokens: int = 8

    def __post_init__(self) -> None:
        for name in ("first_token_delay", "inter_token_delay"):
            value = getattr(self, name)
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if not is_number or not 0 <= value < float("inf"):
                raise SettingsError(
                    f"{name} must be a finite number of seconds >= 0, got {value!r}"
                )
        if isinstance(self.tokens, bool) or not isinstance(self.tokens, int) or self.tokens < 1:
            raise SettingsError(f"tokens must be a whole number >= 1, got {self.tokens!r}")


DEFAULT_SETTINGS = StubSettings()


class _RequestError(Exception):
    """A request the stub refuses, answered in OpenAI's error format."""

    def __init__(
        self,
        status: HTTPStatus,
        message: str,
        *,
        param: str | None = None,
        kind: str = "invalid_request_error",
        close: bool = False,
        allow: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.kind = kind
        # Set when the body was not read: the connection cannot carry another request.
        self.close = close
        self.allow = allow

    def body(self) -> dict[str, Any]:
        return _error_body(self.message, self.kind, param=self.param)


def _error_body(message: str, kind: str, *, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def _bad_request(message: str, param: str | None = None) -> _RequestError:
    return _RequestError(HTTPStatus.BAD_REQUEST, message, param=param)


# --- what was asked -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ChatRequest:
    """The parts of a chat completion request that shape the answer."""

    model: str
    temperature: object
    messages: tuple[tuple[str, str], ...]  # (role, text)
    stream: bool
    include_usage: bool


def _parse_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _bad_request(f"the request body is not valid JSON: {error}") from None


def _parse_chat_request(payload: object) -> _ChatRequest:
    if not isinstance(payload, dict):
        raise _bad_request("the request body must be a JSON object")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise _bad_request("'model' must be a non-empty string", "model")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad_request("'messages' must be a non-empty list", "messages")
    stream = payload.get("stream") or False
    if not isinstance(stream, bool):
        raise _bad_request("'stream' must be true or false", "stream")
    options = payload.get("stream_options") or {}
    if not isinstance(options, dict):
        raise _bad_request("'stream_options' must be an object", "stream_options")
    return _ChatRequest(
        model=model,
        temperature=payload.get("temperature"),
        messages=tuple(_read_message(message, index) for index, message in enumerate(messages)),
        stream=stream,
        include_usage=stream and options.get("include_usage") is True,
    )


def _read_message(message: object, index: int) -> tuple[str, str]:
    if not isinstance(message, dict):
        raise _bad_request(f"messages[{index}] must be an object", f"messages[{index}]")
    role = message.get("role")
    if not isinstance(role, str):
        raise _bad_request(f"messages[{index}].role must be a string", f"messages[{index}].role")
    return role, _content_text(message.get("content"), index)


def _content_text(content: object, index: int) -> str:
    if content is None:  # an assistant turn that only called tools
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        )
    raise _bad_request(
        f"messages[{index}].content must be a string or a list of parts",
        f"messages[{index}].content",
    )


# --- what is answered -----------------------------------------------------------------------


def answer_tokens(
    *, model: str, temperature: object, messages: Sequence[tuple[str, str]], tokens: int
) -> list[str]:
    """The tokens the stub answers to these (role, text) messages; see the module docstring.

    Public so that a suite can compute the exact reply it expects to see come back.
    """
    prompt = " | ".join(f"{role}: {text}" for role, text in messages)
    shown_temperature = "default" if temperature is None else json.dumps(temperature)
    echo = f"[model={model} temperature={shown_temperature} prompt={prompt}]"
    return [echo, *(f" tok{index}" for index in range(1, tokens))]


@dataclass(frozen=True, slots=True)
class _Reply:
    """One answer, in both the shapes OpenAI gives it."""

    chat: _ChatRequest
    tokens: tuple[str, ...]
    ident: str
    created: int

    @classmethod
    def build(cls, chat: _ChatRequest, tokens: int) -> _Reply:
        texts = answer_tokens(
            model=chat.model, temperature=chat.temperature, messages=chat.messages, tokens=tokens
        )
        ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        return cls(chat=chat, tokens=tuple(texts), ident=ident, created=int(time.time()))

    def usage(self) -> dict[str, int]:
        prompt_tokens = sum(len(text.split()) for _, text in self.chat.messages)
        completion_tokens = len(self.tokens)
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }

    def completion(self) -> dict[str, Any]:
        message = {"role": "assistant", "content": "".join(self.tokens)}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
        return {**self._envelope("chat.completion"), "choices": [choice], "usage": self.usage()}

    def chunk(self, delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk = {**self._envelope("chat.completion.chunk"), "choices": [choice]}
        if self.chat.include_usage:  # OpenAI marks every chunk but the last with usage: null
            chunk["usage"] = None
        return chunk

    def usage_chunk(self) -> dict[str, Any]:
        return {**self._envelope("chat.completion.chunk"), "choices": [], "usage": self.usage()}

    def _envelope(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.ident,
            "object": kind,
            "created": self.created,
            "model": self.chat.model,
            "system_fingerprint": _FINGERPRINT,
        }


def _model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": _MODELS_CREATED, "owned_by": "flowprobe"}


def _models_answer(path: str) -> dict[str, Any]:
    if path == "/models":
        return {"object": "list", "data": [_model_object(model_id) for model_id in MODEL_IDS]}
    return _model_object(unquote(path.removeprefix("/models/")))


def _api_path(target: str) -> str:
    """The request target without query, trailing slash or the optional ``/v1`` prefix."""
    path = target.partition("?")[0].rstrip("/") or "/"
    if path == "/v1" or path.startswith("/v1/"):
        path = path[3:] or "/"
    return path


def _settings_for_request(base: StubSettings, headers: Message) -> StubSettings:
    """``base`` with the ``x-stub-*`` header overrides of one request applied."""
    return StubSettings(
        first_token_delay=_delay_header(
            FIRST_TOKEN_DELAY_HEADER, headers.get(FIRST_TOKEN_DELAY_HEADER), base.first_token_delay
        ),
        inter_token_delay=_delay_header(
            INTER_TOKEN_DELAY_HEADER, headers.get(INTER_TOKEN_DELAY_HEADER), base.inter_token_delay
        ),
        tokens=_tokens_header(headers.get(TOKENS_HEADER), base.tokens),
    )


def _delay_header(name: str, text: str | None, default: float) -> float:
    if text is None:
        return default
    try:
        milliseconds = float(text)
    except ValueError:
        milliseconds = float("nan")
    if not 0 <= milliseconds <= _MAX_HEADER_DELAY_MS:  # also refuses nan and inf
        raise _bad_request(
            f"header {name} must be 0 to {_MAX_HEADER_DELAY_MS:.0f} ms, got {text!r}"
        )
    return milliseconds / 1000


def _tokens_header(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        tokens = int(text.strip())
    except ValueError:
        tokens = 0
    if not 1 <= tokens <= _MAX_HEADER_TOKENS:
        raise _bad_request(
            f"header {TOKENS_HEADER} must be 1 to {_MAX_HEADER_TOKENS}, got {text!r}"
        )
    return tokens


def _token_due(settings: StubSettings, received_at: float, index: int) -> float:
    return received_at + settings.first_token_delay + index * settings.inter_token_delay


def _sleep_until(deadline: float) -> None:
    # Sleeping to a deadline rather than for a delay keeps write time from adding up over tokens.
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


# --- HTTP -----------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """Answers one connection's requests; every failure ends as JSON, never as a traceback."""

    protocol_version = "HTTP/1.1"
    server_version = "flowprobe-stub-llm"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    server: _StubServer
    _response_started = False
    _chunked = False

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the stub sits on a load test's hot path, and headers may carry keys."""

    def do_GET(self) -> None:
        """Answer a GET (models, health)."""
        self._answer()

    def do_POST(self) -> None:
        """Answer a POST (chat completions)."""
        self._answer()

    def do_PUT(self) -> None:
        """Answer a PUT (the stub's own settings)."""
        self._answer()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer the base class's protocol errors (bad request line, unknown method) as JSON."""
        self.close_connection = True
        text = message or HTTPStatus(code).phrase
        self._send_json(code, _error_body(text, "invalid_request_error"))

    def _answer(self) -> None:
        self._response_started = False
        try:
            self.server.count_request()
            body = self._read_body()
            self._route(body, received_at=time.monotonic())
        except _RequestError as error:
            self._send_failure(error)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client left or stalled; there is no one to tell
        except Exception:
            logger.exception(
                "flowprobe stub-llm failed to answer %s %s", self.command, _api_path(self.path)
            )
            failure = _RequestError(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "the stub failed; see its log",
                kind="server_error",
                close=True,
            )
            self._send_failure(failure)

    def _route(self, body: bytes, received_at: float) -> None:
        path = _api_path(self.path)
        if path == "/chat/completions":
            self._require_method("POST")
            self._chat(body, received_at)
        elif path == "/models" or path.startswith("/models/"):
            self._require_method("GET")
            self._send_json(HTTPStatus.OK, _models_answer(path))
        elif path == "/health":
            self._require_method("GET")
            self._send_json(HTTPStatus.OK, {"status": "ok"})
        elif path == SETTINGS_PATH:
            self._settings(body)
        else:
            raise _RequestError(
                HTTPStatus.NOT_FOUND,
                f"unknown path {self.command} {self.path}; the stub serves "
                "POST /v1/chat/completions, GET /v1/models, GET /v1/models/{id} and GET /health",
            )

    def _settings(self, body: bytes) -> None:
        # Lets a test behind Langflow change the delays, since no header of its own reaches us.
        if self.command == "PUT":
            payload = _parse_json(body)
            if not isinstance(payload, dict):
                raise _bad_request("settings must be a JSON object")
            current = self.server.settings
            try:
                self.server.settings = StubSettings(
                    first_token_delay=float(
                        payload.get("first_token_delay_ms", current.first_token_delay * 1000)
                    )
                    / 1000,
                    inter_token_delay=float(
                        payload.get("inter_token_delay_ms", current.inter_token_delay * 1000)
                    )
                    / 1000,
                    tokens=int(payload.get("tokens", current.tokens)),
                )
            except (TypeError, ValueError, SettingsError) as exc:
                raise _bad_request(f"bad settings: {exc}") from None
        else:
            self._require_method("GET")
        settings = self.server.settings
        self._send_json(
            HTTPStatus.OK,
            {
                "first_token_delay_ms": settings.first_token_delay * 1000,
                "inter_token_delay_ms": settings.inter_token_delay * 1000,
                "tokens": settings.tokens,
            },
        )

    def _require_method(self, method: str) -> None:
        if self.command != method:
            message = f"{self.command} is not allowed on {self.path}; use {method}"
            raise _RequestError(HTTPStatus.METHOD_NOT_ALLOWED, message, allow=method)

    def _chat(self, body: bytes, received_at: float) -> None:
        payload = _parse_json(body)
        if isinstance(payload, dict):
            self.server.last_requests.append(payload)
        chat = _parse_chat_request(payload)
        settings = _settings_for_request(self.server.settings, self.headers)
        reply = _Reply.build(chat, settings.tokens)
        if chat.stream:
            self._stream(reply, settings, received_at)
        else:
            _sleep_until(_token_due(settings, received_at, settings.tokens - 1))
            self._send_json(HTTPStatus.OK, reply.completion())

    def _stream(self, reply: _Reply, settings: StubSettings, received_at: float) -> None:
        self._start_event_stream()
        for index, token in enumerate(reply.tokens):
            _sleep_until(_token_due(settings, received_at, index))
            if index == 0:
                self._send_event(_compact_json(reply.chunk({"role": "assistant", "content": ""})))
            self._send_event(_compact_json(reply.chunk({"content": token})))
        self._send_event(_compact_json(reply.chunk({}, finish_reason="stop")))
        if reply.chat.include_usage:
            self._send_event(_compact_json(reply.usage_chunk()))
        self._send_event("[DONE]")
        if self._chunked:
            self._write_now(b"0\r\n\r\n")

    # --- reading ------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":
                raise _RequestError(
                    HTTPStatus.BAD_REQUEST,
                    f"Transfer-Encoding {encoding!r} is not supported",
                    close=True,
                )
            return self._read_chunked_body()
        return self._read_exactly(_content_length(self.headers.get("Content-Length")))

    def _read_chunked_body(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while size := _chunk_size(self.rfile.readline(_MAX_CHUNK_LINE + 1)):
            total += size
            if total > _MAX_BODY_BYTES:
                raise _too_large()
            parts.append(self._read_exactly(size))
            self._read_exactly(2)  # the CRLF that closes every chunk
        while self.rfile.readline(_MAX_CHUNK_LINE + 1) not in (b"\r\n", b"\n", b""):
            pass  # trailers carry nothing the stub uses
        return b"".join(parts)

    def _read_exactly(self, size: int) -> bytes:
        data = self.rfile.read(size) if size else b""
        if len(data) < size:
            raise ConnectionResetError("the client closed before sending its whole body")
        return data

    # --- writing ------------------------------------------------------------------------

    def _send_json(self, status: int, payload: dict[str, Any], *, allow: str = "") -> None:
        data = _compact_json(payload).encode()
        self._response_started = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if allow:
            self.send_header("Allow", allow)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self._write_now(data)

    def _send_failure(self, error: _RequestError) -> None:
        if self._response_started:
            # Half an answer is out; the only honest ending is to cut the connection.
            self.close_connection = True
            return
        if error.close:
            self.close_connection = True
        self._send_json(error.status, error.body(), allow=error.allow)

    def _start_event_stream(self) -> None:
        # HTTP/1.0 has no chunked encoding: there, the body ends when the connection closes.
        self._chunked = self.request_version != "HTTP/1.0"
        if not self._chunked:
            self.close_connection = True
        self._response_started = True
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        if self._chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send_event(self, data: str) -> None:
        event = f"data: {data}\n\n".encode()
        if self._chunked:
            event = b"%X\r\n%s\r\n" % (len(event), event)
        self._write_now(event)

    def _write_now(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()


def _compact_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def _content_length(text: str | None) -> int:
    if text is None:
        return 0
    try:
        length = int(text)
    except ValueError:
        length = -1
    if length < 0:
        raise _RequestError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {text!r}", close=True)
    if length > _MAX_BODY_BYTES:
        raise _too_large()
    return length


def _chunk_size(line: bytes) -> int:
    if not line:
        raise ConnectionResetError("the client closed inside a chunked body")
    try:
        size = int(line.split(b";", 1)[0].strip(), 16)
    except ValueError:
        size = -1
    if size < 0 or not line.endswith(b"\n"):
        raise _RequestError(HTTPStatus.BAD_REQUEST, "malformed chunked request body", close=True)
    return size


def _too_large() -> _RequestError:
    message = f"the request body is larger than {_MAX_BODY_BYTES} bytes"
    return _RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, message, close=True)


class _StubServer(ThreadingHTTPServer):
    """A threading HTTP server that keeps the stub's counters and can cut its connections."""

    daemon_threads = True
    # Never share the port: a second stub on a taken port must fail, not split the traffic.
    allow_reuse_port = False
    # The default backlog of 5 drops connections when a load test opens many at once.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], settings: StubSettings) -> None:
        self.settings = settings
        self.last_requests: deque[dict[str, Any]] = deque(maxlen=LAST_REQUESTS_KEPT)
        self.requests_served = 0
        self._lock = threading.Lock()
        self._connections: set[Any] = set()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up with getfqdn, which can stall on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        # Without this, Nagle holds each small streamed chunk back until the previous is acked.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a client that hangs up is ordinary under load
        logger.exception("flowprobe stub-llm: unexpected error on a connection")

    def count_request(self) -> None:
        with self._lock:
            self.requests_served += 1

    def close_connections(self) -> None:
        """Cut every open connection, so keep-alive clients cannot outlive stop()."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _StubServer6(_StubServer):
    address_family = socket.AF_INET6


# --- the public server ----------------------------------------------------------------------


class StubLLM:
    """An OpenAI-compatible stub listening on loopback; bound on creation, served by start()."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, settings: StubSettings = DEFAULT_SETTINGS
    ) -> None:
        if not 0 <= port <= 65535:
            raise SettingsError(f"port must be 0 (any free port) to 65535, got {port}")
        self._server = _bind(_loopback_address(host), port, settings)
        self._state_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._serving = False
        self._stopped = False

    @property
    def host(self) -> str:
        """The address listened on (127.0.0.1 for ``localhost``)."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port listened on (the one picked by the system when 0 was asked)."""
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to give an OpenAI client as its base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://{_host_port(self.host, self.port)}/v1"

    @property
    def settings(self) -> StubSettings:
        """The pacing every request gets unless its ``x-stub-*`` headers say otherwise."""
        return self._server.settings

    @property
    def requests_served(self) -> int:
        """How many HTTP requests reached a handler, whatever the answer."""
        return self._server.requests_served

    @property
    def last_requests(self) -> deque[dict[str, Any]]:
        """The last 100 chat request bodies received, parsed, oldest first."""
        return self._server.last_requests

    def start(self) -> Self:
        """Serve in a background daemon thread; returns self."""
        with self._state_lock:
            if self._stopped:
                raise FlowprobeError("this stub LLM was stopped; create a new StubLLM")
            if self._serving:
                return self
            self._serving = True
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": _POLL_INTERVAL},
                name=f"flowprobe-stub-llm-{self.port}",
                daemon=True,
            )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and release the port; safe to call twice."""
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
        if self._serving:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server.close_connections()
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve in this thread until KeyboardInterrupt or SIGTERM, then stop."""
        with self._state_lock:
            if self._serving or self._stopped:
                raise FlowprobeError("this stub LLM is already serving or was stopped")
            self._serving = True
        try:
            with _sigterm_interrupts():
                self._server.serve_forever(poll_interval=_POLL_INTERVAL)
        except KeyboardInterrupt:
            pass  # Ctrl-C or SIGTERM is how a foreground stub is asked to stop
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"StubLLM(base_url={self.base_url!r}, requests_served={self.requests_served})"


def _loopback_address(host: str) -> str:
    """The address to bind for ``host``; anything but loopback is refused (there is no auth)."""
    name = host.strip().removeprefix("[").removesuffix("]")
    if name.lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise FlowprobeError(
            f"flowprobe stub-llm only listens on loopback ({_LOOPBACK_HINT}), not {host!r}: "
            "it has no authentication"
        )
    return str(address)


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _bind(address: str, port: int, settings: StubSettings) -> _StubServer:
    server_class = _StubServer6 if ":" in address else _StubServer
    try:
        return server_class((address, port), settings)
    except OSError as error:
        where = _host_port(address, port)
        if error.errno == errno.EADDRINUSE:
            raise FlowprobeError(f"port {where} is taken; choose another with --port") from None
        raise FlowprobeError(f"cannot listen on {where}: {error.strerror or error}") from None


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM stop a foreground stub as Ctrl-C does (launchers terminate() it)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers
        return
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


# --- command line ---------------------------------------------------------------------------


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.3f}".rstrip("0").rstrip(".")


def run_stub_cli(*, host: str, port: int, settings: StubSettings) -> int:
    """Print where the stub listens, serve until SIGINT or SIGTERM, return 0 (the exit code)."""
    stub = StubLLM(host=host, port=port, settings=settings)
    print(
        f"flowprobe stub-llm listening on {stub.base_url} "
        f"(first token delay {_milliseconds(settings.first_token_delay)}ms, "
        f"inter-token delay {_milliseconds(settings.inter_token_delay)}ms, "
        f"{settings.tokens} tokens)",
        flush=True,  # a launcher reads this line from a pipe to learn the port
    )
    stub.serve_forever()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m flowprobe.local.stub_llm``: start the stub in the foreground; returns the
    exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m flowprobe.local.stub_llm", description="A local OpenAI-compatible LLM stub."
    )
    parser.add_argument("--host", default="127.0.0.1", help=f"loopback only: {_LOOPBACK_HINT}")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--first-token-delay-ms", type=float, default=0.0)
    parser.add_argument("--inter-token-delay-ms", type=float, default=0.0)
    parser.add_argument("--tokens", type=int, default=DEFAULT_SETTINGS.tokens)
    args = parser.parse_args(argv)
    try:
        settings = StubSettings(
            first_token_delay=args.first_token_delay_ms / 1000,
            inter_token_delay=args.inter_token_delay_ms / 1000,
            tokens=args.tokens,
        )
        return run_stub_cli(host=args.host, port=args.port, settings=settings)
    except FlowprobeError as error:
        print(f"flowprobe stub-llm: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
