"""The OpenAI-compatible stub, exercised over loopback HTTP with httpx (and openai if installed)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from flowprobe.cli import cli
from flowprobe.errors import FlowprobeError, SettingsError
from flowprobe.local.stub import (
    FIRST_TOKEN_DELAY_HEADER,
    INTER_TOKEN_DELAY_HEADER,
    MODEL_IDS,
    PROMPT_ECHO_LIMIT,
    TOKENS_HEADER,
    StubLLM,
    StubSettings,
    answer_tokens,
    protocol,
)

MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Say hello to Ada"},
]
ECHO = "[model=gpt-4o-mini temperature=0.2 prompt=system: Be brief. | user: Say hello to Ada]"
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def stub() -> Iterator[StubLLM]:
    with StubLLM(settings=StubSettings(tokens=4)) as running:
        yield running


@pytest.fixture
def client(stub: StubLLM) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stub.base_url, timeout=10) as http:
        yield http


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2, **extra}


def stream_events(
    client: httpx.Client, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[str]:
    """Each SSE event's data, after checking every event is one ``data:`` line and a blank line."""
    with client.stream("POST", "/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["transfer-encoding"] == "chunked"
        text = response.read().decode()
    blocks = text.split("\n\n")
    assert blocks[-1] == ""
    assert all(block.startswith("data: ") and "\n" not in block for block in blocks[:-1])
    return [block.removeprefix("data: ") for block in blocks[:-1]]


def chunks_of(events: list[str]) -> list[dict[str, Any]]:
    assert events[-1] == "[DONE]"
    return [json.loads(event) for event in events[:-1]]


def contents(chunks: list[dict[str, Any]]) -> list[str]:
    return [
        chunk["choices"][0]["delta"]["content"]
        for chunk in chunks
        if chunk["choices"] and chunk["choices"][0]["delta"].get("content")
    ]


def seconds_to_first_content(
    client: httpx.Client, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[float, list[float]]:
    """Time from sending to the first content chunk, and the arrival time of every content chunk."""
    arrivals: list[float] = []
    started = time.monotonic()
    with client.stream("POST", "/chat/completions", json=body, headers=headers) as response:
        for line in response.iter_lines():
            if line.startswith("data: {") and contents([json.loads(line[6:])]):
                arrivals.append(time.monotonic() - started)
    return arrivals[0], arrivals


# --- the wire format, without a server -------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/v1/chat/completions", "/chat/completions"),
        ("/chat/completions/?stream=1", "/chat/completions"),
        ("/v1", "/"),
        ("/v1models", "/v1models"),
        ("/v1/models/gpt-4o", "/models/gpt-4o"),
    ],
)
def test_api_path_drops_the_query_slash_and_v1_prefix(target: str, path: str) -> None:
    assert protocol.api_path(target) == path


def test_a_reply_is_the_predicted_tokens_in_both_shapes() -> None:
    chat = protocol.parse_chat_request({**chat_body(), "stream": True})
    reply = protocol.Reply.build(chat, tokens=3)
    predicted = answer_tokens(
        model="gpt-4o-mini", temperature=0.2, messages=chat.messages, tokens=3
    )

    assert reply.completion()["choices"][0]["message"]["content"] == "".join(predicted)
    assert reply.chunk({"content": "x"})["choices"][0]["delta"] == {"content": "x"}
    assert "usage" not in reply.chunk({})  # only when the request asked for usage


def test_settings_from_json_changes_only_the_fields_given() -> None:
    current = StubSettings(first_token_delay=0.05, inter_token_delay=0.02, tokens=8)
    changed = protocol.settings_from_json({"tokens": 3}, current)
    assert changed == StubSettings(first_token_delay=0.05, inter_token_delay=0.02, tokens=3)
    assert protocol.settings_json(changed)["tokens"] == 3


@pytest.mark.parametrize("payload", [[1], {"tokens": 0}, {"first_token_delay_ms": "soon"}])
def test_bad_settings_json_is_a_400(payload: object) -> None:
    with pytest.raises(protocol.RequestError) as caught:
        protocol.settings_from_json(payload, StubSettings())
    assert caught.value.status == 400


# --- the non-streaming answer ---------------------------------------------------------------


