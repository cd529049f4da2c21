"""A fault-injecting reverse proxy for proving that the suites catch a broken server.

``FaultProxy(upstream=..., fault="truncated-stream")`` listens on 127.0.0.1, port 0, and forwards
every request to ``upstream`` with httpx, breaking one promise of the run API on the way: the
fault is chosen by name from :data:`FAULTS`. Streams are relayed chunk by chunk with chunked
transfer encoding, as they arrive, so that a fault that buffers them is the only thing that does.

The server is ``asyncio.start_server`` with a minimal HTTP/1.1 reader (Content-Length or chunked
request bodies, keep-alive), run on an event loop in a daemon thread so that synchronous tests
can start it, point a suite at it in a subprocess, and stop it.

Run one by hand: ``python tests/faultproxy.py dropped-token`` (reads ``FLOWPROBE_BASE_URL`` and
``FLOWPROBE_API_KEY``) and point ``FLOWPROBE_BASE_URL`` at the URL it prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

# Hop-by-hop headers, and those the proxy recomputes, are never relayed as they came.
_REQUEST_DROPPED = frozenset(
    {
        *("connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"),
        *("transfer-encoding", "host", "content-length", "accept-encoding"),
    }
)
_ANSWER_DROPPED = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}
)
_RECORD_END = b"\n\n"
SWAP_WINDOW = 1.0  # seconds an answer waits for a concurrent one to be crossed with
# Langflow 1.13 on SQLite can keep its database locked for good when a run is cut off mid-stream
# (the cancelled run leaves a write transaction open), so the proxy reads every upstream answer
# to its end, for at most this long, even when a fault or a departed caller no longer wants it.
DRAIN_LIMIT = 60.0


@dataclass(frozen=True, slots=True)
class Request:
    """One request as the caller sent it: method, path with query, headers, whole body."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def with_header(self, name: str, value: str) -> Request:
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=(*kept, (name, value)))

    @property
    def is_run(self) -> bool:
        return self.method == "POST" and "/api/v1/run/" in urlsplit(self.target).path

    @property
    def is_upload(self) -> bool:
        return self.method == "POST" and "/upload/" in urlsplit(self.target).path

    @property
    def streaming(self) -> bool:
        return parse_qs(urlsplit(self.target).query).get("stream") == ["true"]

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer: status, headers, and the body as an asynchronous iterator of chunks."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    chunks: AsyncIterator[bytes]

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def with_header(self, name: str, value: str) -> Answer:
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=(*kept, (name, value)))

    @property
    def is_event_stream(self) -> bool:
        return self.status == 200 and self.header("content-type").startswith("text/event-stream")

    @property
    def is_json(self) -> bool:
        return self.header("content-type").startswith("application/json")

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks])

    def with_body(self, body: bytes) -> Answer:
        return replace(self, chunks=_once(body))


@dataclass(slots=True)
class ProxyState:
    """What a fault may remember across requests of one proxy."""

    api_key: str | None = None
    auth: str = "x-api-key"
    last_tweaks: Any = None
    waiting: dict[bool, tuple[bytes, asyncio.Future[bytes]]] = field(default_factory=dict)


Forward = Callable[[Request], Awaitable[Answer]]
Fault = Callable[[Request, Forward, ProxyState], Awaitable[Answer]]
FAULTS: dict[str, Fault] = {}


