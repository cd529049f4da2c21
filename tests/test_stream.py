"""Tests for flowprobe.wire.stream: framing, splitting anywhere, outcomes, summaries; and every
event Langflow's run stream can send, through the stream checks."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from flowprobe import checks, contracts
from flowprobe.checks import Violation
from flowprobe.wire.stream import (
    CONVERSATION_EVENTS,
    PROGRESS_EVENTS,
    RUN_STREAM_EVENTS,
    MalformedRecord,
    StreamEvent,
    StreamOutcome,
    StreamParser,
    StreamSummary,
    legacy_stream_url,
    parse_all,
    summarize,
    token_text,
)

SESSION = "5f1c7d0e-2b8a-4c55-9d7e-0a6b1f3e9c21"
AI_ID = "8d2e4f6a-1b3c-4d5e-8f9a-0b1c2d3e4f5a"


def message(sender: str, text: str, message_id: str) -> dict[str, Any]:
    """An add_message payload shaped like Langflow's, trimmed to the fields that matter."""
    return {
        "timestamp": "2025-01-15 10:00:00 UTC",
        "sender": sender,
        "sender_name": sender,
        "session_id": SESSION,
        "text": text,
        "files": [],
        "error": False,
        "edit": False,
        "properties": {"text_color": "", "background_color": "", "source": {"id": None}},
        "category": "message",
        "content_blocks": [],
        "id": message_id,
        "flow_id": "flow-1",
    }


def token(chunk: str) -> dict[str, Any]:
    return {"chunk": chunk, "id": AI_ID, "timestamp": "2025-01-15 10:00:01 UTC"}


def run_result(text: str) -> dict[str, Any]:
    """The end event's data: the whole non-streaming run response."""
    outputs = [{"results": {"message": {"text": text, "sender": "Machine"}}, "artifacts": {}}]
    result = {
        "session_id": SESSION,
        "outputs": [{"inputs": {"input_value": "hi"}, "outputs": outputs}],
    }
    return {"result": result}


HELLO_EVENTS: list[tuple[str, Any]] = [
    ("add_message", message("User", "hi", "u-1")),
    ("add_message", message("Machine", "", AI_ID)),
    ("token", token("Hel")),
    ("token", token("lo")),
    ("end_vertex", {"build_data": {"id": "ChatOutput-x1", "valid": True}}),
    ("end", run_result("Hello")),
]

NON_ASCII_EVENTS: list[tuple[str, Any]] = [
    ("add_message", message("User", "dis bonjour ✓", "u-1")),
    ("token", token("hé")),
    ("token", token("llo ✓")),
    ("token", token(" 🙂")),
    ("end", run_result("héllo ✓ 🙂")),
]


def langflow_body(events: list[tuple[str, Any]], *, ensure_ascii: bool = True) -> bytes:
    """What Langflow writes: bare JSON records, each followed by a blank line."""
    records = (
        json.dumps({"event": name, "data": data}, ensure_ascii=ensure_ascii)
        for name, data in events
    )
    return "".join(record + "\n\n" for record in records).encode()


LANGFLOW_BODY = langflow_body(HELLO_EVENTS)
NON_ASCII_BODY = langflow_body(NON_ASCII_EVENTS, ensure_ascii=False)

# The same run in real SSE framing, using every feature a proxy might: a comment, ids, an
# event: field with a bare payload, multi-line data, a wrapped Langflow record, and [DONE].
SSE_BODY = (
    ": keep-alive\n\n"
    f"id: 1\nevent: add_message\ndata: {json.dumps(message('User', 'hi', 'u-1'))}\n\n"
    f"id: 2\ndata: {json.dumps({'event': 'add_message', 'data': message('Machine', '', AI_ID)})}"
    "\n\n"
    f'event: token\ndata: {{"chunk": "Hel", "id": "{AI_ID}",\n'
    'data: "timestamp": "2025-01-15 10:00:01 UTC"}\n\n'
    f"event: token\ndata:{json.dumps(token('lo'))}\n\n"
    f"data: {json.dumps({'event': 'end', 'data': run_result('Hello')})}\n\n"
    "data: [DONE]\n\n"
).encode()
SSE_EVENTS: list[tuple[str, Any]] = [
    ("add_message", message("User", "hi", "u-1")),
    ("add_message", message("Machine", "", AI_ID)),
    ("token", token("Hel")),
    ("token", token("lo")),
    ("end", run_result("Hello")),
    ("done", None),
]
SSE_CRLF_BODY = SSE_BODY.replace(b"\n", b"\r\n")
SSE_CR_BODY = SSE_BODY.replace(b"\n", b"\r")