def test_answer_has_openai_shape_and_echoes_what_arrived(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat_body())

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert answer["object"] == "chat.completion"
    assert answer["id"].startswith("chatcmpl-")
    assert isinstance(answer["created"], int)
    assert answer["model"] == "gpt-4o-mini"
    [choice] = answer["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": ECHO + " tok1 tok2 tok3"}


def test_usage_counts_prompt_words_and_answer_tokens(client: httpx.Client) -> None:
    usage = client.post("/chat/completions", json=chat_body()).json()["usage"]

    # "Be brief." is 2 words, "Say hello to Ada" is 4; the answer is 4 tokens.
    assert usage == {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10}


def test_missing_temperature_shows_default_and_text_parts_are_joined(client: httpx.Client) -> None:
    parts = [
        {"type": "text", "text": "Describe"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this picture"},
    ]
    body = {"model": "any-model-name", "messages": [{"role": "user", "content": parts}]}

    answer = client.post("/chat/completions", json=body).json()

    expected = "[model=any-model-name temperature=default prompt=user: Describe this picture]"
    assert answer["choices"][0]["message"]["content"].startswith(expected + " tok1")
    assert answer["usage"]["prompt_tokens"] == 3


def test_answer_tokens_predicts_the_reply(client: httpx.Client) -> None:
    content = client.post("/chat/completions", json=chat_body()).json()["choices"][0]["message"]
    roles_and_texts = [(message["role"], message["content"]) for message in MESSAGES]

    tokens = answer_tokens(model="gpt-4o-mini", temperature=0.2, messages=roles_and_texts, tokens=4)

    assert "".join(tokens) == content["content"]


def test_one_token_answer_is_the_echo_alone() -> None:
    with (
        StubLLM(settings=StubSettings(tokens=1)) as stub,
        httpx.Client(base_url=stub.base_url) as client,
    ):
        answer = client.post("/chat/completions", json=chat_body()).json()
        streamed = contents(chunks_of(stream_events(client, chat_body(stream=True))))

    assert answer["choices"][0]["message"]["content"] == ECHO
    assert answer["usage"]["completion_tokens"] == 1
    assert streamed == [ECHO]


# --- the streaming answer -------------------------------------------------------------------


def test_stream_is_role_chunk_tokens_stop_then_done(client: httpx.Client) -> None:
    chunks = chunks_of(stream_events(client, chat_body(stream=True)))

    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert {chunk["model"] for chunk in chunks} == {"gpt-4o-mini"}
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert contents(chunks) == [ECHO, " tok1", " tok2", " tok3"]
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks] == [None] * 5 + ["stop"]
    assert chunks[-1]["choices"][0]["delta"] == {}
    assert all("usage" not in chunk for chunk in chunks)


def test_stream_with_include_usage_ends_with_a_usage_chunk(client: httpx.Client) -> None:
    body = chat_body(stream=True, stream_options={"include_usage": True})

    chunks = chunks_of(stream_events(client, body))

    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 6, "completion_tokens": 4, "total_tokens": 10}
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert all(chunk["usage"] is None for chunk in chunks[:-1])


def test_streamed_content_equals_the_non_streaming_content(client: httpx.Client) -> None:
    streamed = "".join(contents(chunks_of(stream_events(client, chat_body(stream=True)))))
    whole = client.post("/chat/completions", json=chat_body()).json()

    assert streamed == whole["choices"][0]["message"]["content"]


# --- pacing ---------------------------------------------------------------------------------


def test_first_token_delay_holds_back_the_first_content_chunk() -> None:
    settings = StubSettings(first_token_delay=0.3, tokens=3)
    with StubLLM(settings=settings) as stub, httpx.Client(base_url=stub.base_url) as client:
        first, arrivals = seconds_to_first_content(client, chat_body(stream=True))

    assert first >= 0.3
    assert len(arrivals) == 3
    assert first < 5  # loose: only catches a stub that sleeps far too long


def test_inter_token_delay_spaces_the_chunks() -> None:
    settings = StubSettings(inter_token_delay=0.1, tokens=4)
    with StubLLM(settings=settings) as stub, httpx.Client(base_url=stub.base_url) as client:
        _, arrivals = seconds_to_first_content(client, chat_body(stream=True))

    # Tokens are due 0.1 s apart from one start, so the last comes 0.3 s after the first is due;
    # the first may itself be sent a little late, hence the margin.
    assert arrivals[-1] >= 0.3
    assert arrivals[-1] - arrivals[0] >= 0.25