def fault(function: Fault) -> Fault:
    """Register ``function`` in :data:`FAULTS` under its name, dashed."""
    FAULTS[function.__name__.replace("_", "-")] = function
    return function


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def _records(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Re-frame a Langflow stream into whole records (a JSON object and its blank line)."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        while (end := buffer.find(_RECORD_END)) >= 0:
            yield buffer[: end + len(_RECORD_END)]
            buffer = buffer[end + len(_RECORD_END) :]
    if buffer:
        yield buffer


def _event(record: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(record)
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _record(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode() + _RECORD_END


RecordRewrite = Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]


def _rewrite_stream(answer: Answer, rewrite: RecordRewrite) -> Answer:
    if not answer.is_event_stream:
        return answer
    return replace(answer, chunks=rewrite(_records(answer.chunks)))


# --- faults: each breaks one promise of the run API -------------------------------------------


@fault
async def pass_through(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """No fault: the control that shows the proxy itself breaks nothing."""
    return await forward(request)


@fault
async def leaked_tweak(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """The last tweaks seen are applied to the next run call that has none, as if stored."""
    body = request.json() if request.is_run else None
    if isinstance(body, dict):
        if body.get("tweaks"):
            state.last_tweaks = body["tweaks"]
        elif state.last_tweaks:
            body["tweaks"] = state.last_tweaks
            request = replace(request, body=json.dumps(body).encode())
    return await forward(request)


def _rename_text(run_response: Any) -> None:
    outputs = run_response.get("outputs") if isinstance(run_response, dict) else None
    for run_output in outputs or []:
        for result in run_output.get("outputs") or []:
            message = (result.get("results") or {}).get("message")
            if isinstance(message, dict) and "text" in message:
                message["txt"] = message.pop("text")


def _rewriting_answers(rewrite: Callable[[Any], None]) -> Fault:
    """A fault that applies ``rewrite`` to each run answer: the JSON body, or the end event's."""

    async def apply(request: Request, forward: Forward, state: ProxyState) -> Answer:
        answer = await forward(request)
        if answer.status == 200 and answer.is_json and request.is_run:
            body = json.loads(await answer.read())
            rewrite(body)
            return answer.with_body(json.dumps(body).encode())

        async def in_end(records: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
            async for record in records:
                event = _event(record)
                if event.get("event") != "end":
                    yield record
                    continue
                rewrite((event.get("data") or {}).get("result"))
                yield _record(event)

        return _rewrite_stream(answer, in_end)

    return apply


@fault
async def renamed_field(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """``results.message.text`` becomes ``txt``, in JSON answers and in the ``end`` event."""
    return await _rewriting_answers(_rename_text)(request, forward, state)


def _rename_output_message(run_response: Any) -> None:
    outputs = run_response.get("outputs") if isinstance(run_response, dict) else None
    for run_output in outputs or []:
        for result in run_output.get("outputs") or []:
            component_outputs = result.get("outputs")
            if isinstance(component_outputs, dict) and "message" in component_outputs:
                component_outputs["msg"] = component_outputs.pop("message")


@fault
async def renamed_output_message(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """``outputs.message`` (where the JavaScript sample reads) becomes ``msg``, both ways."""
    return await _rewriting_answers(_rename_output_message)(request, forward, state)


@fault
async def truncated_stream(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """The stream closes cleanly just before its ``end`` record."""

    async def cut(records: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for record in records:
            if _event(record).get("event") == "end":
                return
            yield record

    return _rewrite_stream(await forward(request), cut)


@fault
async def buffered_stream(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """The whole stream is collected, then sent at once, as a buffering proxy would."""
    answer = await forward(request)
    return answer.with_body(await answer.read()) if answer.is_event_stream else answer


@fault
async def swapped_answers(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """Concurrent run calls are paired up and each gets the other's answer."""
    answer = await forward(request)
    if not request.is_run or answer.status != 200:
        return answer
    mine, kind = await answer.read(), request.streaming
    partner = state.waiting.pop(kind, None)
    if partner is not None:
        theirs, their_future = partner
        their_future.set_result(mine)
        return answer.with_body(theirs)
    future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    state.waiting[kind] = (mine, future)
    try:
        return answer.with_body(await asyncio.wait_for(asyncio.shield(future), SWAP_WINDOW))
    except TimeoutError:
        if future.done():
            return answer.with_body(future.result())
        state.waiting.pop(kind, None)  # alone: nobody to cross with
        return answer.with_body(mine)


@fault
async def bypassed_key(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """A request without the right key gets it added, so that no refusal happens."""
    if state.auth == "bearer":
        if request.header("authorization") != f"Bearer {state.api_key}":
            request = request.with_header("Authorization", f"Bearer {state.api_key}")
    elif request.header("x-api-key") != state.api_key:
        request = request.with_header("x-api-key", state.api_key or "")
    return await forward(request)


@fault
async def not_found_as_500(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """A 404 is answered as a 500, body unchanged."""
    answer = await forward(request)
    return (
        replace(answer, status=500, reason="Internal Server Error")
        if answer.status == 404
        else answer
    )


@fault
async def wrong_stream_content_type(
    request: Request, forward: Forward, state: ProxyState
) -> Answer:
    """A stream is served as ``text/plain``, which clients do not read as a stream."""
    answer = await forward(request)
    if not answer.is_event_stream:
        return answer
    return answer.with_header("content-type", "text/plain; charset=utf-8")


@fault
async def injected_error_event(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """An ``error`` event (one that obeys the contract) is slipped in after the first token."""
    error = {"event": "error", "data": {"error": "flowprobe fault proxy: injected error"}}

    async def inject(records: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        injected = False
        async for record in records:
            yield record
            if not injected and _event(record).get("event") == "token":
                injected = True
                yield _record(error)

    return _rewrite_stream(await forward(request), inject)


@fault
async def dropped_token(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """The first token with text in it never reaches the caller."""

    async def drop(records: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        dropped = False
        async for record in records:
            event = _event(record)
            if not dropped and event.get("event") == "token" and event["data"].get("chunk"):
                dropped = True
                continue
            yield record

    return _rewrite_stream(await forward(request), drop)


@fault
async def renamed_sender(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """A run answer's ``results.message.sender_name`` is changed (the contract still holds)."""
    answer = await forward(request)
    if not (request.is_run and answer.status == 200 and answer.is_json):
        return answer
    body = json.loads(await answer.read())
    for run_output in body.get("outputs") or []:
        for result in run_output.get("outputs") or []:
            message = (result.get("results") or {}).get("message")
            if isinstance(message, dict):
                message["sender_name"] = "flowprobe fault proxy"
    return answer.with_body(json.dumps(body).encode())


@fault
async def upload_without_path(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """An accepted upload's answer loses its ``file_path``."""
    answer = await forward(request)
    if not (request.is_upload and answer.status == 201 and answer.is_json):
        return answer
    body = json.loads(await answer.read())
    body.pop("file_path", None)
    return answer.with_body(json.dumps(body).encode())


def _emptied_file(body: bytes, content_type: str) -> bytes:
    """A multipart body whose file parts hold nothing."""
    boundary = content_type.partition("boundary=")[2].strip('"').encode()
    if not boundary:
        return body
    parts = body.split(b"--" + boundary)
    for index, part in enumerate(parts):
        head, separator, _content = part.partition(b"\r\n\r\n")
        if separator and b"filename=" in head:
            parts[index] = head + separator + b"\r\n"
    return (b"--" + boundary).join(parts)


@fault
async def emptied_upload(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """An uploaded file reaches the server empty, as if the proxy lost its content."""
    if request.is_upload:
        emptied = _emptied_file(request.body, request.header("content-type") or "")
        request = replace(request, body=emptied)
    return await forward(request)


@fault
async def upload_refusal_as_500(request: Request, forward: Forward, state: ProxyState) -> Answer:
    """A refused upload (any 4xx) is answered as a 500, body unchanged."""
    answer = await forward(request)
    if request.is_upload and 400 <= answer.status < 500:
        return replace(answer, status=500, reason="Internal Server Error")
    return answer


# --- HTTP/1.1 on asyncio streams --------------------------------------------------------------


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        body += await reader.readexactly(size)
        await reader.readexactly(2)
    while await reader.readuntil(b"\r\n") != b"\r\n":
        pass  # trailers, ignored
    return bytes(body)


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on a connection; ``None`` when the caller closed it between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    start, *lines = head.decode("latin-1").split("\r\n")
    method, target, _version = start.split(" ", 2)
    pairs = (line.partition(":") for line in lines if line)
    request = Request(method, target, tuple((k.strip(), v.strip()) for k, _, v in pairs))
    if (request.header("transfer-encoding") or "").lower() == "chunked":
        return replace(request, body=await _read_chunked(reader))
    length = int(request.header("content-length") or 0)
    return replace(request, body=await reader.readexactly(length) if length else b"")


async def write_answer(writer: asyncio.StreamWriter, answer: Answer) -> None:
    """Send the status and headers at once, then each chunk as it comes, flushed."""
    lines = [f"HTTP/1.1 {answer.status} {answer.reason}"]
    lines += [f"{k}: {v}" for k, v in answer.headers if k.lower() not in _ANSWER_DROPPED]
    lines.append("transfer-encoding: chunked")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    async for chunk in answer.chunks:
        if chunk:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()


def _bad_gateway(exc: Exception) -> Answer:
    text = f"flowprobe fault proxy: upstream failed: {type(exc).__name__}: {exc}"
    headers = (("content-type", "text/plain; charset=utf-8"),)
    return Answer(502, "Bad Gateway", headers, _once(text.encode()))


async def _drain(response: httpx.Response, body: AsyncIterator[bytes]) -> None:
    """Read what is left of an upstream answer, so that the server never sees a hang-up."""
    try:
        async with asyncio.timeout(DRAIN_LIMIT):
            async for _ in body:
                pass
    except (httpx.HTTPError, TimeoutError, RuntimeError):
        pass  # RuntimeError: the body iterator is still running elsewhere
    finally:
        await response.aclose()


class FaultProxy:
    """A reverse proxy to ``upstream`` that injects the fault named ``fault``.

    Use it as a context manager; :attr:`url` is where callers send requests instead.
    """

    def __init__(
        self, *, upstream: str, fault: str, api_key: str | None = None, auth: str = "x-api-key"
    ) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(sorted(FAULTS))}")
        self.upstream = upstream.rstrip("/")
        self.fault = fault
        self.state = ProxyState(api_key=api_key, auth=auth)
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._connections: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._http: httpx.AsyncClient | None = None

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        close = asyncio.run_coroutine_threadsafe(self._close(), self._loop)
        close.result(timeout=DRAIN_LIMIT + 10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _open(self) -> None:
        timeout = httpx.Timeout(300.0, connect=10.0)
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def _close(self) -> None:
        assert self._server is not None
        assert self._http is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        await self._http.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while (request := await read_request(reader)) is not None:
                await self._exchange(request, writer)
                if (request.header("connection") or "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, httpx.HTTPError, ValueError):
            pass  # the caller went away, sent garbage, or the upstream broke mid-answer
        except asyncio.CancelledError:
            pass  # the proxy is stopping; ending quietly keeps asyncio from logging it
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _exchange(self, request: Request, writer: asyncio.StreamWriter) -> None:
        opened: list[tuple[httpx.Response, AsyncIterator[bytes]]] = []

        async def forward(outgoing: Request) -> Answer:
            assert self._http is not None
            headers = [(k, v) for k, v in outgoing.headers if k.lower() not in _REQUEST_DROPPED]
            headers.append(("accept-encoding", "identity"))  # faults read and rewrite bodies
            url = self.upstream + outgoing.target
            upstream = self._http.build_request(
                outgoing.method, url, headers=headers, content=outgoing.body
            )
            response = await self._http.send(upstream, stream=True)
            body = response.aiter_bytes()
            opened.append((response, body))
            headers = tuple(response.headers.multi_items())
            return Answer(response.status_code, response.reason_phrase, headers, body)

        try:
            try:
                answer = await FAULTS[self.fault](request, forward, self.state)
            except httpx.HTTPError as exc:
                answer = _bad_gateway(exc)
            await write_answer(writer, answer)
        finally:
            for response, body in opened:
                await _drain(response, body)


def main(argv: list[str]) -> int:
    """``python tests/faultproxy.py FAULT``: serve until interrupted."""
    if len(argv) != 1 or argv[0] not in FAULTS:
        print(f"usage: faultproxy.py {{{'|'.join(sorted(FAULTS))}}}", file=sys.stderr)
        return 2
    upstream = os.environ.get("FLOWPROBE_BASE_URL", "http://127.0.0.1:7860")
    key = os.environ.get("FLOWPROBE_API_KEY")
    with FaultProxy(upstream=upstream, fault=argv[0], api_key=key) as proxy:
        print(f"{proxy.url} -> {upstream}, fault {argv[0]}; Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