BODIES = {
    "langflow": (LANGFLOW_BODY, HELLO_EVENTS),
    "sse": (SSE_BODY, SSE_EVENTS),
    "sse-crlf": (SSE_CRLF_BODY, SSE_EVENTS),
    "sse-cr": (SSE_CR_BODY, SSE_EVENTS),
    "non-ascii": (NON_ASCII_BODY, NON_ASCII_EVENTS),
}
SPLITS = [
    (name, position) for name, (body, _) in BODIES.items() for position in range(len(body) + 1)
]


def names_and_data(events: list[StreamEvent]) -> list[tuple[str, Any]]:
    return [(event.event, event.data) for event in events]


def feed_chunks(chunks: list[bytes]) -> tuple[list[StreamEvent], StreamParser]:
    parser = StreamParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close(), parser


@pytest.mark.parametrize("name", BODIES)
def test_whole_body_gives_expected_events(name: str) -> None:
    body, expected = BODIES[name]
    events, parser = parse_all(body)
    assert names_and_data(events) == expected
    assert parser.outcome is StreamOutcome.COMPLETED
    assert parser.malformed == ()
    assert parser.event_count == len(expected)


@pytest.mark.parametrize(("name", "position"), SPLITS)
def test_split_at_any_byte_gives_same_events(name: str, position: int) -> None:
    body, expected = BODIES[name]
    events, parser = feed_chunks([body[:position], body[position:]])
    assert names_and_data(events) == expected
    assert parser.outcome is StreamOutcome.COMPLETED
    assert parser.malformed == ()


@pytest.mark.parametrize("name", BODIES)
def test_byte_by_byte_gives_same_events(name: str) -> None:
    body, expected = BODIES[name]
    events, parser = feed_chunks([body[i : i + 1] for i in range(len(body))])
    assert names_and_data(events) == expected
    assert parser.outcome is StreamOutcome.COMPLETED


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("name", BODIES)
def test_random_chunking_gives_same_events(name: str, seed: int) -> None:
    body, expected = BODIES[name]
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(len(body)), k=rng.randint(1, 40)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    assert names_and_data(feed_chunks(chunks)[0]) == expected


def test_non_ascii_tokens_survive_split_characters() -> None:
    body = NON_ASCII_BODY
    events, _ = feed_chunks([body[i : i + 1] for i in range(len(body))])
    summary = summarize(events, started_at=0.0, outcome=StreamOutcome.COMPLETED)
    assert summary.text == "héllo ✓ 🙂"
    assert summary.final_text == "héllo ✓ 🙂"


def test_event_is_stamped_with_the_chunk_that_completed_it() -> None:
    first, second = langflow_body([("token", token("a"))]), langflow_body([("end", {})])
    parser = StreamParser()
    assert parser.feed(first[:-1], arrived_at=1.0) == []
    assert [e.arrived_at for e in parser.feed(first[-1:] + second[:5], arrived_at=2.0)] == [2.0]
    assert [e.arrived_at for e in parser.feed(second[5:], arrived_at=3.0)] == [3.0]


def test_crlf_split_between_cr_and_lf_does_not_end_record_early() -> None:
    parser = StreamParser()
    assert parser.feed(b'data: {"event": "token", "data": {"chunk": "a"}}\r', arrived_at=1.0) == []
    assert parser.feed(b"\n", arrived_at=2.0) == []
    events = parser.feed(b"\r\n", arrived_at=3.0)
    assert [(e.event, e.arrived_at) for e in events] == [("token", 3.0)]


def test_cr_cr_ends_record_without_waiting_for_next_chunk() -> None:
    parser = StreamParser()
    events = parser.feed(b'{"event": "token", "data": {"chunk": "a"}}\r\r', arrived_at=1.0)
    assert names_and_data(events) == [("token", {"chunk": "a"})]


def test_empty_chunk_keeps_pending_cr() -> None:
    parser = StreamParser()
    parser.feed(b'data: {"event": "end", "data": {}}\r')
    assert parser.feed(b"") == []
    assert parser.feed(b"\n") == []  # still the LF of the same CRLF, not a blank line
    assert names_and_data(parser.feed(b"\n")) == [("end", {})]


