"""A small run-answering HTTP server on 127.0.0.1 for flowprobe's own tests, and a way to serve
any such server in a thread for the length of a test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

Server = TypeVar("Server", bound=ThreadingHTTPServer)


class _AnswerHandler(BaseHTTPRequestHandler):
    server: RunAnswerServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.server.received.append(self.rfile.read(int(self.headers["content-length"])))
        answer = json.dumps({"session_id": "s", "outputs": []}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        for name, value in self.server.extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer)


class RunAnswerServer(ThreadingHTTPServer):
    """Answers every POST with an empty run answer (plus ``extra_headers``) and keeps each
    request body it received, in order."""

    daemon_threads = True

    def __init__(self, extra_headers: dict[str, str] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _AnswerHandler)
        self.received: list[bytes] = []
        self.extra_headers = extra_headers or {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving(httpd: Server) -> Iterator[Server]:
    """Serve ``httpd`` in a thread until the block ends, then shut it down and close it."""
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


class _LockedHandler(BaseHTTPRequestHandler):
    server: LockedServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        with self.server.lock:
            self.server.calls += 1
        time.sleep(self.server.delay)
        answer = json.dumps({"detail": self.server.detail}).encode()
        self.send_response(500)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_GET(self) -> None:  # /health stays ok, as on a wedged Langflow
        answer = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


# What Langflow 1.13 on a wedged SQLite database answers to every run call.
LOCKED_DETAIL = "(sqlite3.OperationalError) database is locked\n[SQL: UPDATE flow SET ...]"


class LockedServer(ThreadingHTTPServer):
    """A wedged Langflow: every POST waits ``delay`` seconds, then answers 500 with ``detail``
    ("database is locked"); GET answers 200. ``calls`` counts the POSTs."""

    daemon_threads = True

    def __init__(self, delay: float = 0.3, detail: str = LOCKED_DETAIL) -> None:
        super().__init__(("127.0.0.1", 0), _LockedHandler)
        self.delay = delay
        self.detail = detail
        self.calls = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"
