"""A tiny stand-in for Langflow's run endpoint, with Langflow's stream framing.

``POST /api/v1/run/{flow}?stream=true`` answers bare JSON records separated by blank lines
(add_message, ``tokens`` token events, end) over chunked transfer encoding, paced like the stub
LLM. Flow names pick failures: ``truncate`` stops before ``end`` and ends the body cleanly,
``drop`` cuts the connection mid-body, ``error`` sends an ``error`` event, ``hang`` never
answers, ``status500`` (any code) answers that status. ``?stream=false``
answers a run-response body. Run it as a script for subprocess use: ``--port P``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _record(event: str, data: Any) -> bytes:
    return json.dumps({"event": event, "data": data}).encode() + b"\n\n"


def _message(text: str, sender: str) -> dict[str, Any]:
    return {"text": text, "sender": sender, "sender_name": sender, "session_id": "s", "id": "m1"}


def _result(text: str) -> dict[str, Any]:
    output = {
        "component_id": "ChatOutput-1",
        "component_display_name": "Chat Output",
        "results": {"message": _message(text, "Machine")},
        "artifacts": {},
        "outputs": {},
        "messages": [],
        "logs": {},
    }
    return {"session_id": "s", "outputs": [{"inputs": {"input_value": "hi"}, "outputs": [output]}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeLangflow

    def setup(self) -> None:
        super().setup()
        # Small records written one by one would otherwise wait for delayed ACKs (Nagle).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        path, _, query = self.path.partition("?")
        with contextlib.suppress(ValueError):
            self.server.bodies.append(json.loads(body or b"null"))
        flow = path.rsplit("/", 1)[-1]
        if flow == "hang":  # a target that takes the call and never answers
            time.sleep(60)
            return
        if flow == "redirect":  # a target that sends its callers, and their key, elsewhere
            self.send_response(307)
            self.send_header("location", f"{self.server.base_url}/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if path == "/elsewhere":
            self.server.redirected.append(dict(self.headers))
            self._json(200, _result("followed"))
            return
        if flow == "trickle":  # a stream that never ends, one keep-alive byte at a time
            self._trickle()
            return
        if flow == "endless-record":  # a stream record that grows past any sane size
            self._endless_record()
            return
        if flow.startswith("status"):  # e.g. status500: answer that status, a JSON body
            self._json(int(flow.removeprefix("status")), {"detail": "refused"})
        elif "stream=true" in query:
            self._stream(flow)
        else:
            # As long as the stream would take, so both modes cost the same.
            settings = self.server
            time.sleep(
                settings.first_token_delay + (settings.tokens - 1) * settings.inter_token_delay
            )
            self._json(200, _result("ok"))

    def _trickle(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(300):  # 60 s at most: never idle long enough for a read timeout
                self._chunk(b":\n")
                time.sleep(0.2)

    def _endless_record(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self._chunk(b'{"event": "token", "data": {"chunk": "')
        with contextlib.suppress(OSError):
            for _ in range(64):  # 64 MB at most, past the users' 8 MB record limit
                self._chunk(b"x" * (1024 * 1024))

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, flow: str) -> None:
        settings = self.server
        started = time.perf_counter()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self._chunk(_record("add_message", _message("hi", "User")))
        for index in range(settings.tokens):
            due = started + settings.first_token_delay + index * settings.inter_token_delay
            time.sleep(max(due - time.perf_counter(), 0))
            self._chunk(_record("token", {"chunk": f" tok{index}", "id": "m1"}))
            if flow == "drop" and index == 1:
                self.close_connection = True
                self.connection.shutdown(2)
                return
        if flow == "error":
            self._chunk(_record("error", {"error": "boom"}))
        elif flow != "truncate":
            self._chunk(_record("end", {"result": _result("tok")}))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        settings.streams_served.set()


class FakeLangflow(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up (the run ended, or a "drop" flow) is not news

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.append(request)
        super().process_request(request, client_address)

    def kill(self) -> None:
        """Go away like a crashed server: stop listening and reset every open connection."""
        self.shutdown()
        self.server_close()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __init__(
        self,
        port: int = 0,
        *,
        first_token_delay: float = 0.0,
        inter_token_delay: float = 0.0,
        tokens: int = 8,
    ) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.connections: list[socket.socket] = []
        self.first_token_delay = first_token_delay
        self.inter_token_delay = inter_token_delay
        self.tokens = tokens
        self.streams_served = threading.Event()  # set once a whole stream has been sent
        self.redirected: list[dict[str, str]] = []  # headers of calls that followed a redirect
        self.bodies: list[Any] = []  # every run request's JSON body, in arrival order

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--first-token-delay-ms", type=float, default=0.0)
    parser.add_argument("--inter-token-delay-ms", type=float, default=0.0)
    parser.add_argument("--tokens", type=int, default=8)
    parser.add_argument("--lifetime", type=float, default=120.0, help="stop after this many s")
    args = parser.parse_args()
    server = FakeLangflow(
        args.port,
        first_token_delay=args.first_token_delay_ms / 1000,
        inter_token_delay=args.inter_token_delay_ms / 1000,
        tokens=args.tokens,
    )
    print(server.base_url, flush=True)
    server.timeout = 0.5
    deadline = time.monotonic() + args.lifetime  # bounded: it always stops by itself
    while time.monotonic() < deadline:
        server.handle_request()


if __name__ == "__main__":
    main()