def test_truncated_stream() -> None:
    body = langflow_body(HELLO_EVENTS[:4])
    events, parser = parse_all(body)
    assert [e.event for e in events] == ["add_message", "add_message", "token", "token"]
    assert parser.outcome is StreamOutcome.TRUNCATED
    summary = summarize(events, started_at=0.0, outcome=parser.outcome)
    assert summary.end_to_end is None
    assert summary.final_text is None


def test_cut_inside_a_record_is_truncated_not_malformed() -> None:
    body = langflow_body(HELLO_EVENTS)
    events, parser = parse_all(body[:-40])
    assert [e.event for e in events][-1] == "end_vertex"
    assert parser.outcome is StreamOutcome.TRUNCATED
    [record] = parser.malformed
    assert record.reason.startswith("stream ended inside a record (record is not valid JSON")


def test_empty_stream_is_truncated() -> None:
    events, parser = parse_all(b"")
    assert events == []
    assert parser.outcome is StreamOutcome.TRUNCATED


def test_error_event_on_http_200() -> None:
    error = {"error": "Error running graph: OpenAI API key is invalid"}
    body = langflow_body([*HELLO_EVENTS[:2], ("error", error)])
    events, parser = parse_all(body)
    assert events[-1].event == "error"
    assert parser.outcome is StreamOutcome.ERROR
    assert summarize(events, started_at=0.0, outcome=parser.outcome).error == error


def test_error_outranks_end_and_malformed() -> None:
    body = b'not json\n\n{"event": "end", "data": {}}\n\n{"event": "error", "data": {}}\n\n'
    assert parse_all(body)[1].outcome is StreamOutcome.ERROR


def test_end_outranks_malformed() -> None:
    body = b'{"event": "token", "data": {"chunk": \n\n{"event": "end", "data": {}}\n\n'
    assert parse_all(body)[1].outcome is StreamOutcome.COMPLETED


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        pytest.param(
            b'{"event": "token", "data": {"chunk": "x"}', "record is not valid JSON", id="bad-json"
        ),
        pytest.param(b'["token", {"chunk": "x"}]', "JSON list is not an object", id="array"),
        pytest.param(b'{"data": {"chunk": "x"}}', "JSON object has no 'event' key", id="no-event"),
        pytest.param(b'{"event": 7, "data": {}}', "'event' is a int, not a string", id="event-int"),
        pytest.param(b"data: {oops}", "data field is not valid JSON", id="sse-bad-json"),
        pytest.param(b"Internal Server Error", "neither a JSON object nor server-sent", id="text"),
        pytest.param(b"{" * 100_000, "record is not valid JSON", id="deep-nesting"),
    ],
)
def test_malformed_record_is_recorded_and_parsing_goes_on(record: bytes, reason: str) -> None:
    head, tail = langflow_body(HELLO_EVENTS[:3]), langflow_body(HELLO_EVENTS[3:])
    parser = StreamParser()
    events = parser.feed(head + record + b"\n\n" + tail, arrived_at=4.0) + parser.close()
    assert names_and_data(events) == HELLO_EVENTS
    [malformed] = parser.malformed
    assert malformed.raw == record.decode()
    assert reason in malformed.reason
    assert malformed.arrived_at == 4.0


def test_malformed_without_end_is_malformed() -> None:
    body = langflow_body(HELLO_EVENTS[:3]) + b"{broken\n\n"
    events, parser = parse_all(body)
    assert len(events) == 3
    assert parser.outcome is StreamOutcome.MALFORMED
    assert parser.malformed == (
        MalformedRecord(raw="{broken", reason=parser.malformed[0].reason, arrived_at=0.0),
    )


def test_unknown_event_passes_through() -> None:
    body = langflow_body([("build_start", {"id": "v"}), ("vertex_log", {"x": [1]}), ("end", {})])
    events, parser = parse_all(body)
    assert names_and_data(events) == [
        ("build_start", {"id": "v"}),
        ("vertex_log", {"x": [1]}),
        ("end", {}),
    ]
    assert parser.outcome is StreamOutcome.COMPLETED


