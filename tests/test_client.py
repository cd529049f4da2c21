"""Tests for flowprobe.wire.client: run calls over httpx, sync and async, mocked and over a
socket."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import inspect
import json
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from flowprobe.errors import ContractViolation, TargetError
from flowprobe.target import Target
from flowprobe.wire.client import (
    AsyncRunClient,
    Deadlines,
    RunClient,
    RunResult,
    StreamedRun,
    run_body,
)
from flowprobe.wire.stream import StreamOutcome
from loopback import serving

KEY = "sk-client-secret-0123456789abcdef"
SESSION = "5f1c7d0e-2b8a-4c55-9d7e-0a6b1f3e9c21"
CHUNKS = ("Hel", "lo, ", "world")


def run_response(text: str) -> dict[str, Any]:
    """A non-streaming run answer with the fields the run-response contract requires."""
    result = {
        "component_id": "ChatOutput-abc12",
        "component_display_name": "Chat Output",
        "results": {"message": {"text": text, "sender": "Machine", "sender_name": "AI"}},
        "artifacts": {},
        "outputs": {"message": {"message": text, "type": "text"}},
        "messages": [],
        "logs": {},
    }
    return {
        "session_id": SESSION,
        "outputs": [{"inputs": {"input_value": "hi"}, "outputs": [result]}],
    }


def message(sender: str, text: str) -> dict[str, Any]:
    return {
        "sender": sender,
        "sender_name": sender,
        "session_id": SESSION,
        "text": text,
        "id": "m1",
    }


def record(event: str, data: Any) -> bytes:
    """One record as Langflow frames it: a bare JSON object and a blank line."""
    return json.dumps({"event": event, "data": data}).encode() + b"\n\n"


def token(chunk: str) -> bytes:
    return record("token", {"chunk": chunk, "id": "m2", "timestamp": "2025-01-15 10:00:01 UTC"})


ADD_MESSAGE = record("add_message", message("User", "hi"))
TOKENS = b"".join(token(chunk) for chunk in CHUNKS)
END = record("end", {"result": run_response("".join(CHUNKS))})
COMPLETE_STREAM = ADD_MESSAGE + TOKENS + END


def target(**overrides: Any) -> Target:
    fields: dict[str, Any] = {"base_url": "http://langflow.test", "flow": "f", "api_key": KEY}
    fields.update(overrides)
    return Target(**fields)


class Recorder:
    """An httpx MockTransport handler that keeps every request and answers with ``answer``."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def mocked(
    answer: Callable[[httpx.Request], httpx.Response], **target_fields: Any
) -> tuple[RunClient, Recorder]:
    recorder = Recorder(answer)
    return RunClient(target(**target_fields), transport=httpx.MockTransport(recorder)), recorder


def json_answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=run_response("Hello"))


