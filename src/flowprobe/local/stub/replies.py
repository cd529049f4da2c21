"""Writing the stub's answers: JSON, failures, and event streams paced token by token.

What to answer is decided in ``protocol.py`` and by the handler, which subclasses this class;
here it is only written, when it is due, and every write is flushed at once.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from flowprobe.local.stub.protocol import (
    Reply,
    RequestError,
    StubSettings,
    compact_json,
    error_body,
    token_due,
)


class ReplyWriter(BaseHTTPRequestHandler):
    """The writing half of the stub's handler; every answer, even a protocol error, is JSON."""

    _response_started = False
    _chunked = False

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer the base class's protocol errors (bad request line, unknown method) as JSON."""
        self.close_connection = True
        text = message or HTTPStatus(code).phrase
        self._send_json(code, error_body(text, "invalid_request_error"))

    def _send_completion(self, reply: Reply, settings: StubSettings, received_at: float) -> None:
        _sleep_until(token_due(settings, received_at, settings.tokens - 1))
        self._send_json(HTTPStatus.OK, reply.completion())

    def _send_json(self, status: int, payload: dict[str, Any], *, allow: str = "") -> None:
        data = compact_json(payload).encode()
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

    def _send_failure(self, error: RequestError) -> None:
        if self._response_started:
            # Half an answer is out; the only honest ending is to cut the connection.
            self.close_connection = True
            return
        if error.close:
            self.close_connection = True
        self._send_json(error.status, error.body(), allow=error.allow)

    def _stream(self, reply: Reply, settings: StubSettings, received_at: float) -> None:
        self._start_event_stream()
        for index, token in enumerate(reply.tokens):
            _sleep_until(token_due(settings, received_at, index))
            if index == 0:
                self._send_event(compact_json(reply.chunk({"role": "assistant", "content": ""})))
            self._send_event(compact_json(reply.chunk({"content": token})))
        self._send_event(compact_json(reply.chunk({}, finish_reason="stop")))
        if reply.chat.include_usage:
            self._send_event(compact_json(reply.usage_chunk()))
        self._send_event("[DONE]")
        if self._chunked:
            self._write_now(b"0\r\n\r\n")

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


def _sleep_until(deadline: float) -> None:
    # Sleeping to a deadline rather than for a delay keeps write time from adding up over tokens.
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
