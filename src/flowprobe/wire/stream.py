"""An incremental, I/O-free parser for Langflow's streaming run response.

``POST /api/v1/run/{flow}?stream=true`` answers ``200 text/event-stream``, but each record is a
bare JSON object ``{"event": "...", "data": {...}}`` followed by a blank line, without the
``data:`` prefix of real server-sent events. A proxy or a later Langflow may send real SSE
framing instead, so the framing is decided per record: a record whose first line starts with
``{`` or ``[`` is bare JSON, anything else is read as SSE fields.

Like httpx's decoders, :class:`StreamParser` does no I/O: ``feed(chunk)`` returns the events
the chunk completed and ``close()`` flushes the rest. Chunks may split the bytes anywhere,
inside a UTF-8 character or between ``\\r`` and ``\\n``. A record that cannot be read never
raises; it is kept in :attr:`StreamParser.malformed` and parsing goes on.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from flowprobe.jsonpath import value_or_none
from flowprobe.wire.answer_paths import END_RESULT, RESULTS_TEXT

__all__ = [
    "CONVERSATION_EVENTS",
    "PROGRESS_EVENTS",
    "RUN_STREAM_EVENTS",
    "MalformedRecord",
    "StreamEvent",
    "StreamOutcome",
    "StreamParser",
    "StreamSummary",
    "legacy_stream_url",
    "parse_all",
    "summarize",
    "token_text",
]

CONVERSATION_EVENTS = frozenset({"add_message", "token", "end", "error"})
"""The events that carry the conversation: the messages, the answer's pieces and the outcome."""
PROGRESS_EVENTS = frozenset({"log", "build_start", "build_end", "end_vertex"})
"""Events that report a component's progress (an Agent's tool calls, its logs, a Loop's body):
they may come anywhere before the outcome, between tokens too, and a client may ignore them."""
RUN_STREAM_EVENTS = CONVERSATION_EVENTS | PROGRESS_EVENTS
"""Every event Langflow 1.13's run stream can send: those its ``create_stream_tokens_event_manager``
registers. The stream-event contract names the same ones; another name is a contract break."""

# Events that end a run; "done" is what the OpenAI-style ``data: [DONE]`` sentinel becomes.
_COMPLETING_EVENTS = frozenset({"end", "done"})
_ERROR_EVENT = "error"
_TERMINAL_EVENTS = _COMPLETING_EVENTS | {_ERROR_EVENT}
_DONE_SENTINEL = "[DONE]"
_SSE_FIELDS = frozenset({"data", "event", "id", "retry"})
_RECORD_END = b"\n\n"
_DECODER = json.JSONDecoder()  # what json.loads uses, called without its per-call checks


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event of the stream: its name, its parsed JSON data, and when it arrived."""

    event: str
    data: Any
    arrived_at: float


class StreamOutcome(enum.Enum):
    """How a closed stream ended."""

    COMPLETED = "completed"
    """An ``end`` event was seen (or the SSE ``[DONE]`` sentinel)."""
    ERROR = "error"
    """An ``error`` event was seen; Langflow sends it on HTTP 200."""
    TRUNCATED = "truncated"
    """The stream closed with neither an end nor an error."""
    MALFORMED = "malformed"
    """A complete record was not valid JSON, or not an object with an ``event``."""


@dataclass(frozen=True, slots=True)
class MalformedRecord:
    """A record that could not be read: its text, why, and when it arrived."""

    raw: str
    reason: str
    arrived_at: float


class _Malformed(Exception):
    """Raised inside the record readers to carry why a record is unreadable; never escapes."""


# The longest record flowprobe reads: a stream's records are one event each, a few KB at most;
# a server that never ends one would otherwise grow the parser's buffer without bound.
MAX_RECORD_BYTES = 8 * 1024 * 1024


class RecordTooLarge(ValueError):
    """A stream record grew past the parser's ``max_record_bytes`` without ending."""