def stream_answer(body: bytes, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": "text/event-stream"})

    return answer


# -- non-streaming, mocked -------------------------------------------------------------------


def legacy_answer(request: httpx.Request) -> httpx.Response:
    """An older Langflow: the run answers with a stream_url, which serves the events."""
    if request.method == "POST":
        legacy = run_response("")
        legacy["outputs"][0]["outputs"][0]["artifacts"] = {"stream_url": "/api/v1/build/x/stream"}
        return httpx.Response(200, json=legacy)
    return stream_answer(COMPLETE_STREAM)(request)


class TestRun:
    def test_a_json_answer_with_timings_and_answer_text(self) -> None:
        client, recorder = mocked(json_answer)
        result = client.run()
        assert result.status == 200
        assert result.body == run_response("Hello")
        assert result.is_json
        assert result.answer_text() == "Hello"
        assert json.loads(result.text) == result.body
        assert result.headers["content-type"] == "application/json"
        assert 0 <= result.time_to_first_byte <= result.elapsed
        assert str(recorder.last.url) == "http://langflow.test/api/v1/run/f?stream=false"
        assert recorder.last.method == "POST"
        assert json.loads(recorder.last.content) == run_body()

    def test_a_non_json_200_body_gives_no_body(self) -> None:
        client, _ = mocked(lambda request: httpx.Response(200, text="<html>proxy page</html>"))
        result = client.run()
        assert result.status == 200
        assert result.body is None
        assert not result.is_json
        assert result.text == "<html>proxy page</html>"
        assert result.answer_text() is None

    @pytest.mark.parametrize("body", [{}, {"outputs": []}, {"outputs": [{"outputs": []}]}, []])
    def test_answer_text_is_none_when_the_path_is_missing(self, body: Any) -> None:
        client, _ = mocked(lambda request: httpx.Response(200, json=body))
        assert client.run().answer_text() is None

    def test_a_403_is_returned_not_raised(self) -> None:
        client, _ = mocked(
            lambda request: httpx.Response(403, json={"detail": "Invalid or missing API key"})
        )
        result = client.run()
        assert result.status == 403
        assert result.body == {"detail": "Invalid or missing API key"}

    def test_the_body_given_is_the_body_sent(self) -> None:
        client, recorder = mocked(json_answer)
        body = run_body(input_value="what is 2+2?", session_id="s-1", tweaks={"OpenAI": {"x": 1}})
        client.run(body)
        assert json.loads(recorder.last.content) == body

    def test_an_empty_body_is_sent_as_is(self) -> None:
        # An empty object is a valid run request: it must not be swapped for the default body.
        client, recorder = mocked(json_answer)
        client.run({})
        assert json.loads(recorder.last.content) == {}

    def test_a_typo_field_is_refused_before_sending(self) -> None:
        client, recorder = mocked(json_answer)
        with pytest.raises(ContractViolation) as caught:
            client.run({"message": "hello"})
        assert recorder.requests == []
        assert "run-request" in str(caught.value)
        assert "'message' was unexpected" in str(caught.value)

    def test_a_body_that_is_not_an_object_is_refused_before_sending(self) -> None:
        client, recorder = mocked(json_answer)
        with pytest.raises(ContractViolation):
            client.run([])
        assert recorder.requests == []

    def test_raw_content_bypasses_validation(self) -> None:
        client, recorder = mocked(json_answer)
        client.run(content=b'{"message": "hello"')
        assert recorder.last.content == b'{"message": "hello"'

    def test_validation_can_be_switched_off(self) -> None:
        recorder = Recorder(json_answer)
        client = RunClient(
            target(), validate_requests=False, transport=httpx.MockTransport(recorder)
        )
        client.run({"message": "hello"})
        assert json.loads(recorder.last.content) == {"message": "hello"}

    def test_the_x_api_key_header_is_sent(self) -> None:
        client, recorder = mocked(json_answer)
        client.run()
        assert recorder.last.headers["x-api-key"] == KEY
        assert "authorization" not in recorder.last.headers
        assert recorder.last.headers["content-type"] == "application/json"

    def test_the_bearer_header_is_sent_for_a_hosted_target(self) -> None:
        client, recorder = mocked(json_answer, auth="bearer", langflow_id="lf-1")
        client.run()
        assert recorder.last.headers["authorization"] == f"Bearer {KEY}"
        assert "x-api-key" not in recorder.last.headers
        assert str(recorder.last.url) == "http://langflow.test/lf/lf-1/api/v1/run/f?stream=false"

    def test_api_key_none_sends_no_key(self) -> None:
        client, recorder = mocked(json_answer)
        client.run(api_key=None)
        assert "x-api-key" not in recorder.last.headers
        assert "authorization" not in recorder.last.headers

    def test_another_key_for_one_call(self) -> None:
        client, recorder = mocked(json_answer)
        client.run(api_key="wrong-key")
        assert recorder.last.headers["x-api-key"] == "wrong-key"

    def test_another_flow_and_extra_query_parameters(self) -> None:
        client, recorder = mocked(json_answer)
        client.run(flow="other flow", params={"x": "1 2"})
        assert str(recorder.last.url) == (
            "http://langflow.test/api/v1/run/other%20flow?stream=false&x=1+2"
        )

    def test_the_client_closes_as_a_context_manager(self) -> None:
        client, _ = mocked(json_answer)
        with client:
            client.run()
        assert client.http.is_closed


# -- streaming, mocked -----------------------------------------------------------------------


def assert_completed(run: StreamedRun) -> None:
    assert run.status == 200
    assert [event.event for event in run.events] == [
        "add_message",
        "token",
        "token",
        "token",
        "end",
    ]
    assert run.outcome is StreamOutcome.COMPLETED
    summary = run.summary()
    assert summary.text == "".join(CHUNKS)
    assert summary.final_text == "".join(CHUNKS)
    assert summary.output_tokens == 3
    assert summary.outcome is StreamOutcome.COMPLETED
    assert run.time_to_first_byte is not None
    assert run.error_body is None


class TestStream:
    def test_a_complete_stream(self) -> None:
        client, recorder = mocked(stream_answer(COMPLETE_STREAM))
        run = client.run_stream()
        assert_completed(run)
        assert str(recorder.last.url).endswith("/api/v1/run/f?stream=true")
        assert recorder.last.headers["x-api-key"] == KEY

    def test_events_can_be_iterated_as_they_come(self) -> None:
        client, _ = mocked(stream_answer(COMPLETE_STREAM))
        with client.stream() as (run, events):
            names = [event.event for event in events]
        assert names == [event.event for event in run.events]
        assert run.outcome is StreamOutcome.COMPLETED

    def test_a_stream_cut_before_end_is_truncated(self) -> None:
        client, _ = mocked(stream_answer(ADD_MESSAGE + TOKENS))
        run = client.run_stream()
        assert run.outcome is StreamOutcome.TRUNCATED
        assert run.summary().text == "".join(CHUNKS)

    def test_a_stream_cut_inside_a_record_is_truncated(self) -> None:
        client, _ = mocked(stream_answer(ADD_MESSAGE + TOKENS + END[:25]))
        run = client.run_stream()
        assert run.outcome is StreamOutcome.TRUNCATED
        assert [event.event for event in run.events][-1] == "token"
        assert len(run.parser.malformed) == 1

    def test_an_error_event_is_an_error(self) -> None:
        error = {"text": "Error running graph: boom", "error": True, "category": "error"}
        client, _ = mocked(stream_answer(ADD_MESSAGE + token("Hel") + record("error", error)))
        run = client.run_stream()
        assert run.outcome is StreamOutcome.ERROR
        assert run.summary().error == error

    def test_a_json_404_to_a_stream_call_fills_error_body(self) -> None:
        detail = {"detail": "Flow identifier f not found"}
        client, _ = mocked(lambda request: httpx.Response(404, json=detail))
        run = client.run_stream()
        assert run.status == 404
        assert run.error_body == detail
        assert run.events == []
        assert run.outcome is StreamOutcome.TRUNCATED

    def test_a_json_200_to_a_stream_call_fills_error_body(self) -> None:
        client, _ = mocked(json_answer)
        run = client.run_stream()
        assert run.status == 200
        assert run.error_body == run_response("Hello")
        assert run.events == []

    def test_a_legacy_stream_url_is_followed(self) -> None:
        client, recorder = mocked(legacy_answer)
        run = client.run_stream()
        assert str(recorder.last.url) == "http://langflow.test/api/v1/build/x/stream"
        assert recorder.last.headers["x-api-key"] == KEY
        assert run.outcome is StreamOutcome.COMPLETED
        assert run.summary().text == "".join(CHUNKS)

    def test_a_typo_field_is_refused_before_streaming(self) -> None:
        client, recorder = mocked(stream_answer(COMPLETE_STREAM))
        with pytest.raises(ContractViolation):
            client.run_stream({"message": "hello"})
        assert recorder.requests == []


# -- async, mocked ---------------------------------------------------------------------------


def async_mocked(
    answer: Callable[[httpx.Request], httpx.Response], **target_fields: Any
) -> tuple[AsyncRunClient, Recorder]:
    recorder = Recorder(answer)
    client = AsyncRunClient(target(**target_fields), transport=httpx.MockTransport(recorder))
    return client, recorder


class TestAsync:
    def test_a_json_answer(self) -> None:
        async def main() -> Any:
            client, recorder = async_mocked(json_answer)
            async with client:
                return await client.run(), recorder

        result, recorder = asyncio.run(main())
        assert result.status == 200
        assert result.answer_text() == "Hello"
        assert 0 <= result.time_to_first_byte <= result.elapsed
        assert recorder.last.headers["x-api-key"] == KEY

    def test_a_non_json_body_and_a_403(self) -> None:
        async def main() -> Any:
            plain, _ = async_mocked(lambda request: httpx.Response(200, text="not json"))
            denied, _ = async_mocked(lambda request: httpx.Response(403, json={"detail": "no"}))
            return await plain.run(), await denied.run()

        plain, denied = asyncio.run(main())
        assert plain.body is None
        assert plain.text == "not json"
        assert denied.status == 403

    def test_a_typo_field_is_refused_before_sending(self) -> None:
        client, recorder = async_mocked(json_answer)
        with pytest.raises(ContractViolation):
            asyncio.run(client.run({"message": "hello"}))
        assert recorder.requests == []

    def test_api_key_none_and_bearer(self) -> None:
        client, recorder = async_mocked(json_answer, auth="bearer")
        asyncio.run(client.run())
        assert recorder.last.headers["authorization"] == f"Bearer {KEY}"
        asyncio.run(client.run(api_key=None))
        assert "authorization" not in recorder.last.headers

    def test_a_complete_stream(self) -> None:
        client, recorder = async_mocked(stream_answer(COMPLETE_STREAM))
        run = asyncio.run(client.run_stream())
        assert_completed(run)
        assert str(recorder.last.url).endswith("?stream=true")

    def test_events_can_be_iterated_as_they_come(self) -> None:
        async def main() -> tuple[StreamedRun, list[str]]:
            client, _ = async_mocked(stream_answer(COMPLETE_STREAM))
            async with client.stream() as (run, events):
                names = [event.event async for event in events]
            return run, names

        run, names = asyncio.run(main())
        assert names == ["add_message", "token", "token", "token", "end"]
        assert run.outcome is StreamOutcome.COMPLETED

    def test_truncated_and_error_streams(self) -> None:
        truncated, _ = async_mocked(stream_answer(ADD_MESSAGE + TOKENS))
        failed, _ = async_mocked(stream_answer(ADD_MESSAGE + record("error", {"text": "x"})))
        assert asyncio.run(truncated.run_stream()).outcome is StreamOutcome.TRUNCATED
        assert asyncio.run(failed.run_stream()).outcome is StreamOutcome.ERROR

    def test_a_json_404_to_a_stream_call_fills_error_body(self) -> None:
        client, _ = async_mocked(lambda request: httpx.Response(404, json={"detail": "nope"}))
        run = asyncio.run(client.run_stream())
        assert run.status == 404
        assert run.error_body == {"detail": "nope"}
        assert run.events == []

    def test_a_legacy_stream_url_is_followed(self) -> None:
        client, recorder = async_mocked(legacy_answer)
        run = asyncio.run(client.run_stream())
        assert str(recorder.last.url) == "http://langflow.test/api/v1/build/x/stream"
        assert run.outcome is StreamOutcome.COMPLETED
        assert run.summary().text == "".join(CHUNKS)


# -- the twins agree: the same answers through a sync and an async mock transport ------------


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body handed out seven bytes at a time, so records and characters split across chunks."""

    def __init__(self, body: bytes) -> None:
        self.pieces = [body[start : start + 7] for start in range(0, len(body), 7)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            await asyncio.sleep(0)  # let other tasks run between reads, as a socket would
            yield piece


class AsyncMockTransport(httpx.AsyncBaseTransport):
    """An async transport that keeps every request and answers with ``answer``."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return self.answer(request)


def in_pieces(
    status: int, body: bytes, content_type: str
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"content-type": content_type}, stream=Pieces(body))

    return answer


