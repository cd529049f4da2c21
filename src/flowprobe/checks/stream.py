"""Named checks of a streamed run answer.

:func:`stream_violations` judges the events and the parser's outcome of a stream already read,
without raising and without I/O; :func:`check_stream` raises the first violation, and a
streaming load user counts it by kind. The order of the violations is the order a suite reports
them in: status, content type, unreadable records, contract breaks, then how the stream ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowprobe import contracts
from flowprobe.checks.answer import answered_body
from flowprobe.checks.verdict import (
    CONTRACT,
    ERROR_EVENT,
    MALFORMED,
    TRUNCATED,
    Violation,
    from_contract,
    raise_first,
    status_violations,
    violation,
)
from flowprobe.jsonpath import path_of, shorten
from flowprobe.wire.answer_paths import END_RESULT, RESULTS_TEXT
from flowprobe.wire.client import StreamedRun
from flowprobe.wire.stream import (
    PROGRESS_EVENTS,
    StreamEvent,
    StreamOutcome,
    StreamParser,
    StreamSummary,
)

STREAM_ANSWERS_200 = "a streaming run call answers 200"
EVENT_STREAM = "text/event-stream"


def stream_violations(
    events: Sequence[StreamEvent],
    parser: StreamParser,
    *,
    status: int = 200,
    content_type: str = EVENT_STREAM,
    body: Any = None,
    validate: bool = True,
) -> list[Violation]:
    """How a stream breaks its promises; ``parser`` has been closed and holds the outcome.

    ``body`` is what a refused stream answered (shown with a wrong status); ``validate=False``
    leaves out the stream-event contract, the costly part.
    """
    refused = status_violations(status, 200, STREAM_ANSWERS_200, body)
    if refused:
        return refused
    found = _content_type_violations(content_type)
    found += _malformed_violations(parser)
    if validate:
        found += _event_contract_violations(events)
    found += _ending_violations(events, parser.outcome)
    return found


def _content_type_violations(content_type: str) -> list[Violation]:
    if content_type.startswith(EVENT_STREAM):
        return []
    return [
        violation(
            "a stream is served as text/event-stream",
            CONTRACT,
            path="content-type",
            expected=EVENT_STREAM,
            received=content_type,
        )
    ]


def _malformed_violations(parser: StreamParser) -> list[Violation]:
    # The parser counts a record cut off by a dropped connection as truncation, not as a
    # malformed stream: when the outcome says truncated, the only unreadable record is that one.
    kind = TRUNCATED if parser.outcome is StreamOutcome.TRUNCATED else MALFORMED
    return [
        violation(
            "every stream record is a JSON object with an event",
            kind,
            path="stream record",
            expected="a JSON object",
            received=f"{malformed.raw!r} ({malformed.reason})",
        )
        for malformed in parser.malformed
    ]


def _event_contract_violations(events: Sequence[StreamEvent]) -> list[Violation]:
    found = []
    for index, event in enumerate(events):
        title = f"stream record {index} ({event.event}) breaks the stream-event contract"
        record = {"event": event.event, "data": event.data}
        for broken in contracts.iter_violations("stream-event", record):
            found.append(from_contract(broken, title))
    return found


def _ending_violations(
    events: Sequence[StreamEvent], outcome: StreamOutcome | None
) -> list[Violation]:
    if outcome is StreamOutcome.TRUNCATED:
        return [
            violation(
                "a stream ends with end or error",
                TRUNCATED,
                path="end of stream",
                expected="an end or error event",
                received=f"truncated after {len(events)} events",
            )
        ]
    if outcome is StreamOutcome.ERROR:
        error = next((event.data for event in events if event.event == "error"), None)
        return [
            violation(
                "the stream reports no error",
                ERROR_EVENT,
                path="error event",
                expected="end",
                received=error,
            )
        ]
    return []


def check_stream(run: StreamedRun) -> StreamSummary:
    """A 200 ``text/event-stream`` whose records obey the contract, in order, ending in ``end``."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    found = stream_violations(
        run.events,
        run.parser,
        status=run.status,
        content_type=run.headers.get("content-type", ""),
        body=answered_body(run),
    )
    raise_first(found)
    return run.summary()


def stream_order_violations(events: Sequence[StreamEvent]) -> list[Violation]:
    """How the events break add_message (user) -> add_message (AI) -> token* -> ... -> end.

    Progress events (``log``, ``build_start``, ``build_end``, ``end_vertex``) may come anywhere
    before ``end`` and are left out of the order, and of what a violation shows; any other name
    stays in, and a name outside the contract fails :func:`stream_violations`.
    """
    if not events or events[-1].event != "end":
        return [
            violation(
                "the stream ends with end",
                CONTRACT,
                path="events",
                expected="... end",
                received=[e.event for e in events[-5:]],
            )
        ]
    events = [e for e in events if e.event not in PROGRESS_EVENTS]
    names = [e.event for e in events]
    messages = [e for e in events if e.event == "add_message"]
    senders = [(m.data or {}).get("sender") for m in messages[:2]]
    if senders != ["User", "Machine"]:
        return [
            violation(
                "the stream first stores the user's message, then the AI's",
                CONTRACT,
                path="add_message events",
                expected="senders User, Machine",
                received=senders,
            )
        ]
    first_token = names.index("token") if "token" in names else len(names)
    second_message = names.index("add_message", names.index("add_message") + 1)
    if first_token < second_message:
        return [
            violation(
                "tokens come after the AI's message is announced",
                CONTRACT,
                path="events",
                expected="add_message, add_message, token…",
                received=names[:6],
            )
        ]
    return []


def check_stream_order(run: StreamedRun) -> None:
    """add_message (user) -> add_message (AI) -> token* -> ... -> end, with end last; progress
    events (an Agent's ``log``, its tools' ``build_start``/``build_end``) may come in between."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    raise_first(stream_order_violations(run.events))


def token_violations(summary: StreamSummary) -> list[Violation]:
    """How the tokens joined differ from the final text ``end`` carries, or it carries none."""
    if summary.final_text is None:
        return [
            violation(
                "end carries the final text",
                CONTRACT,
                path=path_of((*END_RESULT, *RESULTS_TEXT)),
                expected="the answer text",
                received="(missing)",
            )
        ]
    if summary.text != summary.final_text:
        return [
            violation(
                "the tokens joined equal the final text",
                CONTRACT,
                path="token chunks",
                expected=shorten(summary.final_text),
                received=summary.text,
            )
        ]
    return []


def check_tokens_match_end(summary: StreamSummary) -> None:
    """The tokens joined equal the final text carried by ``end``."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    raise_first(token_violations(summary))