def test_sse_payload_without_event_key_uses_event_field_or_message() -> None:
    body = b'event: token\ndata: {"chunk": "a"}\n\ndata: {"chunk": "b"}\n\nevent:\ndata: [1, 2]\n\n'
    assert names_and_data(parse_all(body)[0]) == [
        ("token", {"chunk": "a"}),
        ("message", {"chunk": "b"}),
        ("message", [1, 2]),
    ]


def test_sse_done_sentinel_completes_the_stream() -> None:
    events, parser = parse_all(
        b'data: {"event": "token", "data": {"chunk": "a"}}\n\ndata: [DONE]\n\n'
    )
    assert names_and_data(events) == [("token", {"chunk": "a"}), ("done", None)]
    assert parser.outcome is StreamOutcome.COMPLETED


def test_sse_records_without_data_dispatch_nothing() -> None:
    events, parser = parse_all(b": ping\n\nid: 7\n\nretry: 1000\n\nevent: token\n\n")
    assert events == []
    assert parser.malformed == ()
    assert parser.outcome is StreamOutcome.TRUNCATED


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n\n", b"\n"])
def test_leading_bom_and_extra_blank_lines_are_ignored(prefix: bytes) -> None:
    events, parser = parse_all(prefix + LANGFLOW_BODY.replace(b"\n\n", b"\n\n\n\n"))
    assert names_and_data(events) == HELLO_EVENTS
    assert parser.malformed == ()


def test_a_byte_order_mark_counts_only_at_the_start_of_the_stream() -> None:
    # The first record is Langflow's own (read on the fast path): the stream has started, so
    # a later record that starts with a byte order mark is unreadable, not silently cleaned.
    body = b'{"event": "token", "data": {"chunk": "a"}}\n\n\xef\xbb\xbf{"event": "end"}\n\n'
    events, parser = parse_all(body)
    assert names_and_data(events) == [("token", {"chunk": "a"})]
    assert [m.raw for m in parser.malformed] == ['\ufeff{"event": "end"}']
    assert parser.outcome is StreamOutcome.MALFORMED


@pytest.mark.parametrize("after", [b" ", b"\t \n", b"\r\n "])
def test_whitespace_after_a_records_object_is_allowed(after: bytes) -> None:
    events, parser = parse_all(b'{"event": "end", "data": {"x": 1}}' + after + b"\n\n")
    assert names_and_data(events) == [("end", {"x": 1})]
    assert parser.malformed == ()


@pytest.mark.parametrize("after", [b"x", b" {}", b'{"event": "end"}'])
def test_text_after_a_records_object_makes_it_unreadable(after: bytes) -> None:
    record = b'{"event": "end", "data": {}}' + after
    events, parser = parse_all(b'{"event": "token", "data": {"chunk": "a"}}\n\n' + record + b"\n\n")
    assert [e.event for e in events] == ["token"]
    assert [m.raw for m in parser.malformed] == [record.decode()]
    assert parser.outcome is StreamOutcome.MALFORMED


def test_close_flushes_final_record_without_blank_line() -> None:
    body = LANGFLOW_BODY.removesuffix(b"\n\n")
    parser = StreamParser()
    events = parser.feed(body, arrived_at=1.0)
    assert [e.event for e in events][-1] == "end_vertex"
    assert parser.outcome is None
    [end] = parser.close(arrived_at=2.0)
    assert (end.event, end.arrived_at) == ("end", 2.0)
    assert parser.outcome is StreamOutcome.COMPLETED


def test_close_defaults_to_last_feed_stamp_and_is_idempotent() -> None:
    parser = StreamParser()
    parser.feed(b"data: [DONE]", arrived_at=5.0)
    assert [e.arrived_at for e in parser.close()] == [5.0]
    assert parser.close() == []
    assert parser.closed


def test_feed_after_close_raises() -> None:
    parser = StreamParser()
    parser.close()
    with pytest.raises(ValueError, match="after close"):
        parser.feed(b"data: [DONE]\n\n")


def test_many_records_in_one_chunk() -> None:
    body = langflow_body([("token", token("x"))] * 5000 + [("end", {})])
    events, parser = parse_all(body)
    assert len(events) == 5001
    assert parser.outcome is StreamOutcome.COMPLETED


def stamped(events: list[tuple[str, Any]], times: list[float]) -> list[StreamEvent]:
    return [
        StreamEvent(event=n, data=d, arrived_at=t) for (n, d), t in zip(events, times, strict=True)
    ]


