"""Named checks of a run answer. Each raises :class:`ContractViolation` naming the broken
promise, the JSON path, what was expected and what was received.

The suites call these; a user's own tests can too.
"""

from __future__ import annotations

from typing import Any

from flowprobe import contracts
from flowprobe.errors import ContractViolation
from flowprobe.jsonpath import path_of, shorten, value_at
from flowprobe.wire.answer_paths import END_RESULT, FIRST_RESULT, RESULTS_TEXT, SAMPLE_PATHS
from flowprobe.wire.client import RunResult, StreamedRun
from flowprobe.wire.stream import StreamOutcome, StreamSummary


def fail(title: str, *, path: str = "$", expected: str = "", received: Any = "") -> None:
    """Raise a :class:`ContractViolation`."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    raise ContractViolation(title, path=path, expected=expected, received=shorten(received))


def check_status(result: RunResult | StreamedRun, expected: int, promise: str) -> None:
    """The answer's HTTP status is ``expected``."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    if result.status != expected:
        body = getattr(result, "text", None) or getattr(result, "error_body", None)
        fail(
            promise,
            path="HTTP status",
            expected=str(expected),
            received=f"{result.status} {shorten(body)}",
        )


def check_run_answer(result: RunResult) -> dict[str, Any]:
    """A 200 with a JSON body that obeys the run-response contract; returns the body."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    check_status(result, 200, "a run call answers 200")
    if not result.is_json:
        fail("a run call answers JSON", expected="a JSON body", received=result.text)
    contracts.check("run-response", result.body)
    body: dict[str, Any] = result.body
    return body


def answer_at_sample_paths(body: dict[str, Any]) -> dict[str, Any]:
    """The answer as each of the API pane's samples reads it, from ``outputs[0].outputs[0]``."""
    try:
        first = value_at(body, FIRST_RESULT)
    except LookupError:
        fail(
            "the answer is where clients read it",
            path="$.outputs[0].outputs[0]",
            expected="a component result",
            received=body,
        )
    found = {}
    for name, path in SAMPLE_PATHS.items():
        try:
            found[name] = value_at(first, path)
        except LookupError:
            fail(
                "the answer is where clients read it",
                path=f"$.outputs[0].outputs[0].{name}",
                expected="the answer text",
                received=first,
            )
    return found


def check_answer_paths(body: dict[str, Any]) -> str:
    """Every sample's path holds the same non-empty answer; returns it."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    found = answer_at_sample_paths(body)
    text = found["results.message.text"]
    for name, value in found.items():
        if not isinstance(value, str) or not value or value != text:
            fail(
                "every client path holds the same answer",
                path=f"$.outputs[0].outputs[0].{name}",
                expected=shorten(text),
                received=value,
            )
    return str(text)


def check_stream(run: StreamedRun) -> StreamSummary:
    """A 200 ``text/event-stream`` whose records obey the contract, in order, ending in ``end``."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    check_status(run, 200, "a streaming run call answers 200")
    content_type = run.headers.get("content-type", "")
    if not content_type.startswith("text/event-stream"):
        fail(
            "a stream is served as text/event-stream",
            path="content-type",
            expected="text/event-stream",
            received=content_type,
        )
    for malformed in run.parser.malformed:
        fail(
            "every stream record is a JSON object with an event",
            path="stream record",
            expected="a JSON object",
            received=f"{malformed.raw!r} ({malformed.reason})",
        )
    for index, event in enumerate(run.events):
        for violation in contracts.iter_violations(
            "stream-event", {"event": event.event, "data": event.data}
        ):
            fail(
                f"stream record {index} ({event.event}) breaks the stream-event contract",
                path=violation.path,
                expected=violation.expected,
                received=violation.received,
            )
    summary = run.summary()
    if run.outcome is StreamOutcome.TRUNCATED:
        fail(
            "a stream ends with end or error",
            path="end of stream",
            expected="an end or error event",
            received=f"truncated after {len(run.events)} events",
        )
    if run.outcome is StreamOutcome.ERROR:
        fail(
            "the stream reports no error",
            path="error event",
            expected="end",
            received=summary.error,
        )
    return summary


def check_stream_order(run: StreamedRun) -> None:
    """add_message (user) -> add_message (AI) -> token* -> ... -> end, with end last."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    names = [e.event for e in run.events]
    if not names or names[-1] != "end":
        fail("the stream ends with end", path="events", expected="... end", received=names[-5:])
    messages = [e for e in run.events if e.event == "add_message"]
    senders = [(m.data or {}).get("sender") for m in messages[:2]]
    if senders != ["User", "Machine"]:
        fail(
            "the stream first stores the user's message, then the AI's",
            path="add_message events",
            expected="senders User, Machine",
            received=senders,
        )
    first_token = names.index("token") if "token" in names else len(names)
    second_message = names.index("add_message", names.index("add_message") + 1)
    if first_token < second_message:
        fail(
            "tokens come after the AI's message is announced",
            path="events",
            expected="add_message, add_message, token…",
            received=names[:6],
        )


def check_tokens_match_end(summary: StreamSummary) -> None:
    """The tokens joined equal the final text carried by ``end``."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    if summary.final_text is None:
        fail(
            "end carries the final text",
            path=path_of((*END_RESULT, *RESULTS_TEXT)),
            expected="the answer text",
            received="(missing)",
        )
    if summary.text != summary.final_text:
        fail(
            "the tokens joined equal the final text",
            path="token chunks",
            expected=shorten(summary.final_text),
            received=summary.text,
        )