class StreamParser:
    """Turns the bytes of a Langflow stream into :class:`StreamEvent` objects, chunk by chunk.

    Usage::

        parser = StreamParser()
        for chunk in response.iter_bytes():
            for event in parser.feed(chunk, arrived_at=time.perf_counter()):
                ...
        events = parser.close()
        parser.outcome  # StreamOutcome.COMPLETED, ERROR, TRUNCATED or MALFORMED
    """

    __slots__ = (
        "_buffer",
        "_closed",
        "_event_count",
        "_last_arrived_at",
        "_malformed",
        "_malformed_complete",
        "_pending_cr",
        "_saw_end",
        "_saw_error",
        "_scan",
        "_started",
        "max_record_bytes",
    )

    def __init__(self, max_record_bytes: int = MAX_RECORD_BYTES) -> None:
        self.max_record_bytes = max_record_bytes
        self._buffer = bytearray()
        # Where to resume looking for a blank line, so bytes already searched are not rescanned.
        self._scan = 0
        # The last chunk ended in "\r": a "\n" starting the next one belongs to the same CRLF.
        self._pending_cr = False
        self._started = False
        self._closed = False
        self._last_arrived_at = 0.0
        self._event_count = 0
        self._saw_end = False
        self._saw_error = False
        self._malformed: list[MalformedRecord] = []
        self._malformed_complete = 0

    def feed(self, chunk: bytes, *, arrived_at: float = 0.0) -> list[StreamEvent]:
        """Add received bytes; return the events whose records this chunk completed.

        ``arrived_at`` is stamped on those events. Raises ``ValueError`` after :meth:`close`.
        """
        if self._closed:
            raise ValueError("feed() called after close(); use a new StreamParser per response")
        self._last_arrived_at = arrived_at
        if not chunk:
            return []
        self._buffer += self._normalize_newlines(chunk)
        events = self._drain(arrived_at)
        if len(self._buffer) > self.max_record_bytes:
            self._buffer.clear()
            raise RecordTooLarge(
                f"a stream record grew past {self.max_record_bytes:,} bytes without ending; "
                "flowprobe stops reading (max record size)"
            )
        return events

    def close(self, *, arrived_at: float | None = None) -> list[StreamEvent]:
        """End the stream: read a final record that lacks its blank line; settle the outcome.

        ``arrived_at`` defaults to the stamp of the last :meth:`feed`. Calling it twice is harmless.
        """
        if self._closed:
            return []
        self._closed = True
        stamp = self._last_arrived_at if arrived_at is None else arrived_at
        tail = bytes(self._buffer)
        self._buffer.clear()
        events: list[StreamEvent] = []
        if tail:  # the usual end: nothing left after the last blank line
            self._read_record(tail, stamp, events, complete=False)
        return events

    @property
    def outcome(self) -> StreamOutcome | None:
        """How the stream ended; ``None`` until :meth:`close`.

        An error outranks an end, which outranks a malformed record. An unreadable record cut
        off by :meth:`close` is listed in :attr:`malformed` but counts as truncation.
        """
        if not self._closed:
            return None
        if self._saw_error:
            return StreamOutcome.ERROR
        if self._saw_end:
            return StreamOutcome.COMPLETED
        if self._malformed_complete:
            return StreamOutcome.MALFORMED
        return StreamOutcome.TRUNCATED

    @property
    def malformed(self) -> Sequence[MalformedRecord]:
        """The records that could not be read, in arrival order."""
        return tuple(self._malformed)

    @property
    def event_count(self) -> int:
        """How many events have been returned so far."""
        return self._event_count

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    def _normalize_newlines(self, chunk: bytes) -> bytes:
        # Turning every line ending into "\n" lets one bytes.find(b"\n\n") locate record ends;
        # "\r" never occurs inside a UTF-8 multi-byte character, so this is safe on raw bytes.
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        if b"\r" not in chunk:
            self._pending_cr = False
            return chunk
        self._pending_cr = chunk.endswith(b"\r")
        return chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    def _drain(self, arrived_at: float) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        buffer, start = self._buffer, 0
        while (end := buffer.find(_RECORD_END, self._scan)) >= 0:
            raw = bytes(buffer[start:end])
            # Langflow's own records take the fast path; anything else the general one.
            if raw[:1] != b"{" or not self._read_langflow_record(raw, arrived_at, events):
                self._read_record(raw, arrived_at, events, complete=True)
            start = self._scan = end + len(_RECORD_END)
        if start:
            del buffer[:start]
        # The last byte may be the first "\n" of a blank line finished by the next chunk.
        self._scan = max(len(buffer) - 1, 0)
        return events

    def _read_record(
        self, raw: bytes, arrived_at: float, events: list[StreamEvent], *, complete: bool
    ) -> None:
        # Decoding whole records, never partial chunks, keeps split UTF-8 characters intact;
        # bytes that are not UTF-8 make the record unreadable, not silently replaced.
        try:
            text = raw.decode("utf-8").strip("\n")
        except UnicodeDecodeError as exc:
            shown = raw.decode("utf-8", errors="replace").strip("\n")
            self._started = True
            self._record_malformed(
                shown, f"not UTF-8 (byte {exc.start})", arrived_at, complete=complete
            )
            return
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if not text.strip():
            return
        try:
            event = _parse_record(text, arrived_at)
        except _Malformed as exc:
            self._record_malformed(text, str(exc), arrived_at, complete=complete)
            return
        if event is not None:
            self._accept(event, events)

    def _read_langflow_record(
        self, raw: bytes, arrived_at: float, events: list[StreamEvent]
    ) -> bool:
        """The common case, fast: one JSON object with a string ``event``, read from bytes.

        Anything else returns False and takes the general path, which says what is wrong. A
        record that starts with ``{`` cannot start with a byte order mark, nor end in a newline
        (it ends at the first blank line), so the general path would read it the same way.
        """
        try:
            text = raw.decode("utf-8")  # strict: bad bytes take the general path
            # json.loads without its whitespace handling: the record starts with "{", and
            # anything after the object (even whitespace) takes the general path.
            payload, end = _DECODER.raw_decode(text)
        except (ValueError, RecursionError):
            return False
        if end != len(text) or type(payload) is not dict:
            return False
        name = payload.get("event")
        if type(name) is not str:
            return False
        self._started = True
        self._accept(StreamEvent(name, payload.get("data"), arrived_at), events)
        return True

    def _record_malformed(
        self, text: str, reason: str, arrived_at: float, *, complete: bool
    ) -> None:
        if complete:
            self._malformed_complete += 1
        else:
            # An unreadable tail at close() is a record cut off by a dropped connection:
            # kept as evidence, but the outcome says TRUNCATED rather than MALFORMED.
            reason = f"stream ended inside a record ({reason})"
        self._malformed.append(MalformedRecord(raw=text, reason=reason, arrived_at=arrived_at))

    def _accept(self, event: StreamEvent, events: list[StreamEvent]) -> None:
        if event.event in _COMPLETING_EVENTS:
            self._saw_end = True
        elif event.event == _ERROR_EVENT:
            self._saw_error = True
        self._event_count += 1
        events.append(event)


