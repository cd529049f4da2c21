"""One redaction service, against a target that echoes secrets back.

The key is caught in every spelling it takes (raw, stripped, percent-encoded, inside basic
credentials, as URL credentials); secret-looking fields go in request and response bodies alike
(a flow's stored ``password`` fields among them); whole values are replaced, never a piece of a
name; and a cassette recorded from such a target keeps no secret and still replays.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import vcr

from flowprobe.cassettes import register, scrub_response, vcr_settings
from flowprobe.gate.baseline import save_baseline
from flowprobe.redaction import (
    KEY_ENV,
    REDACTED,
    find_secrets,
    is_secret_name,
    redact,
    scrub_body,
    scrub_value,
)

KEY = "lf-Key/with+odd=chars 42"  # what percent-encoding changes
STORED = "sk-stored-in-the-flow-0123456789"
LOCAL_PASSWORD = "hunter2"


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(KEY, id="raw"),
        pytest.param("".join(KEY.split()), id="without-whitespace"),
        pytest.param(quote(KEY, safe=""), id="percent-encoded"),
        pytest.param(
            re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(KEY, safe="")),
            id="percent-encoded-lower-hex",
        ),
        pytest.param(quote_plus(KEY), id="form-encoded"),
    ],
)
def test_the_key_is_caught_in_each_spelling(spelling: str) -> None:
    text = f"GET /api/v1/run/f?x-api-key={spelling}&stream=false"
    assert redact(text, (KEY,)) == f"GET /api/v1/run/f?x-api-key={REDACTED}&stream=false"
    assert find_secrets(text, known=(KEY,))


def test_a_key_read_with_its_newline_is_caught_as_sent() -> None:
    assert redact("x-api-key: lf-abc-123", ("lf-abc-123\n",)) == f"x-api-key: {REDACTED}"


def test_basic_credentials_are_hidden_whoever_the_user_is() -> None:
    token = base64.b64encode(f"admin:{KEY}".encode()).decode()
    assert redact(f"Authorization: Basic {token}", ()) == f"Authorization: Basic {REDACTED}"
    assert find_secrets(f"authorization: basic {token}")


def test_words_after_basic_are_not_credentials() -> None:
    for text in ("Basic Prompting", "Basic flow", "the Basic Prompting (Hello, World) flow"):
        assert redact(text, ()) == text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pass@127.0.0.1:7860/api", f"http://{REDACTED}@127.0.0.1:7860/api"),
        ("https://token@lf.example.com/", f"https://{REDACTED}@lf.example.com/"),
        ("postgresql://lf:pw@db/langflow", f"postgresql://{REDACTED}@db/langflow"),
        ("http://127.0.0.1:7860/a@b", "http://127.0.0.1:7860/a@b"),
        ("write to me@example.com", "write to me@example.com"),
    ],
)
def test_url_credentials_are_hidden_and_the_host_stays(url: str, shown: str) -> None:
    assert redact(f"calling {url} now", ()) == f"calling {shown} now"


def test_a_short_key_never_cuts_into_a_name() -> None:
    # The reported bug: a key "k" turned x-api-key into x-api-***ey in a saved baseline.
    text = json.dumps({"headers": {"x-api-key": "k"}, "auth": "x-api-key", "kind": "k8s"})
    assert redact(text, ("k",)) == json.dumps(
        {"headers": {"x-api-key": REDACTED}, "auth": "x-api-key", "kind": "k8s"}
    )


def test_a_long_key_is_caught_even_glued_to_other_text() -> None:
    assert redact("prefix" + KEY + "suffix", (KEY,)) == f"prefix{REDACTED}suffix"


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "x-api-key",
        "openai_api_key",
        "apiKey",
        "OPENAI_API_KEY",
        "apikey",
        "key",
        "token",
        "access_token",
        "refreshToken",
        "client_secret",
        "secrets",
        "password",
        "db_password",
        "Authorization",
        "Set-Cookie",
        "credentials",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "token_count",
        "tokens_used",
        "total_tokens",
        "tokenizer",
        "input_key",
        "memory_key",
        "keyboard",
        "monkey",
        "keywords",
        "session_id",
        "model_name",
        "",
    ],
)
def test_names_that_hold_no_secret(name: str) -> None:
    assert not is_secret_name(name)


def flow_with_stored_secrets() -> dict[str, Any]:
    """What GET /api/v1/flows/{id} answers: template fields, some marked ``password``."""
    template = {
        "openai_api_key": {"password": True, "value": STORED, "display_name": "OpenAI API Key"},
        "db_url": {"password": True, "value": LOCAL_PASSWORD, "display_name": "Database"},
        "model_name": {"password": False, "value": "gpt-4o-mini"},
        "max_tokens": {"value": 256},
        "time_to_first_token": 0.25,
    }
    node = {"id": "OpenAIModel-x1", "data": {"node": {"template": template}}}
    return {"id": "f", "name": "flow", "data": {"nodes": [node]}}


def test_stored_password_fields_are_hidden_and_their_shape_kept() -> None:
    scrubbed = scrub_value(flow_with_stored_secrets())
    template = scrubbed["data"]["nodes"][0]["data"]["node"]["template"]
    assert template["openai_api_key"] == {
        "password": True,
        "value": REDACTED,
        "display_name": "OpenAI API Key",
    }
    assert template["db_url"]["value"] == REDACTED  # stored secret with an ordinary name
    assert template["model_name"]["value"] == "gpt-4o-mini"
    assert template["max_tokens"] == {"value": 256}
    assert template["time_to_first_token"] == 0.25


def test_stream_records_are_scrubbed_one_by_one_and_keep_their_framing() -> None:
    records = [
        {"event": "token", "data": {"chunk": "hi"}},
        {"event": "end", "data": {"result": {"api_key": STORED, "text": "done"}}},
    ]
    body = b"".join(json.dumps(r).encode() + b"\n\n" for r in records)
    scrubbed = scrub_body(body)
    assert isinstance(scrubbed, bytes)
    parts = scrubbed.split(b"\n\n")
    assert parts[0] == json.dumps(records[0]).encode()
    assert json.loads(parts[1])["data"]["result"] == {"api_key": REDACTED, "text": "done"}
    assert parts[2] == b""


def test_a_body_that_is_not_utf8_loses_only_the_secret() -> None:
    body = b"\xff\xfe binary " + KEY.encode() + b" \x80 end"
    assert scrub_body(body, (KEY,)) == b"\xff\xfe binary *** \x80 end"


def test_scrub_response_cleans_the_body_and_says_its_new_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    body = json.dumps({"echo": f"you sent {KEY}", **flow_with_stored_secrets()}).encode()
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "Content-Length": [str(len(body))],
            "Location": ["http://admin:pw@127.0.0.1/next"],
        },
        "body": {"string": body},
    }
    scrubbed = scrub_response(response)
    text = scrubbed["body"]["string"].decode()
    for secret in (KEY, STORED, LOCAL_PASSWORD):
        assert secret not in text
    assert scrubbed["headers"]["Content-Length"] == [str(len(scrubbed["body"]["string"]))]
    assert scrubbed["headers"]["Location"] == [f"http://{REDACTED}@127.0.0.1/next"]


def test_scrub_response_scrubs_a_text_body_by_its_secret_strings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    body = f"error: bad key {KEY} (Bearer abcdefghijkl, {STORED})".encode()
    scrubbed = scrub_response({"headers": {}, "body": {"string": body}})
    assert scrubbed["body"]["string"] == b"error: bad key *** (***, ***)"


class _EchoingLangflow(BaseHTTPRequestHandler):
    """Serves a flow with stored secrets, and answers a run by echoing what it was sent."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(json.dumps(flow_with_stored_secrets()).encode())

    def do_POST(self) -> None:
        sent = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        key = self.headers.get("x-api-key", "")
        self._answer(json.dumps({"echo": sent, "your_key_was": f"{key}!"}).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echoing_langflow() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingLangflow)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def _calls(base_url: str) -> list[Any]:
    # The key also travels in a field no name marks as secret: only the known key catches it.
    run = {"input_value": f"my key is {KEY}", "tweaks": {"A-1": {"api_key": STORED}}}
    with httpx.Client(base_url=base_url, headers={"x-api-key": KEY}) as client:
        flow = client.get("/api/v1/flows/f")
        answer = client.post("/api/v1/run/f", content=json.dumps(run))
    return [flow.json(), answer.json()]