def legacy_in_pieces(request: httpx.Request) -> httpx.Response:
    if request.method == "POST":
        legacy = run_response("")
        legacy["outputs"][0]["outputs"][0]["artifacts"] = {"stream_url": "/api/v1/build/x/stream"}
        return in_pieces(200, json.dumps(legacy).encode(), "application/json")(request)
    return in_pieces(200, COMPLETE_STREAM, "text/event-stream")(request)


JSON = "application/json"
EVENTS = "text/event-stream"
# name: (answer, status and outcome the stream call must see, whether ``run`` gets JSON)
SCENARIOS: dict[str, tuple[Callable[[httpx.Request], httpx.Response], int, StreamOutcome, bool]] = {
    "a JSON answer": (
        in_pieces(200, json.dumps(run_response("Hello")).encode(), JSON),
        200,
        StreamOutcome.TRUNCATED,
        True,
    ),
    "a stream": (in_pieces(200, COMPLETE_STREAM, EVENTS), 200, StreamOutcome.COMPLETED, False),
    "a truncated stream": (
        in_pieces(200, ADD_MESSAGE + TOKENS + END[:25], EVENTS),
        200,
        StreamOutcome.TRUNCATED,
        False,
    ),
    "an error event": (
        in_pieces(200, ADD_MESSAGE + record("error", {"text": "boom"}), EVENTS),
        200,
        StreamOutcome.ERROR,
        False,
    ),
    "a non-200": (
        in_pieces(404, b'{"detail": "Flow identifier f not found"}', JSON),
        404,
        StreamOutcome.TRUNCATED,
        True,
    ),
    "a non-JSON body": (
        in_pieces(200, "<html>proxy page \u2014 caf\u00e9</html>".encode(), "text/html"),
        200,
        StreamOutcome.TRUNCATED,
        False,
    ),
    "a legacy stream_url": (legacy_in_pieces, 200, StreamOutcome.COMPLETED, True),
}