def _parse_record(text: str, arrived_at: float) -> StreamEvent | None:
    """Read one record in whichever framing it uses; ``None`` for SSE records with no data."""
    if text.lstrip()[:1] in ("{", "["):
        return _from_payload(_loads(text, "record"), arrived_at)
    return _parse_sse(text.split("\n"), arrived_at)


def _parse_sse(lines: list[str], arrived_at: float) -> StreamEvent | None:
    name, has_field = "message", False
    data_lines: list[str] = []
    for line in lines:
        if line.startswith(":"):  # a comment, often a keep-alive
            has_field = True
            continue
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        has_field = has_field or field in _SSE_FIELDS
        if field == "data":
            data_lines.append(value)
        elif field == "event":
            name = value or "message"
    if not data_lines:
        if not has_field:
            raise _Malformed("neither a JSON object nor server-sent event fields")
        return None  # SSE dispatches nothing without data: comments, id or retry only
    return _from_sse_data("\n".join(data_lines), name, arrived_at)


def _from_sse_data(data: str, name: str, arrived_at: float) -> StreamEvent:
    if data == _DONE_SENTINEL:
        return StreamEvent(event="done", data=None, arrived_at=arrived_at)
    payload = _loads(data, "data field")
    if isinstance(payload, dict) and "event" in payload:
        return _from_payload(payload, arrived_at)  # Langflow's own record, wrapped in SSE
    return StreamEvent(event=name, data=payload, arrived_at=arrived_at)


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # deep nesting must not escape feed() either
        raise _Malformed(f"{what} is not valid JSON: {exc}") from None


