"""Verdicts computed once: each failure kind from a small hand-built answer, and the suites'
raising and the load users' failure kinds coming from the same violation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowprobe import checks, contracts
from flowprobe.checks import Violation, raise_first
from flowprobe.checks.verdict import from_contract, http_kind
from flowprobe.errors import ContractViolation
from flowprobe.load.failures import failure_of
from flowprobe.wire.client import RunResult, StreamedRun
from flowprobe.wire.stream import parse_all

EXAMPLES = Path(__file__).parent / "contracts" / "examples"
FLOW_ID = "5f0c5e1e-f10b-4000-8000-000000000003"


def example(contract: str, name: str) -> Any:
    return json.loads((EXAMPLES / contract / "valid" / f"{name}.json").read_text("utf-8"))


def record(name: str) -> bytes:
    return json.dumps(example("stream-event", name)).encode() + b"\n\n"


GOOD_STREAM = b"".join(record(n) for n in ("add_message-user", "add_message-ai", "token", "end"))
ANSWER = example("run-response", "no-model-chat-by-uuid")


def kinds(found: list[Violation]) -> list[str]:
    return [violation.kind for violation in found]


def streamed_run(body: bytes, *, content_type: str = "text/event-stream") -> StreamedRun:
    events, parser = parse_all(body)
    return StreamedRun(200, {"content-type": content_type}, 0.0, events=events, parser=parser)


class TestStreamViolations:
    def test_a_good_stream_breaks_nothing(self) -> None:
        assert checks.stream_violations(*parse_all(GOOD_STREAM)) == []

    def test_a_stream_without_end_is_truncated(self) -> None:
        found = checks.stream_violations(*parse_all(record("add_message-user") + record("token")))
        assert kinds(found) == ["truncated"]
        assert found[0].title == "a stream ends with end or error"
        assert found[0].received == "truncated after 2 events"

    def test_a_record_cut_off_is_truncated_not_malformed(self) -> None:
        found = checks.stream_violations(*parse_all(record("token") + b'{"event": "tok'))
        assert kinds(found) == ["truncated", "truncated"]
        assert found[0].title == "every stream record is a JSON object with an event"

    def test_an_error_event(self) -> None:
        found = checks.stream_violations(*parse_all(record("add_message-user") + record("error")))
        assert kinds(found) == ["error_event"]
        assert found[0].title == "the stream reports no error"
        assert found[0].received.startswith('{"text_key": "text", "data": {"timestamp"')

    def test_an_unreadable_record_is_malformed(self) -> None:
        found = checks.stream_violations(*parse_all(b"not json\n\n" + GOOD_STREAM))
        assert kinds(found) == ["malformed"]
        assert found[0].path == "stream record"
        assert found[0].received.startswith("'not json'")

    def test_a_record_breaking_the_contract(self) -> None:
        found = checks.stream_violations(
            *parse_all(b'{"event": "bogus", "data": {}}\n\n' + GOOD_STREAM)
        )
        assert kinds(found) == ["contract_violation"]
        assert found[0].title == "stream record 0 (bogus) breaks the stream-event contract"
        assert found[0].path == "$.event"

    def test_the_contract_is_left_out_when_not_validating(self) -> None:
        body = b'{"event": "bogus", "data": {}}\n\n' + GOOD_STREAM
        assert checks.stream_violations(*parse_all(body), validate=False) == []

    def test_a_wrong_content_type(self) -> None:
        found = checks.stream_violations(*parse_all(GOOD_STREAM), content_type="application/json")
        assert kinds(found) == ["contract_violation"]
        assert (found[0].path, found[0].received) == ("content-type", "application/json")

    @pytest.mark.parametrize(("status", "kind"), [(500, "http_500"), (0, "connection")])
    def test_a_refused_stream_is_judged_on_its_status_alone(self, status: int, kind: str) -> None:
        found = checks.stream_violations(*parse_all(b""), status=status, body={"detail": "no"})
        assert kinds(found) == [kind]
        assert found[0].received == f'{status} {{"detail": "no"}}'


class TestAnswerViolations:
    def test_a_good_answer_breaks_nothing(self) -> None:
        assert checks.answer_violations(200, ANSWER, json.dumps(ANSWER)) == []

    @pytest.mark.parametrize(("status", "kind"), [(503, "http_503"), (0, "connection")])
    def test_a_status_other_than_200(self, status: int, kind: str) -> None:
        found = checks.answer_violations(status, None, "down")
        assert kinds(found) == [kind]
        assert (found[0].title, found[0].received) == ("a run call answers 200", f"{status} down")

    def test_a_body_that_is_not_json(self) -> None:
        found = checks.answer_violations(200, None, "<html>")
        assert kinds(found) == ["not_json"]
        assert found[0].received == "<html>"

    def test_a_body_breaking_the_contract(self) -> None:
        found = checks.answer_violations(200, {"outputs": "none"}, '{"outputs": "none"}')
        assert set(kinds(found)) == {"contract_violation"}
        assert found[0].title == "the answer breaks the run-response contract"
        assert checks.answer_violations(200, {"outputs": "none"}, "", validate=False) == []

    def test_sample_paths_that_disagree(self) -> None:
        first = ANSWER["outputs"][0]["outputs"][0]
        changed = {**first, "messages": [{**first["messages"][0], "message": "other"}]}
        body = {**ANSWER, "outputs": [{**ANSWER["outputs"][0], "outputs": [changed]}]}
        found = checks.answer_path_violations(body)
        assert [v.path for v in found] == ["$.outputs[0].outputs[0].messages[0].message"]
        assert found[0].title == "every client path holds the same answer"

    def test_an_answer_with_no_first_result(self) -> None:
        found = checks.answer_path_violations({"outputs": []})
        assert [(v.title, v.path) for v in found] == [
            ("the answer is where clients read it", "$.outputs[0].outputs[0]")
        ]


class TestUploadViolations:
    def test_a_good_upload_breaks_nothing(self) -> None:
        body = example("upload-response", "files-upload")
        assert checks.uploaded_violations(201, body, json.dumps(body), FLOW_ID) == []

    def test_an_upload_for_another_flow(self) -> None:
        body = example("upload-response", "files-upload")
        found = checks.uploaded_violations(201, body, "", "another-flow")
        assert kinds(found) == ["contract_violation"]
        assert (found[0].path, found[0].expected) == ("$.flowId", "another-flow")

    def test_an_upload_refused(self) -> None:
        found = checks.uploaded_violations(413, {"detail": "big"}, "big", FLOW_ID)
        assert kinds(found) == ["http_413"]

    def test_a_refusal_with_the_wrong_status(self) -> None:
        found = checks.refused_violations(201, {}, "ok", (401, 403), "refused without a key")
        assert kinds(found) == ["http_201"]
        assert (found[0].expected, found[0].received) == ("401 or 403", "201 ok")

    def test_a_refusal_without_an_error_body(self) -> None:
        found = checks.refused_violations(404, {"file_path": "x"}, "", (404,), "unknown flow")
        assert kinds(found) == ["contract_violation"]
        assert found[0].title == "the answer breaks the error contract"
        body = example("error", "404-unknown-flow")
        assert checks.refused_violations(404, body, "", (404,), "unknown flow") == []

    def test_check_refused_raises_the_first(self) -> None:
        result = RunResult(200, {}, "fine", {}, 0.0, 0.0)
        with pytest.raises(ContractViolation, match="an upload without a key is refused"):
            checks.check_refused(result, (401, 403), "an upload without a key is refused")


class TestOneVerdictTwoOutputs:
    def test_the_suite_raises_and_the_load_counts_the_same_violation(self) -> None:
        run = streamed_run(record("add_message-user") + record("token"))
        found = checks.stream_violations(run.events, run.parser)
        with pytest.raises(ContractViolation) as raised:
            checks.check_stream(run)
        failure = failure_of(found[0])
        assert str(raised.value) == str(found[0].as_assertion())
        assert raised.value.title == "a stream ends with end or error"
        assert (str(failure), failure.kind) == ("truncated", found[0].kind)
        assert failure.detail == str(found[0])

    def test_the_suite_message_keeps_its_words(self) -> None:
        run = streamed_run(GOOD_STREAM, content_type="text/plain")
        with pytest.raises(ContractViolation) as raised:
            checks.check_stream(run)
        assert str(raised.value) == (
            "a stream is served as text/event-stream\n"
            "  at:       content-type\n"
            "  expected: text/event-stream\n"
            "  received: text/plain"
        )

    def test_a_contract_violation_maps_onto_a_check_violation(self) -> None:
        broken = contracts.violations("run-response", {"outputs": "none"})[0]
        mapped = from_contract(broken)
        assert mapped.kind == "contract_violation"
        assert str(mapped.as_assertion()) == str(broken.as_assertion())

    def test_raise_first_raises_nothing_without_violations(self) -> None:
        raise_first([])
        with pytest.raises(ContractViolation, match=r"^first\n  at:       \$$"):
            raise_first([Violation("first", "x"), Violation("second", "y")])

    def test_http_kind(self) -> None:
        assert [http_kind(s) for s in (0, 404, 500)] == ["connection", "http_404", "http_500"]

    def test_the_checks_do_not_import_locust(self) -> None:
        code = (
            "import sys, flowprobe.checks, flowprobe.load.failures; print('locust' in sys.modules)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == "False"