@dataclasses.dataclass
class Twins:
    """What the sync and the async client returned and sent for the same call."""

    sync: Any
    async_: Any
    sync_requests: list[httpx.Request]
    async_requests: list[httpx.Request]


def through_both(
    answer: Callable[[httpx.Request], httpx.Response],
    method: str,
    deadlines: Deadlines | None = None,
    **kwargs: Any,
) -> Twins:
    """Make the same call, ``run`` or ``run_stream``, with each client against ``answer``."""
    recorder = Recorder(answer)
    transport = AsyncMockTransport(answer)
    with RunClient(target(), deadlines=deadlines, transport=httpx.MockTransport(recorder)) as sync:
        sync_result = getattr(sync, method)(**kwargs)

    async def main() -> Any:
        async with AsyncRunClient(target(), deadlines=deadlines, transport=transport) as client:
            return await getattr(client, method)(**kwargs)

    return Twins(sync_result, asyncio.run(main()), recorder.requests, transport.requests)


def sent(requests: list[httpx.Request]) -> list[tuple[str, str, bytes, dict[str, str]]]:
    return [(r.method, str(r.url), r.content, dict(r.headers)) for r in requests]


def untimed_result(result: RunResult) -> RunResult:
    assert 0 <= result.time_to_first_byte <= result.elapsed
    return dataclasses.replace(result, time_to_first_byte=0.0, elapsed=0.0)