def test_summarize_timings() -> None:
    events = stamped(HELLO_EVENTS, [10.1, 10.2, 10.5, 10.75, 10.8, 11.0])
    summary = summarize(events, started_at=10.0, outcome=StreamOutcome.COMPLETED)
    assert summary.first_token_at == 10.5
    assert summary.token_times == [10.5, 10.75]
    assert summary.time_to_first_token == pytest.approx(0.5)
    assert summary.inter_token_latencies == [pytest.approx(0.25)]
    assert summary.end_to_end == pytest.approx(1.0)
    assert summary.output_tokens == 2
    assert summary.text == "Hello"
    assert summary.final_text == "Hello"
    assert summary.error is None
    assert summary.outcome is StreamOutcome.COMPLETED


def test_summarize_several_tokens_excludes_first_from_inter_token_latencies() -> None:
    events = stamped([("token", token(c)) for c in "abcd"], [1.0, 1.5, 1.75, 2.75])
    summary = summarize(events, started_at=0.0, outcome=None)
    assert summary.inter_token_latencies == pytest.approx([0.5, 0.25, 1.0])
    assert summary.text == "abcd"
    assert summary.end_to_end is None


def test_summarize_without_tokens() -> None:
    events = stamped([("add_message", {}), ("end", run_result("Hi"))], [1.0, 3.0])
    summary = summarize(events, started_at=0.5, outcome=StreamOutcome.COMPLETED)
    assert summary == StreamSummary(
        first_token_at=None,
        token_times=[],
        time_to_first_token=None,
        inter_token_latencies=[],
        end_to_end=2.5,
        output_tokens=0,
        text="",
        final_text="Hi",
        error=None,
        outcome=StreamOutcome.COMPLETED,
    )


def test_summarize_end_to_end_uses_error_event() -> None:
    events = stamped([("token", token("a")), ("error", {"error": "boom"})], [1.0, 4.0])
    summary = summarize(events, started_at=0.0, outcome=StreamOutcome.ERROR)
    assert summary.end_to_end == 4.0
    assert summary.error == {"error": "boom"}
    assert summary.final_text is None


@pytest.mark.parametrize(
    "end_data",
    [
        None,
        "done",
        [],
        {},
        {"result": None},
        {"result": {"outputs": []}},
        {"result": {"outputs": [{"outputs": {}}]}},
        {"result": {"outputs": [{"outputs": [{"results": {"message": "Hello"}}]}]}},
        {"result": {"outputs": [{"outputs": [{"results": {"message": {"text": 42}}}]}]}},
    ],
)
def test_final_text_is_defensive(end_data: Any) -> None:
    events = stamped([("end", end_data)], [1.0])
    assert summarize(events, started_at=0.0, outcome=None).final_text is None


def test_token_text() -> None:
    assert token_text(StreamEvent(event="token", data=token("Hel"), arrived_at=0.0)) == "Hel"
    assert token_text(StreamEvent(event="token", data={"chunk": 3}, arrived_at=0.0)) is None
    assert token_text(StreamEvent(event="token", data="Hel", arrived_at=0.0)) is None
    assert token_text(StreamEvent(event="end", data={"chunk": "x"}, arrived_at=0.0)) is None


def test_legacy_stream_url() -> None:
    artifacts = {"stream_url": "/api/v1/build/flow-1/ChatOutput-x1/stream", "repr": ""}
    body = {
        "session_id": SESSION,
        "outputs": [{"inputs": {}, "outputs": [{"artifacts": artifacts}]}],
    }
    assert legacy_stream_url(body) == "/api/v1/build/flow-1/ChatOutput-x1/stream"


def test_legacy_stream_url_looks_past_outputs_without_one() -> None:
    later = {"artifacts": {"stream_url": "/s"}}
    body = {"outputs": [{"outputs": [{"artifacts": {}}]}, {"outputs": [None, later]}]}
    assert legacy_stream_url(body) == "/s"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"outputs": None},
        {"outputs": [None, "x", {"outputs": "y"}]},
        {"outputs": [{"outputs": [{"artifacts": None}]}]},
        {"outputs": [{"outputs": [{"artifacts": {"stream_url": ""}}]}]},
        {"outputs": [{"outputs": [{"artifacts": {"stream_url": 3}}]}]},
        run_result("Hello")["result"],
    ],
)
def test_legacy_stream_url_absent(body: dict[str, Any]) -> None:
    assert legacy_stream_url(body) is None