def test_non_streaming_answer_takes_as_long_as_the_stream() -> None:
    settings = StubSettings(first_token_delay=0.1, inter_token_delay=0.05, tokens=5)
    with StubLLM(settings=settings) as stub, httpx.Client(base_url=stub.base_url) as client:
        started = time.monotonic()
        client.post("/chat/completions", json=chat_body()).raise_for_status()
        elapsed = time.monotonic() - started

    assert elapsed >= 0.1 + 4 * 0.05


def test_concurrent_requests_wait_side_by_side() -> None:
    settings = StubSettings(first_token_delay=0.3, tokens=2)
    with (
        StubLLM(settings=settings) as stub,
        httpx.Client(base_url=stub.base_url) as client,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        started = time.monotonic()
        calls = [pool.submit(stream_events, client, chat_body(stream=True)) for _ in range(8)]
        answers = [call.result() for call in calls]  # re-raises what failed in a worker
        elapsed = time.monotonic() - started

    assert all(events[-1] == "[DONE]" for events in answers)
    assert elapsed < 8 * 0.3  # one after another would take 2.4 s


# --- per-request header overrides -----------------------------------------------------------


def test_headers_override_tokens_and_first_token_delay(client: httpx.Client) -> None:
    headers = {TOKENS_HEADER: "2", FIRST_TOKEN_DELAY_HEADER: "200"}

    first, arrivals = seconds_to_first_content(client, chat_body(stream=True), headers)
    answer = client.post("/chat/completions", json=chat_body(), headers=headers).json()

    assert first >= 0.2
    assert len(arrivals) == 2
    assert answer["choices"][0]["message"]["content"] == ECHO + " tok1"
    assert answer["usage"]["completion_tokens"] == 2


def test_header_overrides_inter_token_delay(client: httpx.Client) -> None:
    headers = {INTER_TOKEN_DELAY_HEADER: "100", TOKENS_HEADER: "3"}

    started = time.monotonic()
    client.post("/chat/completions", json=chat_body(), headers=headers).raise_for_status()

    assert time.monotonic() - started >= 0.2


def test_headers_only_affect_their_own_request(client: httpx.Client) -> None:
    client.post("/chat/completions", json=chat_body(), headers={TOKENS_HEADER: "2"})

    answer = client.post("/chat/completions", json=chat_body()).json()

    assert answer["usage"]["completion_tokens"] == 4


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (TOKENS_HEADER, "0"),
        (TOKENS_HEADER, "many"),
        (TOKENS_HEADER, "2.5"),
        (TOKENS_HEADER, "100001"),
        (FIRST_TOKEN_DELAY_HEADER, "-1"),
        (FIRST_TOKEN_DELAY_HEADER, "soon"),
        (FIRST_TOKEN_DELAY_HEADER, "nan"),
        (INTER_TOKEN_DELAY_HEADER, "inf"),
        (INTER_TOKEN_DELAY_HEADER, "600001"),
    ],
)
def test_bad_override_headers_answer_400(client: httpx.Client, header: str, value: str) -> None:
    response = client.post("/chat/completions", json=chat_body(), headers={header: value})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert header in error["message"]


# --- errors ---------------------------------------------------------------------------------


def test_unknown_path_answers_404_in_openai_format(client: httpx.Client) -> None:
    response = client.post("/embeddings", json={"input": "x"})

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "/v1/embeddings" in error["message"]