def untimed_run(run: StreamedRun) -> dict[str, Any]:
    """Every field of a streamed run but the clock readings."""
    summary = run.summary()
    return {
        "status": run.status,
        "headers": dict(run.headers),
        "events": [(event.event, event.data) for event in run.events],
        "outcome": run.outcome,
        "error_body": run.error_body,
        "malformed": [(record.raw, record.reason) for record in run.parser.malformed],
        "first_byte_seen": run.time_to_first_byte is not None,
        "summary": dataclasses.replace(
            summary,
            first_token_at=None,
            token_times=[],
            time_to_first_token=None,
            inter_token_latencies=[],
            end_to_end=None,
        ),
        "tokens_timed": len(summary.token_times),
    }


class TestTwinsAgree:
    @pytest.mark.parametrize("scenario", SCENARIOS)
    def test_run_gives_equal_results(self, scenario: str) -> None:
        answer, status, _, is_json = SCENARIOS[scenario]
        twins = through_both(answer, "run")
        assert untimed_result(twins.sync) == untimed_result(twins.async_)
        assert (twins.sync.status, twins.sync.is_json) == (status, is_json)
        assert sent(twins.sync_requests) == sent(twins.async_requests)

    @pytest.mark.parametrize("scenario", SCENARIOS)
    def test_run_stream_gives_equal_runs(self, scenario: str) -> None:
        answer, status, outcome, _ = SCENARIOS[scenario]
        twins = through_both(answer, "run_stream")
        assert untimed_run(twins.sync) == untimed_run(twins.async_)
        assert (twins.sync.status, twins.sync.outcome) == (status, outcome)
        assert sent(twins.sync_requests) == sent(twins.async_requests)

    def test_a_legacy_stream_url_is_followed_by_both(self) -> None:
        twins = through_both(legacy_in_pieces, "run_stream")
        for requests in (twins.sync_requests, twins.async_requests):
            assert [(r.method, r.url.path) for r in requests] == [
                ("POST", "/api/v1/run/f"),
                ("GET", "/api/v1/build/x/stream"),
            ]
        assert twins.sync.summary().text == twins.async_.summary().text == "".join(CHUNKS)

    def test_the_events_handed_out_are_the_events_kept(self) -> None:
        answer = in_pieces(200, COMPLETE_STREAM, EVENTS)
        client = RunClient(target(), transport=httpx.MockTransport(answer))
        with client, client.stream() as (sync_run, events):
            sync_seen = list(events)

        async def main() -> tuple[StreamedRun, list[Any]]:
            client = AsyncRunClient(target(), transport=AsyncMockTransport(answer))
            async with client, client.stream() as (run, events):
                return run, [event async for event in events]

        async_run, async_seen = asyncio.run(main())
        assert sync_seen == sync_run.events
        assert async_seen == async_run.events
        assert untimed_run(sync_run) == untimed_run(async_run)

    def test_stopping_mid_chunk_keeps_only_the_events_handed_out(self) -> None:
        # The whole stream arrives as one chunk: stopping after the first event must not leave
        # the rest of that chunk's events in run.events.
        answer = stream_answer(COMPLETE_STREAM)
        client = RunClient(target(), transport=httpx.MockTransport(answer))
        with client, client.stream() as (sync_run, events):
            next(iter(events))

        async def main() -> StreamedRun:
            client = AsyncRunClient(target(), transport=AsyncMockTransport(answer))
            async with client, client.stream() as (run, events):
                await anext(aiter(events))
                return run

        async_run = asyncio.run(main())
        assert [event.event for event in sync_run.events] == ["add_message"]
        assert [event.event for event in async_run.events] == ["add_message"]

    @pytest.mark.parametrize("method", ["run", "run_stream"])
    def test_content_params_key_and_flow_reach_the_wire_alike(self, method: str) -> None:
        options: dict[str, Any] = {
            "content": b'{"message": "hello"',
            "params": {"x": "1 2"},
            "api_key": "another-key",
            "flow": "other flow",
        }
        twins = through_both(json_answer, method, **options)
        assert sent(twins.sync_requests) == sent(twins.async_requests)
        request = twins.async_requests[0]
        assert request.content == b'{"message": "hello"'
        assert request.url.params["x"] == "1 2"
        assert str(request.url).startswith("http://langflow.test/api/v1/run/other%20flow?")
        assert request.headers["x-api-key"] == "another-key"

    @pytest.mark.parametrize("method", ["run", "run_stream"])
    def test_the_total_deadline_is_the_same_error(self, method: str) -> None:
        answer = in_pieces(200, COMPLETE_STREAM, EVENTS if method == "run_stream" else JSON)
        errors = []
        for client in (RunClient, AsyncRunClient):
            with pytest.raises(TargetError, match=r"within 0 s \(total deadline\)") as caught:
                through_one(client, answer, method, Deadlines(total=0))
            errors.append(str(caught.value))
        assert errors[0] == errors[1]

    @pytest.mark.parametrize(
        ("sync_name", "async_name"),
        [
            ("__init__", "__init__"),
            ("__enter__", "__aenter__"),
            ("__exit__", "__aexit__"),
            ("close", "aclose"),
            ("run", "run"),
            ("stream", "stream"),
            ("run_stream", "run_stream"),
        ],
    )
    def test_each_method_has_the_signature_of_its_twin(
        self, sync_name: str, async_name: str
    ) -> None:
        sync_signature = str(inspect.signature(getattr(RunClient, sync_name)))
        async_signature = str(inspect.signature(getattr(AsyncRunClient, async_name)))
        assert asyncified(sync_signature) == async_signature

    def test_the_async_methods_are_async(self) -> None:
        for name in ("__aenter__", "__aexit__", "aclose", "run", "run_stream"):
            assert inspect.iscoroutinefunction(getattr(AsyncRunClient, name)), name
        assert inspect.isasyncgenfunction(AsyncRunClient.stream.__wrapped__)  # type: ignore[attr-defined]

    def test_both_have_the_same_public_names(self) -> None:
        sync_names = {name for name in dir(RunClient) if not name.startswith("_")}
        async_names = {name for name in dir(AsyncRunClient) if not name.startswith("_")}
        assert {"aclose" if name == "close" else name for name in sync_names} == async_names
        assert {"run", "stream", "run_stream", "aclose"} <= async_names


