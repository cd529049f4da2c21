"""Capture the positive contract examples from a running Langflow 1.13.

Run by hand, with the ``FLOWPROBE_*`` settings of a live target (e.g. after ``flowprobe up``)::

    set -a; . .flowprobe/target.env; set +a
    python tests/contracts/capture_examples.py           # every example
    python tests/contracts/capture_examples.py uploads   # only the upload examples

Every file it writes under ``examples/<contract>/valid/`` is a real answer, or a request body
that Langflow accepted with HTTP 200, stored exactly as received (only re-indented). Stream
events are cut from the raw bytes of the stream, not rebuilt from parsed events. The API key
is asserted absent from everything written. Existing ``valid/`` files are replaced only once
every capture has succeeded (a partial capture replaces only the files it names);
``invalid/`` files are written by hand and never touched, nor are ``valid-from-source/`` files:
events the reference flows never send (``log``, ``build_start``, ``end_vertex``, ...), built by
hand from Langflow's source.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from flowprobe import contracts
from flowprobe.settings import load_settings
from flowprobe.target import Target
from flowprobe.wire.client import RunClient, RunResult, run_body
from flowprobe.wire.flowfacts import find_flow
from flowprobe.wire.stream import parse_all
from flowprobe.wire.upload import upload_file

EXAMPLES = Path(__file__).resolve().parent / "examples"
NO_MODEL_FLOW = os.environ.get("FLOWPROBE_NO_MODEL_FLOW") or "flowprobe-no-model"
FILE_FLOW = os.environ.get("FLOWPROBE_FILE_FLOW") or "flowprobe-read-file"
UNKNOWN_FLOW = "5f0c5e1e-f10b-4000-8000-0000000000ff"
UNREACHABLE_MODEL = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
QUESTION = "hi"


class _TeeStream(httpx.SyncByteStream):
    """Passes a response's bytes through while keeping a copy, so records stay as sent."""

    def __init__(self, inner: httpx.SyncByteStream, copy: bytearray) -> None:
        self.inner, self.copy = inner, copy

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.copy.extend(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class TeeTransport(httpx.BaseTransport):
    """An httpx transport that remembers the raw body of the last response."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.last_body = bytearray()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        self.last_body = bytearray()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_TeeStream(response.stream, self.last_body),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


class Examples:
    """The files to write, kept in memory until every capture has succeeded."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.files: dict[Path, str] = {}

    def add(self, contract: str, name: str, instance: Any) -> None:
        text = json.dumps(instance, indent=2, ensure_ascii=False) + "\n"
        # The key must never reach a committed file, whatever Langflow echoes back.
        assert self.secret not in text, f"the API key appears in {contract}/{name}"
        self.files[EXAMPLES / contract / "valid" / f"{name}.json"] = text
        for violation in contracts.violations(contract, instance):
            print(f"  warning: {contract}/{name} breaks its contract: {violation}")

    def write(self, *, prune: bool = True) -> None:
        for folder in {path.parent for path in self.files}:
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob("*.json") if prune else ():
                stale.unlink()
        for path, text in sorted(self.files.items()):
            path.write_text(text, encoding="utf-8")
            assert self.secret not in path.read_text(encoding="utf-8")
            print(f"wrote {path.relative_to(EXAMPLES.parent.parent.parent)}")


def expect(result: RunResult, status: int, what: str) -> Any:
    """The JSON body of ``result``, after checking Langflow answered ``status``."""
    if result.status != status or result.body is None:
        raise SystemExit(
            f"{what}: expected HTTP {status}, got {result.status}: {result.text[:300]}"
        )
    return result.body


class Capture:
    """The calls that produce the examples, against one target."""

    def __init__(self, target: Target, examples: Examples) -> None:
        self.target, self.examples = target, examples
        self.tee = TeeTransport()
        self.client = RunClient(target, transport=self.tee)

    def accepted(self, name: str, body: dict[str, Any], flow: str | None = None) -> Any:
        """Run ``body``; it must answer 200, and then it is a run-request (and tweaks) example."""
        answer = expect(self.client.run(body, flow=flow), 200, f"request {name}")
        self.keep_request(name, body)
        return answer

    def keep_request(self, name: str, body: dict[str, Any]) -> None:
        self.examples.add("run-request", name, body)
        if "tweaks" in body:
            self.examples.add("tweaks", name, body["tweaks"])

    def run_responses(self, flow: str, label: str) -> str:
        """Both output types, by endpoint name and by UUID; returns the flow's UUID."""
        chat = self.accepted("chat", run_body(input_value=QUESTION), flow=flow)
        flow_id = str(chat["outputs"][0]["outputs"][0]["results"]["message"]["flow_id"])
        self.examples.add("run-response", f"{label}-chat-by-name", chat)
        self.examples.add("message", label, chat["outputs"][0]["outputs"][0]["results"]["message"])
        debug = self.accepted("debug", run_body(input_value=QUESTION, output_type="debug"), flow)
        self.examples.add("run-response", f"{label}-debug-by-name", debug)
        for output_type in ("chat", "debug"):
            body = run_body(input_value=QUESTION, output_type=output_type)
            by_uuid = self.accepted(output_type, body, flow=flow_id)
            self.examples.add("run-response", f"{label}-{output_type}-by-uuid", by_uuid)
        return flow_id

    def component_ids(self, flow_id: str) -> dict[str, str]:
        """Component ids keyed by component type (OpenAIModel, ChatInput, ...)."""
        url = self.target.api_url(f"flows/{flow_id}")
        answer = self.client.http.get(url, headers=self.target.auth_headers())
        answer.raise_for_status()
        nodes = answer.json()["data"]["nodes"]
        return {node["data"]["type"]: node["id"] for node in nodes}

    def tweaked_runs(self, openai: str) -> None:
        """Tweaks in each form Langflow accepts: by id, by display name, as a top-level scalar."""
        forms = {
            "tweak-by-component-id": {openai: {"temperature": 0.2}},
            "tweak-by-display-name": {"OpenAI": {"temperature": 0.3}},
            "tweak-scalar-for-every-component": {"temperature": 0.4},
        }
        for name, tweaks in forms.items():
            self.accepted(name, run_body(input_value=QUESTION, tweaks=tweaks))
        session = run_body(input_value=QUESTION, session_id="flowprobe-example-session")
        self.accepted("with-session-id", session)

    def stream_records(self, name: str, body: dict[str, Any], flow: str | None = None) -> list[Any]:
        """The records of one streamed answer, each exactly as Langflow framed it."""
        run = self.client.run_stream(body, flow=flow)
        if run.status != 200:
            raise SystemExit(f"stream {name}: expected HTTP 200, got {run.status}")
        raw = bytes(self.tee.last_body)
        records = [json.loads(part) for part in raw.split(b"\n\n") if part.strip()]
        # The raw split must see the same records as flowprobe's own parser, or framing changed.
        events, _ = parse_all(raw)
        assert (
            [r["event"] for r in records]
            == [e.event for e in events]
            == [e.event for e in run.events]
        ), f"stream {name}: raw records and parsed events differ"
        if "tweaks" in body:
            self.keep_request(name, body)
        return records

    def streams(self, openai: str) -> None:
        """One stream-event example per distinct kind of record seen."""
        broken = {openai: {"openai_api_base": UNREACHABLE_MODEL, "max_retries": 0}}
        records = self.stream_records("stream", run_body(input_value=QUESTION))
        records += self.stream_records("stream", run_body(input_value=QUESTION), NO_MODEL_FLOW)
        failed = self.stream_records(
            "stream-unreachable-model", run_body(input_value=QUESTION, tweaks=broken)
        )
        if not any(r["event"] == "error" for r in failed):
            raise SystemExit("a stream to an unreachable model sent no error event")
        seen: dict[str, Any] = {}
        for record in records + failed:
            kind = event_kind(record)
            # Langflow's first token often carries an empty chunk; keep one that shows text.
            if kind not in seen or _empty_chunk(seen[kind]):
                seen[kind] = record
        for kind, record in seen.items():
            self.examples.add("stream-event", kind, record)

    def errors(self, chat_input: str, openai: str) -> None:
        """Each documented error status, with the body Langflow sent."""
        plain = run_body(input_value=QUESTION)
        cases: list[tuple[str, int, RunResult]] = [
            ("404-unknown-flow", 404, self.client.run(plain, flow="flowprobe-no-such-flow")),
            ("422-malformed-json", 422, self.client.run(content=b'{"input_value": "hi"')),
            ("422-stream-maybe", 422, self.raw_post("stream=maybe", json.dumps(plain))),
            ("403-wrong-key", 403, self.client.run(plain, api_key="not-the-key")),
            ("403-missing-key", 403, self.client.run(plain, api_key="")),
        ]
        tweaked = {
            "400-input-value-and-chat-input-tweak": (400, {chat_input: {"input_value": "x"}}),
            "422-tweaks-refused": (422, {openai: {"code": "x"}}),
            "500-temperature-hot": (500, {openai: {"temperature": "hot"}}),
        }
        for name, (status, tweaks) in tweaked.items():
            body = run_body(input_value=QUESTION, tweaks=tweaks)
            cases.append((name, status, self.client.run(body)))
        for name, status, result in cases:
            self.examples.add("error", name, expect(result, status, name))

    def uploads(self) -> None:
        """Both upload endpoints' answers, and each refusal of a bad upload."""
        flow_id = find_flow(self.client, FILE_FLOW).flow_id
        text = b"flowprobe example upload\n"
        oversized = b"x" * (1024 * 1024 + 4096)  # the local target's limit is 1 MB
        accepted = {
            "files-upload": upload_file(self.client, flow_id, "example.txt", text),
            "deprecated-upload": upload_file(
                self.client, flow_id, "example.txt", text, endpoint="deprecated"
            ),
            "empty-file": upload_file(self.client, flow_id, "empty.txt", b""),
        }
        for name, result in accepted.items():
            self.examples.add("upload-response", name, expect(result, 201, name))
        refused = {
            "upload-404-unknown-flow": (404, upload_file(self.client, UNKNOWN_FLOW, "a.txt", text)),
            "upload-422-endpoint-name": (422, upload_file(self.client, FILE_FLOW, "a.txt", text)),
            "upload-403-missing-key": (
                403,
                upload_file(self.client, flow_id, "a.txt", text, api_key=""),
            ),
            "upload-413-oversized": (413, upload_file(self.client, flow_id, "big.txt", oversized)),
        }
        for name, (status, result) in refused.items():
            self.examples.add("error", name, expect(result, status, name))

    def raw_post(self, query: str, content: str) -> RunResult:
        """A run call with a query string the client would never build (e.g. stream=maybe)."""
        url = self.target.api_url(f"run/{self.target.flow}") + "?" + query
        headers = {"content-type": "application/json", **self.target.auth_headers()}
        answer = self.client.http.post(url, content=content, headers=headers)
        try:
            body = answer.json()
        except ValueError:
            body = None
        return RunResult(answer.status_code, body, answer.text, answer.headers, 0.0, 0.0)


def _empty_chunk(record: dict[str, Any]) -> bool:
    data = record.get("data")
    return isinstance(data, dict) and data.get("chunk") == ""


def event_kind(record: dict[str, Any]) -> str:
    """The example name of a record: its event, and for add_message whose message it is."""
    kind = str(record["event"])
    data = record.get("data")
    if kind == "add_message" and isinstance(data, dict):
        kind += "-" + str(data.get("sender_name") or data.get("sender")).lower()
        if data.get("category") == "error" or data.get("error"):
            kind += "-error"
    return kind


def main(argv: list[str]) -> int:
    target = Target.from_settings(load_settings())
    if not target.api_key:
        raise SystemExit("set FLOWPROBE_API_KEY: the captures need an authenticated target")
    print(f"capturing from {target.describe()}")
    examples = Examples(target.api_key)
    capture = Capture(target, examples)
    if argv == ["uploads"]:
        with capture.client:
            capture.uploads()
        examples.write(prune=False)
        return 0
    try:
        basic_id = capture.run_responses(target.flow, "basic-prompting")
        capture.run_responses(NO_MODEL_FLOW, "no-model")
        components = capture.component_ids(basic_id)
        openai, chat_input = components["OpenAIModel"], components["ChatInput"]
        capture.tweaked_runs(openai)
        capture.streams(openai)
        capture.errors(chat_input, openai)
        capture.uploads()
    finally:
        capture.client.close()
    examples.write()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