# --- Langflow's whole run-stream vocabulary, through the checks ------------------------------

STREAM_EXAMPLES = Path(__file__).parent / "contracts" / "examples" / "stream-event"


def example_record(name: str) -> tuple[str, Any]:
    """A stream-event example (captured, else built from Langflow's source) as (event, data)."""
    [path] = [p for p in STREAM_EXAMPLES.glob(f"valid*/{name}.json")]
    record = json.loads(path.read_text(encoding="utf-8"))
    return record["event"], record["data"]


def agent_like_events() -> list[tuple[str, Any]]:
    """A run whose components log and call a tool while the answer streams, as an Agent's does.

    The tokens are the captured end event's final text cut where the stub's tokens start.
    """
    end = example_record("end")
    final = end[1]["result"]["outputs"][0]["outputs"][0]["results"]["message"]["text"]
    answer_id = example_record("token")[1]["id"]
    pieces = re.split(r"(?= tok\d)", final)
    tokens = [("token", {"chunk": piece, "id": answer_id}) for piece in pieces]
    return [
        example_record("add_message-user"),
        example_record("log-text"),
        example_record("build_start-tool"),
        example_record("build_end-tool"),
        example_record("add_message-ai"),
        tokens[0],
        example_record("log-object"),
        *tokens[1:3],
        example_record("end_vertex-loop-body"),
        *tokens[3:],
        example_record("end_vertex-without-result"),
        end,
    ]


def checked(events: list[tuple[str, Any]]) -> tuple[list[Violation], list[Violation]]:
    """What the stream checks and the order check find in a stream of these events."""
    parsed, parser = parse_all(langflow_body(events))
    return checks.stream_violations(parsed, parser), checks.stream_order_violations(parsed)


def test_the_vocabulary_is_the_contracts() -> None:
    schema = contracts.schema("stream-event")
    assert set(schema["properties"]["event"]["enum"]) == RUN_STREAM_EVENTS
    assert not CONVERSATION_EVENTS & PROGRESS_EVENTS


def test_progress_events_between_tokens_break_no_check() -> None:
    events = agent_like_events()
    assert {name for name, _ in events} == RUN_STREAM_EVENTS - {"error"}
    parsed, parser = parse_all(langflow_body(events))
    summary = summarize(parsed, started_at=0.0, outcome=parser.outcome)

    assert checked(events) == ([], [])
    assert checks.token_violations(summary) == []
    assert summary.output_tokens == 8
    assert summary.text == summary.final_text


def test_an_unknown_event_between_tokens_breaks_the_contract() -> None:
    events = agent_like_events()
    events.insert(7, ("tool_start", {"name": "get_current_date"}))

    found, _ = checked(events)

    [broken] = found
    assert broken.title == "stream record 7 (tool_start) breaks the stream-event contract"
    assert (broken.kind, broken.path) == ("contract_violation", "$.event")


@pytest.mark.parametrize(
    ("event", "change", "path"),
    [
        ("log-text", {"component_id": None}, "$.data.component_id"),
        ("log-text", {"type": "warning"}, "$.data.type"),
        ("build_start-tool", {"id": ""}, "$.data.id"),
        ("end_vertex-loop-body", {"build_data": {"id": "x", "data": None}}, "$.data.build_data"),
    ],
)
def test_a_malformed_progress_event_breaks_the_contract(
    event: str, change: dict[str, Any], path: str
) -> None:
    events = agent_like_events()
    index = events.index(example_record(event))
    events[index] = (events[index][0], {**events[index][1], **change})

    found, order = checked(events)

    assert [(v.title, v.path) for v in found] == [
        (f"stream record {index} ({events[index][0]}) breaks the stream-event contract", path)
    ]
    assert order == []


def test_the_order_check_shows_no_progress_events() -> None:
    events = agent_like_events()
    events.insert(1, events.pop(5))  # the first token now comes before the AI's message

    _, order = checked(events)

    [broken] = order
    assert broken.title == "tokens come after the AI's message is announced"
    shown = ["add_message", "token", "add_message", "token", "token", "token"]
    assert broken.received == json.dumps(shown)


def test_a_progress_event_after_end_breaks_the_order() -> None:
    events = [*agent_like_events(), example_record("log-text")]

    _, order = checked(events)

    assert [v.title for v in order] == ["the stream ends with end"]