def asyncified(signature: str) -> str:
    """A sync signature as its async twin spells it."""
    for sync, async_ in (
        ("Iterator", "AsyncIterator"),
        ("BaseTransport", "AsyncBaseTransport"),
        ("RunClient", "AsyncRunClient"),
    ):
        signature = re.sub(rf"\b{sync}\b", async_, signature)
    return signature


def through_one(
    client: type[RunClient] | type[AsyncRunClient],
    answer: Callable[[httpx.Request], httpx.Response],
    method: str,
    deadlines: Deadlines,
) -> Any:
    if client is RunClient:
        with RunClient(target(), deadlines=deadlines, transport=httpx.MockTransport(answer)) as c:
            return getattr(c, method)()

    async def main() -> Any:
        transport = AsyncMockTransport(answer)
        async with AsyncRunClient(target(), deadlines=deadlines, transport=transport) as c:
            return await getattr(c, method)()

    return asyncio.run(main())


# -- integration: a real socket on 127.0.0.1 -------------------------------------------------

Script = Callable[["_Handler"], None]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.requests.append((self.path, dict(self.headers), self.body))
        self.server.script(self)

    def start_stream(self, content_type: str = "text/event-stream") -> None:
        # HTTP/1.0 without a length: the body ends when the connection closes.
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.end_headers()

    def send(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()

    def pause(self, seconds: float) -> None:
        self.server.stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: Script = lambda handler: None
        self.stopping = threading.Event()
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (deadline tests) makes writes fail: expected here

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    with serving(_Server()) as httpd:
        try:
            yield httpd
        finally:
            httpd.stopping.set()  # scripts that wait for the end stop before the server does


def real_client(httpd: _Server, deadlines: Deadlines | None = None) -> RunClient:
    return RunClient(target(base_url=httpd.base_url), deadlines=deadlines)


def refused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class TestOverASocket:
    def test_a_timed_stream_is_measured_and_arrives_piece_by_piece(self, server: _Server) -> None:
        end_sent = threading.Event()

        def script(handler: _Handler) -> None:
            handler.start_stream()
            handler.send(ADD_MESSAGE)
            handler.pause(0.2)  # the model "thinks" before its first token
            for chunk in CHUNKS:
                handler.send(token(chunk))
                handler.pause(0.05)
            handler.pause(0.3)
            end_sent.set()
            handler.send(END)

        server.script = script
        seen_before_end: list[str] = []
        with real_client(server) as client, client.stream() as (run, events):
            for event in events:
                if not end_sent.is_set():
                    seen_before_end.append(event.event)
        assert seen_before_end == ["add_message", "token", "token", "token"]
        summary = run.summary()
        assert run.outcome is StreamOutcome.COMPLETED
        assert summary.text == "".join(CHUNKS)
        assert summary.time_to_first_token is not None
        assert summary.time_to_first_token >= 0.2
        assert run.time_to_first_byte is not None
        assert run.time_to_first_byte < summary.time_to_first_token
        assert len(summary.inter_token_latencies) == 2
        assert all(gap >= 0 for gap in summary.inter_token_latencies)
        assert summary.end_to_end is not None
        assert summary.end_to_end >= summary.time_to_first_token + 0.3
        path, headers, body = server.requests[0]
        assert path == "/api/v1/run/f?stream=true"
        assert headers["x-api-key"] == KEY
        assert json.loads(body) == run_body()

    def test_a_timed_stream_with_the_async_client(self, server: _Server) -> None:
        def script(handler: _Handler) -> None:
            handler.start_stream()
            handler.pause(0.2)
            handler.send(TOKENS)
            handler.send(END)

        server.script = script
        client = AsyncRunClient(target(base_url=server.base_url))
        run = asyncio.run(client.run_stream())
        assert run.outcome is StreamOutcome.COMPLETED
        time_to_first_token = run.summary().time_to_first_token
        assert time_to_first_token is not None
        assert time_to_first_token >= 0.2

    def test_a_gzipped_json_answer_is_decoded(self, server: _Server) -> None:
        payload = gzip.compress(json.dumps(run_response("zipped")).encode())

        def script(handler: _Handler) -> None:
            handler.send_response(200)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-encoding", "gzip")
            handler.send_header("content-length", str(len(payload)))
            handler.end_headers()
            handler.send(payload)

        server.script = script
        with real_client(server) as client:
            result = client.run()
        assert result.answer_text() == "zipped"
        assert asyncio.run(AsyncRunClient(target(base_url=server.base_url)).run()).is_json

    def test_a_gzipped_stream_is_decoded(self, server: _Server) -> None:
        payload = gzip.compress(COMPLETE_STREAM)

        def script(handler: _Handler) -> None:
            handler.send_response(200)
            handler.send_header("content-type", "text/event-stream")
            handler.send_header("content-encoding", "gzip")
            handler.end_headers()
            handler.send(payload)

        server.script = script
        with real_client(server) as client:
            assert client.run_stream().outcome is StreamOutcome.COMPLETED
        run = asyncio.run(AsyncRunClient(target(base_url=server.base_url)).run_stream())
        assert run.outcome is StreamOutcome.COMPLETED

    def test_a_stalled_stream_hits_the_idle_deadline(self, server: _Server) -> None:
        def script(handler: _Handler) -> None:
            handler.start_stream()
            handler.send(ADD_MESSAGE)
            handler.pause(5)

        server.script = script
        started = time.perf_counter()
        with (
            real_client(server, Deadlines(idle=0.3, total=30)) as client,
            pytest.raises(
                TargetError, match=r"sent nothing for 0\.3 s \(idle deadline\)"
            ) as caught,
        ):
            client.run_stream()
        assert time.perf_counter() - started < 3
        assert server.base_url in str(caught.value)
        assert KEY not in str(caught.value)

    def test_a_stalled_stream_hits_the_idle_deadline_async(self, server: _Server) -> None:
        def script(handler: _Handler) -> None:
            handler.start_stream()
            handler.send(ADD_MESSAGE)
            handler.pause(5)

        server.script = script
        client = AsyncRunClient(
            target(base_url=server.base_url), deadlines=Deadlines(idle=0.3, total=30)
        )
        with pytest.raises(TargetError, match="idle deadline") as caught:
            asyncio.run(client.run_stream())
        assert KEY not in str(caught.value)

    def test_a_stalled_plain_answer_hits_the_idle_deadline(self, server: _Server) -> None:
        server.script = lambda handler: handler.pause(5)  # never even sends headers
        with (
            real_client(server, Deadlines(idle=0.3, total=30)) as client,
            pytest.raises(TargetError, match="idle deadline"),
        ):
            client.run()

    def test_the_total_deadline_is_enforced_on_a_trickling_stream(self, server: _Server) -> None:
        def script(handler: _Handler) -> None:
            handler.start_stream()
            for _ in range(50):  # a token every 0.1 s keeps the idle deadline happy
                handler.send(token("x"))
                handler.pause(0.1)

        server.script = script
        started = time.perf_counter()
        with (
            real_client(server, Deadlines(idle=1, total=0.5)) as client,
            pytest.raises(TargetError, match=r"did not finish within 0\.5 s \(total deadline\)"),
        ):
            client.run_stream()
        assert 0.5 <= time.perf_counter() - started < 2.5

    def test_the_total_deadline_is_enforced_on_a_trickling_plain_answer(
        self, server: _Server
    ) -> None:
        def script(handler: _Handler) -> None:
            handler.start_stream("application/json")
            for _ in range(50):
                handler.send(b" ")
                handler.pause(0.1)

        server.script = script
        with (
            real_client(server, Deadlines(idle=1, total=0.5)) as client,
            pytest.raises(TargetError, match="total deadline"),
        ):
            client.run()

    def test_the_total_deadline_is_enforced_async(self, server: _Server) -> None:
        def script(handler: _Handler) -> None:
            handler.start_stream()
            for _ in range(50):
                handler.send(token("x"))
                handler.pause(0.1)

        server.script = script
        client = AsyncRunClient(
            target(base_url=server.base_url), deadlines=Deadlines(idle=1, total=0.5)
        )
        with pytest.raises(TargetError, match="total deadline"):
            asyncio.run(client.run_stream())

    @pytest.mark.parametrize("call", ["run", "run_stream"])
    def test_a_refused_connection_says_what_to_check(self, call: str) -> None:
        base_url = f"http://127.0.0.1:{refused_port()}"
        with (
            RunClient(target(base_url=base_url)) as client,
            pytest.raises(TargetError) as caught,
        ):
            getattr(client, call)(params={"x-api-key": KEY})
        message = str(caught.value)
        assert "cannot reach" in message
        assert base_url in message
        assert "FLOWPROBE_BASE_URL" in message
        assert KEY not in message

    def test_a_refused_connection_async(self) -> None:
        client = AsyncRunClient(target(base_url=f"http://127.0.0.1:{refused_port()}"))
        with pytest.raises(TargetError, match="cannot reach") as caught:
            asyncio.run(client.run())
        assert "FLOWPROBE_BASE_URL" in str(caught.value)
        assert KEY not in str(caught.value)

    def test_a_connection_dropped_mid_answer(self, server: _Server) -> None:
        def script(handler: _Handler) -> None:
            handler.send_response(200)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", "1000")
            handler.end_headers()
            handler.send(b'{"session_id": ')

        server.script = script
        with real_client(server) as client, pytest.raises(TargetError) as caught:
            client.run()
        assert "closed the connection mid-answer" in str(caught.value)
        assert KEY not in str(caught.value)