def test_a_cassette_from_an_echoing_target_keeps_no_secret_and_replays(
    echoing_langflow: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    recorder = vcr.VCR()
    register(recorder)
    with recorder.use_cassette("echo.yaml", **vcr_settings(tmp_path, "once")):
        live = _calls(echoing_langflow)
    assert live[0] == flow_with_stored_secrets()  # the recorded calls did carry the secrets

    text = (tmp_path / "echo.yaml").read_text(encoding="utf-8")
    for secret in (KEY, quote(KEY, safe=""), STORED, LOCAL_PASSWORD):
        assert secret not in text
    assert find_secrets(text, known=(KEY,)) == []
    assert "openai_api_key" in text  # the field stays, its value goes

    with recorder.use_cassette("echo.yaml", **vcr_settings(tmp_path, "none")):
        replayed = _calls(echoing_langflow)
    assert replayed == [scrub_value(answer, (KEY,)) for answer in live]


def test_a_baseline_saved_with_a_one_letter_key_keeps_its_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reported bug, end to end: FLOWPROBE_API_KEY=k turned x-api-key into x-api-***ey.
    source = Path(__file__).resolve().parent.parent / "gate" / "baseline.json"
    run = tmp_path / "run.json"
    run.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv(KEY_ENV, "k")
    out = tmp_path / "saved.json"
    save_baseline(run, out)
    text = out.read_text(encoding="utf-8")
    assert "x-api-key" in text
    assert f"x-api-{REDACTED}" not in text
    settings = json.loads(text)["summary"]["settings"]
    assert settings["flowprobe"]["auth"] == "x-api-key"
    assert settings["target"].endswith("(self-hosted, x-api-key ***)")
