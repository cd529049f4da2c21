"""A target that answers without end, in bombs, trickles, or with a stream_url elsewhere: the
clients stop at their limits with one sentence, and the key stays on the target's origin."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from flowprobe.errors import TargetError
from flowprobe.target import Target
from flowprobe.wire.client import AsyncRunClient, Deadlines, RunClient
from flowprobe.wire.stream import StreamOutcome, StreamParser
from loopback import serving

KEY = "sk-canary-key-for-the-hostile-tests"
Answer = Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        # The client stopping mid-answer is what these tests expect of it.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.server.answer(self)

    do_GET = do_POST = _answer


class ScriptedServer(ThreadingHTTPServer):
    """Answers every request with ``answer(handler)`` and keeps (method, path, headers)."""

    daemon_threads = True

    def __init__(self, answer: Answer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def scripted(answer: Answer) -> Iterator[ScriptedServer]:
    with serving(ScriptedServer(answer)) as server:
        yield server


def _head(handler: BaseHTTPRequestHandler, content_type: str, **headers: str) -> None:
    handler.send_response(200)
    handler.send_header("content-type", content_type)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()


def _client(url: str, **options: Any) -> RunClient:
    return RunClient(Target(base_url=url, flow="f", api_key=KEY), **options)


def _endless(record_start: bytes, *, megabytes: int) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, "text/event-stream")
        handler.wfile.write(record_start)
        block = b"x" * (1024 * 1024)
        for _ in range(megabytes):
            handler.wfile.write(block)

    return answer


def test_a_record_that_never_ends_stops_at_the_record_limit() -> None:
    parser_limit = 1024 * 1024
    with scripted(_endless(b'{"event": "token", "data": {"chunk": "', megabytes=64)) as server:
        client = _client(server.url)
        with pytest.raises(TargetError, match="max record size") as stopped:
            _read_with_record_limit(client, parser_limit)
        client.close()
    assert "\n" not in str(stopped.value)


def _read_with_record_limit(client: RunClient, limit: int) -> None:
    with client.stream() as (run, events):
        run.parser.max_record_bytes = limit
        for _ in events:
            pass


def test_an_answer_past_the_body_limit_stops_with_one_sentence() -> None:
    def huge_json(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, "application/json")
        handler.wfile.write(b'{"outputs": "' + b"y" * (4 * 1024 * 1024) + b'"}')

    with scripted(huge_json) as server, _client(server.url, max_body_bytes=1024 * 1024) as client:
        with pytest.raises(TargetError, match="max body size"):
            client.run()
        with pytest.raises(TargetError, match="max body size"):
            client.run_stream()  # a stream call answered as one JSON body


def test_a_gzip_bomb_is_cut_at_the_body_limit() -> None:
    bomb = gzip.compress(b"\0" * (256 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 1024 * 1024  # the server sends under a megabyte

    def gzipped(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, "application/json", content_encoding="gzip", content_length=str(len(bomb)))
        handler.wfile.write(bomb)

    limit = 8 * 1024 * 1024
    with (
        scripted(gzipped) as server,
        _client(server.url, max_body_bytes=limit) as client,
        pytest.raises(TargetError, match="max body size"),
    ):
        client.run()


def test_a_stream_call_answered_as_a_trickle_of_json_keeps_its_total_deadline() -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, "application/json")
        for _ in range(200):  # 20 s in all, one byte at a time: never idle long enough to stall
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.1)

    deadlines = Deadlines(connect=2, idle=2, total=1.0)
    with scripted(trickle) as server, _client(server.url, deadlines=deadlines) as client:
        started = time.monotonic()
        with pytest.raises(TargetError, match="total deadline"):
            client.run_stream()
    assert time.monotonic() - started < 5


def _legacy_answer(stream_url: str) -> bytes:
    body = {"outputs": [{"outputs": [{"artifacts": {"stream_url": stream_url}}]}]}
    return json.dumps(body).encode()


def test_a_stream_url_on_another_origin_is_never_sent_the_key() -> None:
    def events(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, "text/event-stream")
        handler.wfile.write(b'{"event": "end", "data": {"result": {}}}\n\n')

    with scripted(events) as elsewhere:

        def pointing_elsewhere(handler: BaseHTTPRequestHandler) -> None:
            _head(handler, "application/json")
            handler.wfile.write(_legacy_answer(elsewhere.url + "/api/v1/build/x/events"))

        with scripted(pointing_elsewhere) as server, _client(server.url) as client:
            run = client.run_stream()
            async_run = asyncio.run(_async_stream(server.url))
    assert elsewhere.requests == []
    assert run.outcome is StreamOutcome.TRUNCATED
    assert async_run.outcome is StreamOutcome.TRUNCATED


def test_a_stream_url_on_the_same_origin_is_followed_once_and_never_in_a_loop() -> None:
    def self_referencing(handler: BaseHTTPRequestHandler) -> None:
        _head(handler, "application/json")
        handler.wfile.write(_legacy_answer("/api/v1/run/f?stream=true"))

    with scripted(self_referencing) as server, _client(server.url) as client:
        run = client.run_stream()
    assert [method for method, _, _ in server.requests] == ["POST", "GET"]
    assert server.requests[1][2].get("x-api-key") == KEY  # its own origin: the key goes along
    assert run.outcome is StreamOutcome.TRUNCATED


async def _async_stream(url: str) -> Any:
    async with AsyncRunClient(Target(base_url=url, flow="f", api_key=KEY)) as client:
        return await client.run_stream()


def test_a_record_that_is_not_utf8_is_malformed_not_replaced() -> None:
    parser = StreamParser()
    parser.feed(b'{"event": "token", "data": {"chunk": "\xff\xfe"}}\n\n')
    parser.feed(b'{"event": "end", "data": {"result": {}}}\n\n')
    parser.close()
    assert [record.reason for record in parser.malformed] == ["not UTF-8 (byte 38)"]
    assert parser.outcome is StreamOutcome.COMPLETED  # an end outranks it; the checks see it
