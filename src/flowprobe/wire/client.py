"""The run call over httpx, sync and async, with explicit deadlines.

A non-streaming call returns the parsed body with its timings (:class:`RunResult`). A streaming
call yields :class:`~flowprobe.wire.stream.StreamEvent` objects as they arrive, each stamped with
``time.perf_counter()`` at arrival; :meth:`RunClient.run_stream` collects them into a
:class:`StreamedRun`. Failures to reach or read the target raise :class:`TargetError` with one
sentence naming the endpoint and what to do; HTTP error statuses are returned, not raised, since
the suites check them.

The two clients are twins in the manner of httpx's: :class:`_BaseRunClient` holds everything that
does no I/O (preparing the request, building the results, the bookkeeping of each chunk received,
whether a stream call got one whole body and where a legacy ``stream_url`` leads), and
:class:`RunClient` and :class:`AsyncRunClient` only send and read, through methods of the same
names and signatures.

A client can carry :class:`CallDefaults`: tweaks and a session id that every call it sends
carries unless the call's own body says otherwise (the suites' per-call settings).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from dataclasses import dataclass, field
from typing import Any

import httpx

from flowprobe import contracts
from flowprobe.errors import TargetError
from flowprobe.jsonpath import value_or_none
from flowprobe.settings import SESSION_FRESH, SESSION_NONE
from flowprobe.target import Target
from flowprobe.wire.answer_paths import RESULTS_TEXT
from flowprobe.wire.stream import (
    RecordTooLarge,
    StreamEvent,
    StreamOutcome,
    StreamParser,
    StreamSummary,
    legacy_stream_url,
    summarize,
)

__all__ = [
    "WEDGED",
    "AsyncRunClient",
    "CallDefaults",
    "Deadlines",
    "RunClient",
    "RunResult",
    "StreamedRun",
    "TargetWedged",
    "merge_tweaks",
    "run_body",
    "wedged",
]

_UNSET: Any = object()
# The largest answer flowprobe reads, decompressed: a broken or hostile server must not exhaust
# the memory of the machine that tests it.
MAX_BODY_BYTES = 32 * 1024 * 1024


# Langflow on SQLite can wedge: /health stays 200, but every run waits ~30 s for the database
# and answers 500 "database is locked". No later call will fare better, so callers stop.
WEDGED = "the target stopped running flows (database is locked)"
_WEDGE_SIGN = "database is locked"


def wedged(status: int, text: str) -> bool:
    """Whether an answer says the target can run no more flows (a 5xx, database locked)."""
    return status >= 500 and _WEDGE_SIGN in text.lower()


class TargetWedged(TargetError):
    """The target answered that it can run no more flows; its message starts with
    :data:`WEDGED`."""


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


def merge_tweaks(under: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged onto ``under``, per component: a component's fields from both, with
    ``over``'s winning where both set one; any other value of ``over`` replaces ``under``'s."""
    merged = dict(under)
    for key, value in over.items():
        below = merged.get(key)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            merged[key] = {**below, **value}
        else:
            merged[key] = value
    return merged


def _random_session() -> str:
    return f"flowprobe-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallDefaults:
    """What every JSON object body a client sends carries unless the body sets it itself.

    ``tweaks`` are merged under the body's own, per component (a user's model choice stays, a
    suite's nonce is added). ``session`` is ``"fresh"`` (a new id from ``new_session`` on each
    call, so a memory flow starts every call without history), ``"none"`` (no session_id: Langflow
    files the call under the flow's id) or a fixed session id.
    """

    tweaks: Mapping[str, Any] = field(default_factory=dict)
    session: str = SESSION_NONE
    new_session: Callable[[], str] = _random_session

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with the defaults it lacks; the caller's dict is left as it was."""
        body = dict(body)
        own = body.get("tweaks")
        if self.tweaks and (own is None or isinstance(own, Mapping)):
            body["tweaks"] = merge_tweaks(self.tweaks, own or {})
        if "session_id" not in body and self.session != SESSION_NONE:
            fresh = self.session == SESSION_FRESH
            body["session_id"] = self.new_session() if fresh else self.session
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