def test_body_that_is_not_json_answers_400(client: httpx.Client) -> None:
    response = client.post(
        "/chat/completions", content=b'{"model": ', headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "not valid JSON" in response.json()["error"]["message"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([1, 2], None),
        ({"messages": MESSAGES}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": ["hi"]}, "messages[0]"),
        ({"model": "m", "messages": [{"content": "hi"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
        ({"model": "m", "messages": MESSAGES, "stream": "yes"}, "stream"),
    ],
)
def test_json_that_is_not_a_chat_request_answers_400(
    client: httpx.Client, body: object, param: str | None
) -> None:
    response = client.post("/chat/completions", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_wrong_method_answers_405(client: httpx.Client) -> None:
    response = client.get("/chat/completions")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_http_method_answers_json(stub: StubLLM) -> None:
    with socket.create_connection((stub.host, stub.port), timeout=5) as connection:
        connection.sendall(b"BREW /v1/models HTTP/1.1\r\nHost: stub\r\n\r\n")
        raw = _read_until_closed(connection)

    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 501")
    assert json.loads(body)["error"]["message"] == "Unsupported method ('BREW')"


def test_client_leaving_mid_stream_is_not_an_error(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = StubSettings(inter_token_delay=0.02, tokens=50)
    with StubLLM(settings=settings) as stub, httpx.Client(base_url=stub.base_url) as client:
        with client.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response:
            next(response.iter_lines())
        time.sleep(0.2)  # let the stub write into the closed connection
        assert client.get("/health").json() == {"status": "ok"}

    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "Traceback" not in capfd.readouterr().err


# --- connections ----------------------------------------------------------------------------


def test_requests_share_one_keep_alive_connection(client: httpx.Client) -> None:
    local_ports = set()
    for _ in range(2):
        response = client.post("/chat/completions", json=chat_body())
        assert response.status_code == 200
        local_ports.add(response.extensions["network_stream"].get_extra_info("client_addr"))
    with client.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response:
        response.read()
        local_ports.add(response.extensions["network_stream"].get_extra_info("client_addr"))
    for path in ("/models", "/nowhere"):
        response = client.get(path)
        local_ports.add(response.extensions["network_stream"].get_extra_info("client_addr"))

    assert len(local_ports) == 1


def test_chunked_request_body_is_read(client: httpx.Client) -> None:
    encoded = json.dumps(chat_body()).encode()
    pieces = iter([encoded[:10], encoded[10:]])  # an iterator makes httpx send it chunked

    response = client.post("/chat/completions", content=pieces)

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"].startswith(ECHO)


def test_http_1_0_stream_ends_when_the_connection_closes(stub: StubLLM) -> None:
    body = json.dumps(chat_body(stream=True)).encode()
    head = f"POST /v1/chat/completions HTTP/1.0\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection((stub.host, stub.port), timeout=5) as connection:
        connection.sendall(head.encode() + body)
        raw = _read_until_closed(connection)

    response_head, _, events = raw.partition(b"\r\n\r\n")
    assert response_head.startswith(b"HTTP/1.1 200")
    assert b"chunked" not in response_head.lower()
    assert b"connection: close" in response_head.lower()
    assert events.startswith(b"data: {")
    assert events.endswith(b"data: [DONE]\n\n")


def test_oversized_body_is_refused_without_reading_it(stub: StubLLM) -> None:
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: stub\r\nContent-Length: 999999999\r\n\r\n"
    with socket.create_connection((stub.host, stub.port), timeout=5) as connection:
        connection.sendall(head)
        raw = _read_until_closed(connection)

    response_head, _, body = raw.partition(b"\r\n\r\n")
    assert response_head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


def test_stop_cuts_open_connections() -> None:
    stub = StubLLM().start()
    with httpx.Client(base_url=stub.base_url) as client:
        client.get("/health").raise_for_status()
        stub.stop()
        stub.stop()  # twice is harmless
        with pytest.raises(httpx.TransportError):
            client.get("/health")


# --- other endpoints ------------------------------------------------------------------------


def test_models_are_listed_and_any_model_is_retrieved(client: httpx.Client) -> None:
    listing = client.get("/models").json()
    one = client.get("/models/gpt-4o").json()
    other = client.get("/models/someone-else's-model").json()

    assert listing["object"] == "list"
    assert [model["id"] for model in listing["data"]] == list(MODEL_IDS)
    assert {"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "flowprobe-stub"} <= set(MODEL_IDS)
    assert all(model["object"] == "model" for model in listing["data"])
    assert one["id"] == "gpt-4o"
    assert other["id"] == "someone-else's-model"


def test_health(stub: StubLLM) -> None:
    response = httpx.get(f"http://127.0.0.1:{stub.port}/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_paths_work_without_the_v1_prefix(stub: StubLLM) -> None:
    root = stub.base_url.removesuffix("/v1")
    with httpx.Client(base_url=root) as client:
        answer = client.post("/chat/completions", json=chat_body()).json()
        listing = client.get("/models").json()

    assert answer["choices"][0]["message"]["content"].startswith(ECHO)
    assert listing["object"] == "list"


def test_received_bodies_and_request_count_are_kept(stub: StubLLM, client: httpx.Client) -> None:
    client.get("/health")
    client.post("/chat/completions", json=chat_body(tweak="a"))
    client.post("/chat/completions", json=chat_body(tweak="b", stream=True))

    assert stub.requests_served == 3
    assert [body["tweak"] for body in stub.last_requests] == ["a", "b"]
    assert stub.last_requests.maxlen == 100


# --- settings and lifecycle -----------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        {"tokens": 0},
        {"tokens": 2.5},
        {"first_token_delay": -0.1},
        {"inter_token_delay": float("nan")},
        {"first_token_delay": float("inf")},
        {"first_token_delay": "1"},
    ],
)
def test_settings_are_validated(arguments: dict[str, Any]) -> None:
    with pytest.raises(SettingsError):
        StubSettings(**arguments)


def test_base_url_and_localhost() -> None:
    with StubLLM(host="localhost") as stub:
        assert stub.host == "127.0.0.1"
        assert stub.base_url == f"http://127.0.0.1:{stub.port}/v1"
        assert stub.port > 0


def test_ipv6_loopback_is_served() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        stub = StubLLM(host="::1")
    except FlowprobeError as error:
        pytest.skip(f"cannot listen on ::1 here: {error}")
    with stub, httpx.Client(base_url=stub.base_url) as client:
        assert stub.base_url == f"http://[::1]:{stub.port}/v1"
        assert client.get("/health").status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.com"])
def test_only_loopback_hosts_are_accepted(host: str) -> None:
    with pytest.raises(FlowprobeError, match="only listens on loopback"):
        StubLLM(host=host)


def test_taken_port_is_refused(stub: StubLLM) -> None:
    expected = f"port 127.0.0.1:{stub.port} is taken; choose another with --port"

    with pytest.raises(FlowprobeError) as caught:
        StubLLM(host="127.0.0.1", port=stub.port)

    assert str(caught.value) == expected


# --- the command line -----------------------------------------------------------------------


def _read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    while data := connection.recv(65536):
        received += data
    return received


def _module_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "flowprobe.local.stub", *arguments]


def _environment() -> dict[str, str]:
    paths = [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            pytest.fail(f"the stub printed nothing in {timeout} s")
    return process.stdout.readline()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_python_m_serves_until_sigterm() -> None:
    arguments = ["--port", "0", "--first-token-delay-ms", "5", "--inter-token-delay-ms", "1.5"]
    process = subprocess.Popen(
        _module_command(*arguments, "--tokens", "3"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    try:
        line = _first_line(process, timeout=30)
        match = re.fullmatch(
            r"flowprobe stub-llm listening on (http://127\.0\.0\.1:\d+/v1) "
            r"\(first token delay 5ms, inter-token delay 1\.5ms, 3 tokens\)\n",
            line,
        )
        assert match, line
        answer = httpx.post(f"{match[1]}/chat/completions", json=chat_body()).json()
        assert answer["usage"]["completion_tokens"] == 3
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)

    assert process.returncode == 0
    assert stderr == ""


# The stub's process, SIGTERMed by itself the moment its "listening" line is out: what a launcher
# that signals as soon as it reads the line does, with no race left to win or lose.
_SIGTERM_ON_LISTENING = """
import signal
import click
from flowprobe.cli import main

echo = click.echo

def echo_then_sigterm(message=None, **options):
    echo(message, **options)
    if "listening" in str(message):
        signal.raise_signal(signal.SIGTERM)

click.echo = echo_then_sigterm
main(["stub-llm", "--port", "0"])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_sigterm_as_soon_as_it_says_listening_exits_0() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SIGTERM_ON_LISTENING],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=30,
        check=False,
    )

    assert result.stdout.startswith("flowprobe stub-llm listening on http://127.0.0.1:")
    assert result.returncode == 0  # -15 when the line went out before SIGTERM was handled
    assert result.stderr == ""


def test_python_m_refuses_a_public_host() -> None:
    result = subprocess.run(
        _module_command("--host", "0.0.0.0", "--port", "0"),
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr == (
        "flowprobe: error: flowprobe stub-llm only listens on loopback "
        "(127.0.0.1, ::1 or localhost), not '0.0.0.0': it has no authentication\n"
    )


def test_python_m_is_the_stub_llm_command() -> None:
    # One command, so one set of options and one default port, however the stub is started.
    result = subprocess.run(
        _module_command("--help"),
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=30,
        check=False,
    )
    command = CliRunner().invoke(cli, ["stub-llm", "--help"], prog_name="flowprobe")

    assert result.returncode == 0
    # Compared word by word: CliRunner wraps help at 80 columns, a real run at the terminal's.
    assert result.stdout.split() == command.output.split()
    assert "--port INTEGER RANGE 0 picks a free port (printed) [default: 7861;" in " ".join(
        result.stdout.split()
    )


# --- the openai client ----------------------------------------------------------------------


def test_openai_client_reads_both_answers(stub: StubLLM) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=stub.base_url, api_key="sk-not-a-real-key", max_retries=0)

    whole = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        temperature=0.2,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    models = [model.id for model in client.models.list()]

    assert whole.choices[0].message.content == ECHO + " tok1 tok2 tok3"
    assert whole.usage is not None
    assert whole.usage.total_tokens == 10
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == whole.choices[0].message.content
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4
    assert models == list(MODEL_IDS)


def test_settings_can_be_read_and_changed_at_run_time() -> None:
    with StubLLM(port=0, settings=StubSettings(tokens=3)) as stub:
        root = stub.base_url.removesuffix("/v1")
        with httpx.Client(base_url=root, timeout=5) as client:
            assert client.get("/stub/settings").json()["tokens"] == 3
            changed = client.put("/stub/settings", json={"first_token_delay_ms": 250, "tokens": 2})
            assert changed.json() == {
                "first_token_delay_ms": 250.0,
                "inter_token_delay_ms": 0.0,
                "tokens": 2,
            }
            assert client.put("/stub/settings", json={"tokens": 0}).status_code == 400
            assert client.put("/stub/settings", json=[1]).status_code == 400
            started = time.monotonic()
            answer = client.post(
                "/v1/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            )
            assert time.monotonic() - started >= 0.25
            assert answer.json()["usage"]["completion_tokens"] == 2


# --- long prompts: a bounded digest instead of the whole echo --------------------------------


def echo_of(answer: dict[str, Any]) -> str:
    """The first token of a non-streaming answer: its content up to the first `` tok``."""
    content: str = answer["choices"][0]["message"]["content"]
    return content.split(" tok1")[0]


def test_a_prompt_at_the_limit_is_still_echoed_whole() -> None:
    text = "x" * (PROMPT_ECHO_LIMIT - len("user: "))
    assert protocol.shown_prompt(f"user: {text}") == f"user: {text}"
    assert protocol.shown_prompt(f"user: {text}y").startswith(f"user: {text[:250]}...")


def test_a_long_prompt_is_answered_with_its_digest(client: httpx.Client) -> None:
    history = " ".join(f"turn {i} [fp{i:012x}] and again fp{i:012x}" for i in range(3))
    system = "Answer as a pirate. [fp0123456789ab]"
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": history + " pad" * 1000},
        ],
    }
    prompt = f"system: {system} | user: {history}" + " pad" * 1000
    digest = hashlib.sha256(prompt.encode()).hexdigest()

    answer = client.post("/chat/completions", json=body).json()

    nonces = "fp0123456789ab fp000000000000 fp000000000001 fp000000000002"
    assert echo_of(answer) == (
        f"[model=gpt-4o-mini temperature=default prompt={prompt[:256]}... "
        f"({len(prompt)} chars, sha256 {digest}, nonces {nonces})]"
    )


def test_a_digest_without_nonces_says_none() -> None:
    shown = protocol.shown_prompt("user: " + "fp0123456789abc fpXYZ0123456789 " * 100)
    assert shown.endswith(", nonces none)")


def test_a_digest_keeps_the_first_and_last_nonces_when_there_are_many() -> None:
    nonces = [f"fp{i:012x}" for i in range(100)]
    shown = protocol.shown_prompt("user: " + " ".join(f"[{n}] {'y' * 30}" for n in nonces))
    listed = shown.rsplit("nonces ", 1)[1].removesuffix(")").split()
    assert listed == nonces[:16] + nonces[-16:]


def test_a_memory_flow_history_stays_bounded(client: httpx.Client) -> None:
    # A memory flow sends every earlier turn, the stub's answers included; a whole echo would
    # double the prompt each call until it passed the stub's 16 MB limit.
    history: list[dict[str, Any]] = []
    sizes = []
    for turn in range(40):
        nonce = f"fp{turn:012x}"
        history.append({"role": "user", "content": f"[{nonce}] question {turn}"})
        body = {
            "model": "gpt-4o-mini",
            "messages": [{"role": "system", "content": "Chat."}, *history],
        }
        sizes.append(len(json.dumps(body)))
        response = client.post("/chat/completions", json=body)
        assert response.status_code == 200
        content = response.json()["choices"][0]["message"]["content"]
        assert nonce in content
        assert len(content) < 3 * PROMPT_ECHO_LIMIT
        history.append({"role": "assistant", "content": content})

    assert sizes[-1] < 200_000  # about 40 answers of at most 6 KB, not 2**40 bytes
    assert sizes[-1] - sizes[-2] < 3 * PROMPT_ECHO_LIMIT  # grows by one bounded turn


def test_a_lone_surrogate_in_a_long_prompt_is_answered() -> None:
    shown = protocol.shown_prompt("user: \ud800" + "z" * PROMPT_ECHO_LIMIT)
    assert "sha256 " in shown


# --- tool calling: what langchain-openai sends for an Agent ----------------------------------

# langchain-openai 1.7 (Langflow 1.13's) binds the agent's tools and streams with usage; after a
# tool call it replays the assistant turn (content null, tool_calls) and the tool's answer.
DATE_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_date",
        "description": "Returns the current date and time in a selected timezone.",
        "parameters": {
            "type": "object",
            "properties": {"timezone": {"type": "string", "description": "Timezone name"}},
            "required": [],
        },
    },
}
AGENT_FIRST_ROUND = {
    "model": "gpt-4o-mini",
    "stream": True,
    "stream_options": {"include_usage": True},
    "temperature": 0.1,
    "seed": 1,
    "n": 1,
    "max_completion_tokens": 512,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant that can use tools."},
        {"role": "user", "content": [{"type": "text", "text": "What day is it?"}]},
    ],
    "tools": [DATE_TOOL],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
}
TOOL_CALL = {
    "id": "call_0Xk3m9",
    "type": "function",
    "function": {"name": "get_current_date", "arguments": '{"timezone": "UTC"}'},
}
AGENT_AFTER_A_TOOL = {
    **AGENT_FIRST_ROUND,
    "messages": [
        *AGENT_FIRST_ROUND["messages"],
        {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
        {"role": "tool", "tool_call_id": "call_0Xk3m9", "content": "2026-12-02 07:00:00 UTC"},
        {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL], "name": "Agent"},
        {
            "role": "tool",
            "tool_call_id": "call_0Xk3m9",
            "content": [{"type": "text", "text": "ok"}],
        },
    ],
}
AGENT_BODIES = {"first-round": AGENT_FIRST_ROUND, "after-a-tool": AGENT_AFTER_A_TOOL}


@pytest.mark.parametrize("name", AGENT_BODIES)
def test_an_agent_request_is_answered_without_a_tool_call(client: httpx.Client, name: str) -> None:
    body = {**AGENT_BODIES[name], "stream": False}
    body.pop("stream_options")

    answer = client.post("/chat/completions", json=body).json()

    [choice] = answer["choices"]
    assert choice["finish_reason"] == "stop"
    assert set(choice["message"]) == {"role", "content"}
    assert choice["message"]["content"].startswith("[model=gpt-4o-mini temperature=0.1 prompt=")


@pytest.mark.parametrize("name", AGENT_BODIES)
def test_an_agent_stream_is_answered_without_a_tool_call(client: httpx.Client, name: str) -> None:
    chunks = chunks_of(stream_events(client, AGENT_BODIES[name]))

    deltas = [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]
    assert all(set(delta) <= {"role", "content"} for delta in deltas)
    finishes = [chunk["choices"][0]["finish_reason"] for chunk in chunks if chunk["choices"]]
    assert finishes[-1] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 4
    assert len(contents(chunks)) == 4


def test_an_agent_prompt_shows_the_tool_turns() -> None:
    chat = protocol.parse_chat_request(AGENT_AFTER_A_TOOL)
    assert chat.messages == (
        ("system", "You are a helpful assistant that can use tools."),
        ("user", "What day is it?"),
        ("assistant", ""),
        ("tool", "2026-12-02 07:00:00 UTC"),
        ("assistant", ""),
        ("tool", "ok"),
    )
