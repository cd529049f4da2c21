"""The run call over httpx, sync and async, with explicit deadlines.

A non-streaming call returns the parsed body with its timings (:class:`RunResult`). A streaming
call yields :class:`~flowprobe.wire.stream.StreamEvent` objects as they arrive, each stamped with
``time.perf_counter()`` at arrival; :meth:`RunClient.run_stream` collects them into a
:class:`StreamedRun`. Failures to reach or read the target raise :class:`TargetError` with one
sentence naming the endpoint and what to do; HTTP error statuses are returned, not raised, since
the suites check them.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from flowprobe import contracts
from flowprobe.errors import TargetError
from flowprobe.jsonpath import value_or_none
from flowprobe.target import Target
from flowprobe.wire.answer_paths import RESULTS_TEXT
from flowprobe.wire.stream import (
    StreamEvent,
    StreamOutcome,
    StreamParser,
    StreamSummary,
    legacy_stream_url,
    summarize,
)

__all__ = ["AsyncRunClient", "Deadlines", "RunClient", "RunResult", "StreamedRun", "run_body"]

_UNSET: Any = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class Deadlines:
    """Seconds allowed: to connect, between two reads (idle), and for the whole call."""

    connect: float = 5.0
    idle: float = 60.0
    total: float = 120.0

    def httpx_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect, read=self.idle, write=self.idle, pool=self.connect
        )


@dataclass(frozen=True, slots=True)
class RunResult:
    """A non-streaming answer: status, parsed body (None if not JSON), and timings in seconds."""

    status: int
    body: Any
    text: str
    headers: Mapping[str, str]
    time_to_first_byte: float
    elapsed: float

    @property
    def is_json(self) -> bool:
        return self.body is not None

    def answer_text(self) -> str | None:
        """``outputs[0].outputs[0].results.message.text``, the path most clients read."""
        text = value_or_none(self.body, RESULTS_TEXT)
        return None if text is None else str(text)


@dataclass(slots=True)
class StreamedRun:
    """A whole streaming answer: status, events in arrival order, outcome and timings."""

    status: int
    headers: Mapping[str, str]
    started_at: float
    time_to_first_byte: float | None = None
    events: list[StreamEvent] = field(default_factory=list)
    parser: StreamParser = field(default_factory=StreamParser)
    error_body: Any = None

    @property
    def outcome(self) -> StreamOutcome | None:
        return self.parser.outcome

    def summary(self) -> StreamSummary:
        return summarize(self.events, started_at=self.started_at, outcome=self.outcome)


def run_body(
    *,
    input_value: str | None = "hello",
    input_type: str = "chat",
    output_type: str = "chat",
    session_id: str | None = None,
    tweaks: Mapping[str, Any] | None = None,
    output_component: str | None = None,
) -> dict[str, Any]:
    """A run request body; fields left at None are not sent."""
    body: dict[str, Any] = {
        "input_value": input_value,
        "input_type": input_type,
        "output_type": output_type,
    }
    optional = {"session_id": session_id, "tweaks": tweaks, "output_component": output_component}
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _request_content(body: Any, content: bytes | None, validate: bool) -> bytes:
    if content is not None:
        return content
    if validate:
        contracts.check("run-request", body)
    return json.dumps(body).encode()


def _headers(target: Target, api_key: Any) -> dict[str, str]:
    headers = {"content-type": "application/json", "accept": "application/json"}
    headers.update(target.auth_headers(api_key=None if api_key is _UNSET else (api_key or "")))
    return headers


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _explain(exc: httpx.HTTPError, url: str, target: Target, deadlines: Deadlines) -> TargetError:
    where = target.redact(url)
    if isinstance(exc, httpx.ConnectTimeout):
        text = f"could not connect to {where} within {deadlines.connect:g} s"
    elif isinstance(exc, httpx.ConnectError):
        text = f"cannot reach {where} (connection refused or unknown host)"
        text += "; is Langflow running there? Check FLOWPROBE_BASE_URL, or run `flowprobe up`"
    elif isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        text = f"{where} sent nothing for {deadlines.idle:g} s (idle deadline); the stream stalled"
    elif isinstance(exc, httpx.RemoteProtocolError):
        text = f"{where} closed the connection mid-answer ({target.redact(str(exc))})"
    else:
        text = f"the call to {where} failed: {target.redact(type(exc).__name__ + ': ' + str(exc))}"
    return TargetError(text)


def _over_total(started_at: float, deadlines: Deadlines, url: str, target: Target) -> None:
    if time.perf_counter() - started_at > deadlines.total:
        raise TargetError(
            f"{target.redact(url)} did not finish within {deadlines.total:g} s (total deadline)"
        )


class _Base:
    def __init__(
        self, target: Target, *, deadlines: Deadlines | None = None, validate_requests: bool = True
    ) -> None:
        self.target = target
        self.deadlines = deadlines or Deadlines()
        self.validate_requests = validate_requests

    def _prepare(
        self,
        stream: bool,
        body: Any,
        content: bytes | None,
        api_key: Any,
        flow: str | None,
        params: Mapping[str, str] | None,
    ) -> tuple[str, bytes, dict[str, str]]:
        url = self.target.run_url(stream=stream, flow=flow)
        if params:
            url += "&" + str(httpx.QueryParams(params))
        # Only None means "the default body": {} or [] are bodies a suite means to send.
        body = run_body() if body is None else body
        data = _request_content(body, content, self.validate_requests)
        return url, data, _headers(self.target, api_key)


class RunClient(_Base):
    """Synchronous run calls against one :class:`Target`."""

    def __init__(
        self,
        target: Target,
        *,
        deadlines: Deadlines | None = None,
        validate_requests: bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(target, deadlines=deadlines, validate_requests=validate_requests)
        self.http = httpx.Client(timeout=self.deadlines.httpx_timeout(), transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RunClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run(
        self,
        body: Any = None,
        *,
        content: bytes | None = None,
        api_key: Any = _UNSET,
        flow: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> RunResult:
        """One non-streaming call; ``body`` defaults to :func:`run_body`'s."""
        url, data, headers = self._prepare(False, body, content, api_key, flow, params)
        started = time.perf_counter()
        try:
            with self.http.stream("POST", url, content=data, headers=headers) as response:
                first_byte = time.perf_counter() - started
                raw = b"".join(self._chunks(response, started, url))
        except httpx.HTTPError as exc:
            raise _explain(exc, url, self.target, self.deadlines) from None
        return RunResult(
            status=response.status_code,
            body=_decode(raw),
            text=raw.decode("utf-8", "replace"),
            headers=dict(response.headers),
            time_to_first_byte=first_byte,
            elapsed=time.perf_counter() - started,
        )

    def _chunks(self, response: httpx.Response, started: float, url: str) -> Iterator[bytes]:
        for chunk in response.iter_bytes():
            _over_total(started, self.deadlines, url, self.target)
            yield chunk

    @contextmanager
    def stream(
        self,
        body: Any = None,
        *,
        content: bytes | None = None,
        api_key: Any = _UNSET,
        flow: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Iterator[tuple[StreamedRun, Iterator[StreamEvent]]]:
        """Open a streaming call; iterate the events as they arrive."""
        url, data, headers = self._prepare(True, body, content, api_key, flow, params)
        started = time.perf_counter()
        try:
            with self.http.stream("POST", url, content=data, headers=headers) as response:
                run = StreamedRun(response.status_code, dict(response.headers), started)
                yield run, self._events(run, response, url)
        except httpx.HTTPError as exc:
            raise _explain(exc, url, self.target, self.deadlines) from None

    def run_stream(self, body: Any = None, **kwargs: Any) -> StreamedRun:
        """One streaming call, read to its end."""
        with self.stream(body, **kwargs) as (run, events):
            for _ in events:
                pass
        return run

    def _events(
        self, run: StreamedRun, response: httpx.Response, url: str
    ) -> Iterator[StreamEvent]:
        if response.status_code != 200 or _is_json(response):
            yield from self._non_stream_answer(run, response, url)
            return
        for chunk in self._chunks(response, run.started_at, url):
            now = time.perf_counter()
            if run.time_to_first_byte is None:
                run.time_to_first_byte = now - run.started_at
            for event in run.parser.feed(chunk, arrived_at=now):
                run.events.append(event)
                yield event
        for event in run.parser.close(arrived_at=time.perf_counter()):
            run.events.append(event)
            yield event

    def _non_stream_answer(
        self, run: StreamedRun, response: httpx.Response, url: str
    ) -> Iterator[StreamEvent]:
        run.time_to_first_byte = time.perf_counter() - run.started_at
        run.error_body = _decode(response.read())
        legacy = legacy_stream_url(run.error_body) if isinstance(run.error_body, dict) else None
        run.parser.close()
        if legacy and response.status_code == 200:
            yield from self._follow_legacy(run, legacy)

    def _follow_legacy(self, run: StreamedRun, stream_url: str) -> Iterator[StreamEvent]:
        url = _legacy_url(self.target, stream_url)
        run.parser = StreamParser()
        with self.http.stream("GET", url, headers=_headers(self.target, _UNSET)) as response:
            yield from self._events(run, response, url)


def _is_json(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("application/json")


def _legacy_url(target: Target, stream_url: str) -> str:
    # Older Langflow answered with a URL to open as an EventSource instead of streaming.
    return stream_url if "://" in stream_url else target.base_url + stream_url


class AsyncRunClient(_Base):
    """Asynchronous run calls against one :class:`Target` (for concurrency suites)."""

    def __init__(
        self,
        target: Target,
        *,
        deadlines: Deadlines | None = None,
        validate_requests: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(target, deadlines=deadlines, validate_requests=validate_requests)
        self.http = httpx.AsyncClient(timeout=self.deadlines.httpx_timeout(), transport=transport)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncRunClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def run(
        self, body: Any = None, *, api_key: Any = _UNSET, flow: str | None = None
    ) -> RunResult:
        """One non-streaming call."""
        url, data, headers = self._prepare(False, body, None, api_key, flow, None)
        started = time.perf_counter()
        try:
            async with self.http.stream("POST", url, content=data, headers=headers) as response:
                first_byte = time.perf_counter() - started
                raw = b""
                async for chunk in response.aiter_bytes():
                    _over_total(started, self.deadlines, url, self.target)
                    raw += chunk
        except httpx.HTTPError as exc:
            raise _explain(exc, url, self.target, self.deadlines) from None
        return RunResult(
            status=response.status_code,
            body=_decode(raw),
            text=raw.decode("utf-8", "replace"),
            headers=dict(response.headers),
            time_to_first_byte=first_byte,
            elapsed=time.perf_counter() - started,
        )

    @asynccontextmanager
    async def stream(
        self, body: Any = None, *, api_key: Any = _UNSET, flow: str | None = None
    ) -> AsyncIterator[tuple[StreamedRun, AsyncIterator[StreamEvent]]]:
        """Open a streaming call; iterate the events as they arrive."""
        url, data, headers = self._prepare(True, body, None, api_key, flow, None)
        started = time.perf_counter()
        try:
            async with self.http.stream("POST", url, content=data, headers=headers) as response:
                run = StreamedRun(response.status_code, dict(response.headers), started)
                yield run, self._events(run, response, url)
        except httpx.HTTPError as exc:
            raise _explain(exc, url, self.target, self.deadlines) from None

    async def run_stream(
        self, body: Any = None, *, api_key: Any = _UNSET, flow: str | None = None
    ) -> StreamedRun:
        """One streaming call, read to its end."""
        async with self.stream(body, api_key=api_key, flow=flow) as (run, events):
            async for _ in events:
                pass
        return run

    async def _events(
        self, run: StreamedRun, response: httpx.Response, url: str
    ) -> AsyncIterator[StreamEvent]:
        if response.status_code != 200 or _is_json(response):
            run.time_to_first_byte = time.perf_counter() - run.started_at
            run.error_body = _decode(await response.aread())
            run.parser.close()
            legacy = legacy_stream_url(run.error_body) if isinstance(run.error_body, dict) else None
            if legacy and response.status_code == 200:
                async for event in self._follow_legacy(run, legacy):
                    yield event
            return
        async for chunk in response.aiter_bytes():
            now = time.perf_counter()
            _over_total(run.started_at, self.deadlines, url, self.target)
            if run.time_to_first_byte is None:
                run.time_to_first_byte = now - run.started_at
            for event in run.parser.feed(chunk, arrived_at=now):
                run.events.append(event)
                yield event
        for event in run.parser.close(arrived_at=time.perf_counter()):
            run.events.append(event)
            yield event

    async def _follow_legacy(self, run: StreamedRun, stream_url: str) -> AsyncIterator[StreamEvent]:
        url = _legacy_url(self.target, stream_url)
        run.parser = StreamParser()
        headers = _headers(self.target, _UNSET)
        async with self.http.stream("GET", url, headers=headers) as response:
            async for event in self._events(run, response, url):
                yield event