def _from_payload(payload: Any, arrived_at: float) -> StreamEvent:
    if not isinstance(payload, dict):
        raise _Malformed(f"JSON {type(payload).__name__} is not an object with an 'event' key")
    name = payload.get("event")
    if name is None:
        raise _Malformed("JSON object has no 'event' key")
    if not isinstance(name, str):
        raise _Malformed(f"'event' is a {type(name).__name__}, not a string")
    return StreamEvent(event=name, data=payload.get("data"), arrived_at=arrived_at)


def token_text(event: StreamEvent) -> str | None:
    """The text piece of a ``token`` event, or ``None`` for any other event."""
    if event.event != "token" or not isinstance(event.data, Mapping):
        return None
    chunk = event.data.get("chunk")
    return chunk if isinstance(chunk, str) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamSummary:
    """Timings and text of one streamed run, all times in the unit of the ``arrived_at`` stamps.

    Time to first byte is not here: it is known to the transport, not to the parser.
    """

    first_token_at: float | None
    token_times: list[float]
    time_to_first_token: float | None
    inter_token_latencies: list[float]
    end_to_end: float | None
    output_tokens: int
    text: str
    final_text: str | None
    error: Any
    outcome: StreamOutcome | None


def summarize(
    events: Iterable[StreamEvent], *, started_at: float, outcome: StreamOutcome | None
) -> StreamSummary:
    """Measure a run from its events; ``started_at`` is when the request was sent."""
    events = list(events)
    tokens = [event for event in events if event.event == "token"]
    token_times = [event.arrived_at for event in tokens]
    first = token_times[0] if token_times else None
    terminal = _first(events, _TERMINAL_EVENTS)
    end = _first(events, {"end"})
    error = _first(events, {_ERROR_EVENT})
    return StreamSummary(
        first_token_at=first,
        token_times=token_times,
        time_to_first_token=None if first is None else first - started_at,
        inter_token_latencies=[b - a for a, b in pairwise(token_times)],
        end_to_end=None if terminal is None else terminal.arrived_at - started_at,
        output_tokens=len(tokens),
        text="".join(token_text(event) or "" for event in tokens),
        final_text=None if end is None else _final_text(end.data),
        error=None if error is None else error.data,
        outcome=outcome,
    )


def _first(events: list[StreamEvent], names: Container[str]) -> StreamEvent | None:
    return next((event for event in events if event.event in names), None)


def _final_text(end_data: Any) -> str | None:
    text = value_or_none(end_data, (*END_RESULT[1:], *RESULTS_TEXT))
    return text if isinstance(text, str) else None


def parse_all(body: bytes) -> tuple[list[StreamEvent], StreamParser]:
    """Parse a whole recorded body; the returned parser is closed and holds the outcome."""
    parser = StreamParser()
    events = parser.feed(body)
    events += parser.close()
    return events, parser


def legacy_stream_url(body: Mapping[str, Any]) -> str | None:
    """The ``artifacts.stream_url`` an older Langflow put in a non-streaming-shaped answer.

    Looks at ``outputs[*].outputs[*]`` in order (``outputs[0].outputs[0]`` first) and returns the
    first non-empty URL as sent, usually a path to resolve against the base URL; else ``None``.
    """
    for run_output in _as_list(body.get("outputs")):
        for output in _as_list(value_or_none(run_output, ("outputs",))):
            url = value_or_none(output, ("artifacts", "stream_url"))
            if isinstance(url, str) and url:
                return url
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
