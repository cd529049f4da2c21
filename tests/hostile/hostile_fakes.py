"""A fake Langflow on 127.0.0.1 (port 0) for the hostile-target tests: it answers every run call
with one fixed answer, plain or streamed, and keeps each request body it received."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from loopback import serving

ANSWER_TEXT = "the fake answer"
# Both access paths the samples read: results.message.text and outputs.message.message.text.
RUN_ANSWER = {
    "session_id": "s",
    "outputs": [
        {
            "outputs": [
                {
                    "results": {"message": {"text": ANSWER_TEXT}},
                    "outputs": {"message": {"message": {"text": ANSWER_TEXT}}},
                }
            ]
        }
    ],
}


class _Handler(BaseHTTPRequestHandler):
    server: FakeLangflow

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.received.append(json.loads(body))
        if self.path.endswith("stream=true"):
            events = [{"event": "token", "data": {"chunk": "the "}}]
            events.append({"event": "end", "data": {"result": RUN_ANSWER}})
            answer = b"".join(json.dumps(e).encode() + b"\n\n" for e in events)
        else:
            answer = json.dumps(RUN_ANSWER).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class FakeLangflow(ThreadingHTTPServer):
    """Answers every POST with :data:`RUN_ANSWER` and keeps each JSON body it received."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Any] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def fake_langflow() -> Iterator[FakeLangflow]:
    """A :class:`FakeLangflow` served in a thread for the length of the block."""
    with serving(FakeLangflow()) as server:
        yield server