def _is_json(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("application/json")


def _legacy_url(target: Target, stream_url: str) -> str | None:
    """Where an older Langflow's ``stream_url`` leads, or None when it leaves the target's own
    origin: the key is sent with it, so it never goes to another scheme, host or port."""
    url = httpx.URL(target.base_url).join(stream_url)
    base = httpx.URL(target.base_url)
    same = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
    return str(url) if same else None


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


def _handed_out(run: StreamedRun, events: list[StreamEvent]) -> Iterator[StreamEvent]:
    # Appending each event only as it is handed out keeps run.events equal to what the caller
    # has seen, even when it stops iterating in the middle of a chunk.
    for event in events:
        run.events.append(event)
        yield event


@dataclass(slots=True)
class _Call:
    """One request to send, when its run started (for the timings and the total deadline), and
    how many bytes of its answer have arrived (for the size limit)."""

    method: str
    url: str
    content: bytes | None
    headers: dict[str, str]
    started_at: float
    received: int = 0

    def elapsed(self) -> float:
        return time.perf_counter() - self.started_at


class _BaseRunClient:
    """All that the two clients share: every step that does no I/O."""

    def __init__(
        self,
        target: Target,
        *,
        deadlines: Deadlines | None = None,
        validate_requests: bool = True,
        max_body_bytes: int = MAX_BODY_BYTES,
        defaults: CallDefaults | None = None,
    ) -> None:
        self.target = target
        self.deadlines = deadlines or Deadlines()
        self.validate_requests = validate_requests
        self.max_body_bytes = max_body_bytes
        self.defaults = defaults or CallDefaults()

    def _prepare(
        self,
        stream: bool,
        body: Any,
        content: bytes | None,
        api_key: Any,
        flow: str | None,
        params: Mapping[str, str] | None,
    ) -> _Call:
        url = self.target.run_url(stream=stream, flow=flow)
        if params:
            url += "&" + str(httpx.QueryParams(params))
        # Only None means "the default body": {} or [] are bodies a suite means to send.
        body = run_body() if body is None else body
        if content is None and isinstance(body, dict):
            body = self.defaults.apply(body)
        data = _request_content(body, content, self.validate_requests)
        # The clock starts once the body is checked, so validation never counts as latency.
        return _Call("POST", url, data, _headers(self.target, api_key), time.perf_counter())

    @contextmanager
    def _explained(self, call: _Call) -> Iterator[None]:
        """Turn a failure to reach or read the target into one :class:`TargetError` sentence."""
        try:
            yield
        except httpx.HTTPError as exc:
            raise _explain(exc, call.url, self.target, self.deadlines) from None

    def _checked(self, call: _Call, chunk: bytes) -> bytes:
        """``chunk``, once the run is known to be within its total deadline and size limit."""
        if call.elapsed() > self.deadlines.total:
            raise TargetError(
                f"{self.target.redact(call.url)} did not finish within "
                f"{self.deadlines.total:g} s (total deadline)"
            )
        call.received += len(chunk)
        if call.received > self.max_body_bytes:
            raise TargetError(
                f"{self.target.redact(call.url)} answered more than {self.max_body_bytes:,} "
                "bytes; flowprobe stops reading (max body size)"
            )
        return chunk

    def _refuse_wedged(self, call: _Call, status: int, raw: bytes) -> None:
        """Raise :class:`TargetWedged` for an answer that says the target runs no more flows."""
        if wedged(status, raw.decode("utf-8", "replace")):
            raise TargetWedged(
                f"{WEDGED}: {self.target.redact(call.url)} answered {status} after "
                f"{call.elapsed():.1f} s; restart it (its /health may still say ok)"
            )

    def _result(
        self, call: _Call, response: httpx.Response, raw: bytes, time_to_first_byte: float
    ) -> RunResult:
        self._refuse_wedged(call, response.status_code, raw)
        return RunResult(
            status=response.status_code,
            body=_decode(raw),
            text=raw.decode("utf-8", "replace"),
            headers=dict(response.headers),
            time_to_first_byte=time_to_first_byte,
            elapsed=call.elapsed(),
        )

    def _open_run(self, call: _Call, response: httpx.Response) -> StreamedRun:
        return StreamedRun(response.status_code, dict(response.headers), call.started_at)

    def _answered_whole(self, run: StreamedRun, response: httpx.Response) -> bool:
        """Whether a stream call got one whole body (an error status, or JSON) instead of events.

        If so, its first byte is stamped now, as its headers arrive, the way ``run`` stamps it.
        """
        if response.status_code == 200 and not _is_json(response):
            return False
        run.time_to_first_byte = time.perf_counter() - run.started_at
        return True

    def _whole_answer(self, run: StreamedRun, call: _Call, status: int, raw: bytes) -> _Call | None:
        """Keep a whole answer as the run's ``error_body``; the legacy stream to follow, if any.

        A legacy stream is followed once, never from another legacy stream, and only on the
        target's own origin: a ``stream_url`` elsewhere is left unfollowed (the run reads as
        truncated) rather than sent the key.
        """
        self._refuse_wedged(call, status, raw)
        run.error_body = _decode(raw)
        run.parser.close()
        legacy = legacy_stream_url(run.error_body) if isinstance(run.error_body, dict) else None
        if legacy is None or status != 200 or call.method == "GET":
            return None
        url = _legacy_url(self.target, legacy)
        if url is None:
            return None
        run.parser = StreamParser()
        headers = _headers(self.target, _UNSET)
        return _Call("GET", url, None, headers, run.started_at, call.received)

    def _arrived(self, run: StreamedRun, call: _Call, chunk: bytes) -> Iterator[StreamEvent]:
        """The events a stream chunk completes, after the total deadline and first-byte stamp."""
        self._checked(call, chunk)
        now = time.perf_counter()
        if run.time_to_first_byte is None:
            run.time_to_first_byte = now - run.started_at
        try:
            events = run.parser.feed(chunk, arrived_at=now)
        except RecordTooLarge as exc:
            raise TargetError(f"{self.target.redact(call.url)}: {exc}") from None
        return _handed_out(run, events)

    def _ended(self, run: StreamedRun) -> Iterator[StreamEvent]:
        """The events the end of a stream completes, and its settled outcome."""
        return _handed_out(run, run.parser.close(arrived_at=time.perf_counter()))


class RunClient(_BaseRunClient):
    """Synchronous run calls against one :class:`Target`."""

    def __init__(
        self,
        target: Target,
        *,
        deadlines: Deadlines | None = None,
        validate_requests: bool = True,
        transport: httpx.BaseTransport | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        defaults: CallDefaults | None = None,
    ) -> None:
        super().__init__(
            target,
            deadlines=deadlines,
            validate_requests=validate_requests,
            max_body_bytes=max_body_bytes,
            defaults=defaults,
        )
        self.http = httpx.Client(timeout=self.deadlines.httpx_timeout(), transport=transport)

    def close(self) -> None:
        """Close the client's connections."""
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
        """One non-streaming call; ``body`` defaults to :func:`run_body`'s.

        ``content`` is sent as is in place of ``body``, unchecked; ``params`` joins the query.
        """
        call = self._prepare(False, body, content, api_key, flow, params)
        with self._explained(call), self._send(call) as response:
            time_to_first_byte = call.elapsed()
            raw = b"".join([self._checked(call, chunk) for chunk in response.iter_bytes()])
        return self._result(call, response, raw, time_to_first_byte)

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
        call = self._prepare(True, body, content, api_key, flow, params)
        with self._explained(call), self._send(call) as response:
            run = self._open_run(call, response)
            yield run, self._events(run, call, response)

    def run_stream(
        self,
        body: Any = None,
        *,
        content: bytes | None = None,
        api_key: Any = _UNSET,
        flow: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> StreamedRun:
        """One streaming call, read to its end."""
        streaming = self.stream(body, content=content, api_key=api_key, flow=flow, params=params)
        with streaming as (run, events):
            for _ in events:
                pass
        return run

    def _send(self, call: _Call) -> AbstractContextManager[httpx.Response]:
        return self.http.stream(call.method, call.url, content=call.content, headers=call.headers)

    def _events(
        self, run: StreamedRun, call: _Call, response: httpx.Response
    ) -> Iterator[StreamEvent]:
        if self._answered_whole(run, response):
            raw = b"".join([self._checked(call, chunk) for chunk in response.iter_bytes()])
            legacy = self._whole_answer(run, call, response.status_code, raw)
            if legacy is not None:
                with self._send(legacy) as followed:
                    yield from self._events(run, legacy, followed)
            return
        for chunk in response.iter_bytes():
            yield from self._arrived(run, call, chunk)
        yield from self._ended(run)


class AsyncRunClient(_BaseRunClient):
    """Asynchronous run calls against one :class:`Target` (for concurrency suites)."""

    def __init__(
        self,
        target: Target,
        *,
        deadlines: Deadlines | None = None,
        validate_requests: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        defaults: CallDefaults | None = None,
    ) -> None:
        super().__init__(
            target,
            deadlines=deadlines,
            validate_requests=validate_requests,
            max_body_bytes=max_body_bytes,
            defaults=defaults,
        )
        self.http = httpx.AsyncClient(timeout=self.deadlines.httpx_timeout(), transport=transport)

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.http.aclose()

    async def __aenter__(self) -> AsyncRunClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def run(
        self,
        body: Any = None,
        *,
        content: bytes | None = None,
        api_key: Any = _UNSET,
        flow: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> RunResult:
        """One non-streaming call; ``body`` defaults to :func:`run_body`'s.

        ``content`` is sent as is in place of ``body``, unchecked; ``params`` joins the query.
        """
        call = self._prepare(False, body, content, api_key, flow, params)
        with self._explained(call):
            async with self._send(call) as response:
                time_to_first_byte = call.elapsed()
                raw = b"".join(
                    [self._checked(call, chunk) async for chunk in response.aiter_bytes()]
                )
        return self._result(call, response, raw, time_to_first_byte)

    @asynccontextmanager
    async def stream(
        self,
        body: Any = None,
        *,
        content: bytes | None = None,
        api_key: Any = _UNSET,
        flow: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[tuple[StreamedRun, AsyncIterator[StreamEvent]]]:
        """Open a streaming call; iterate the events as they arrive."""
        call = self._prepare(True, body, content, api_key, flow, params)
        with self._explained(call):
            async with self._send(call) as response:
                run = self._open_run(call, response)
                yield run, self._events(run, call, response)

    async def run_stream(
        self,
        body: Any = None,
        *,
        content: bytes | None = None,
        api_key: Any = _UNSET,
        flow: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> StreamedRun:
        """One streaming call, read to its end."""
        streaming = self.stream(body, content=content, api_key=api_key, flow=flow, params=params)
        async with streaming as (run, events):
            async for _ in events:
                pass
        return run

    def _send(self, call: _Call) -> AbstractAsyncContextManager[httpx.Response]:
        return self.http.stream(call.method, call.url, content=call.content, headers=call.headers)

    async def _events(
        self, run: StreamedRun, call: _Call, response: httpx.Response
    ) -> AsyncIterator[StreamEvent]:
        if self._answered_whole(run, response):
            raw = b"".join([self._checked(call, chunk) async for chunk in response.aiter_bytes()])
            legacy = self._whole_answer(run, call, response.status_code, raw)
            if legacy is not None:
                async with self._send(legacy) as followed:
                    async for event in self._events(run, legacy, followed):
                        yield event
            return
        async for chunk in response.aiter_bytes():
            for event in self._arrived(run, call, chunk):
                yield event
        for event in self._ended(run):
            yield event
