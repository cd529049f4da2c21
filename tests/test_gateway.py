"""The hosted-form gateway against a fake Langflow on 127.0.0.1: routing, the bearer token
turned into ``x-api-key``, refusals that never reach the upstream, streams relayed as they come,
and its limits."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowprobe.local.gateway import Gateway, GatewayLimits, langflow_id_for
from flowprobe.target import Target
from flowprobe.wire.client import Deadlines, RunClient
from loopback import serving

LANGFLOW_ID = "5f0c5e1e-f10b-4000-8000-00000000abcd"
KEY = "lf-gateway-key-3"
PAUSE = 0.6  # seconds the fake Langflow waits between its first and second stream record


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeLangflow

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.seen.append((self.command, self.path, dict(self.headers.items()), body))
        if self.path.startswith("/api/v1/run/slow"):
            self._stream()
        elif self.path.startswith("/api/v1/run/huge"):
            self._json(200, {"text": "x" * 200_000})
        elif self.headers.get("x-api-key") not in (KEY, None):
            self._json(403, {"detail": "Invalid API key"})
        else:
            self._json(200, {"session_id": "s", "outputs": [], "path": self.path})

    def _json(self, status: int, value: Any) -> None:
        payload = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for index, record in enumerate((b'{"event": "token"}\n\n', b'{"event": "end"}\n\n')):
            if index:
                time.sleep(PAUSE)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(record), record))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class FakeLangflow(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Upstream)
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def upstream() -> Iterator[FakeLangflow]:
    with serving(FakeLangflow()) as server:
        yield server


@pytest.fixture
def gateway(upstream: FakeLangflow) -> Iterator[Gateway]:
    limits = GatewayLimits(max_request_bytes=10_000, max_answer_bytes=100_000, total_timeout=10)
    with Gateway(upstream=upstream.url, langflow_id=LANGFLOW_ID, limits=limits) as served:
        yield served


def _hosted(gateway: Gateway, path: str) -> str:
    return f"{gateway.base_url}/lf/{LANGFLOW_ID}{path}"


def _post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, content=b'{"input_value": "hi"}', timeout=5, **kwargs)


def test_a_hosted_call_reaches_langflow_with_the_bearer_token_as_x_api_key(
    gateway: Gateway, upstream: FakeLangflow
) -> None:
    url = _hosted(gateway, "/api/v1/run/my-flow?stream=false")
    answer = _post(url, headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 200
    assert answer.json()["path"] == "/api/v1/run/my-flow?stream=false"
    method, path, headers, body = upstream.seen[-1]
    lowered = {name.lower(): value for name, value in headers.items()}
    assert (method, path, body) == (
        "POST",
        "/api/v1/run/my-flow?stream=false",
        b'{"input_value": "hi"}',
    )
    assert lowered["x-api-key"] == KEY
    assert "authorization" not in lowered


def test_flowprobes_own_client_runs_a_flow_through_the_hosted_form(gateway: Gateway) -> None:
    target = Target(base_url=gateway.base_url, flow="f", api_key=KEY, langflow_id=LANGFLOW_ID)
    assert target.auth == "bearer"
    with RunClient(target, deadlines=Deadlines(total=5)) as client:
        answer = client.run()
    assert answer.status == 200
    assert answer.body["path"] == "/api/v1/run/f?stream=false"


@pytest.mark.parametrize(
    "headers",
    [{"x-api-key": KEY}, {}, {"Authorization": f"Basic {KEY}"}, {"Authorization": "Bearer"}],
    ids=["x-api-key-alone", "no-key", "basic-auth", "empty-bearer"],
)
def test_a_call_without_a_bearer_token_is_refused_before_langflow(
    gateway: Gateway, upstream: FakeLangflow, headers: dict[str, str]
) -> None:
    answer = _post(_hosted(gateway, "/api/v1/run/f?stream=false"), headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert upstream.seen == []


def test_a_wrong_bearer_token_is_refused_by_langflow_itself(
    gateway: Gateway, upstream: FakeLangflow
) -> None:
    answer = _post(_hosted(gateway, "/api/v1/run/f"), headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 403
    assert len(upstream.seen) == 1


@pytest.mark.parametrize(
    "path",
    ["/api/v1/run/f", "/lf/another-id/api/v1/run/f", f"/lf/{LANGFLOW_ID}", "/health"],
    ids=["self-hosted-path", "another-langflow-id", "the-id-alone", "root-health"],
)
def test_any_other_path_is_not_found(gateway: Gateway, upstream: FakeLangflow, path: str) -> None:
    answer = _post(gateway.base_url + path, headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 404
    assert upstream.seen == []


def test_langflows_health_is_forwarded_without_a_token(
    gateway: Gateway, upstream: FakeLangflow
) -> None:
    assert httpx.get(_hosted(gateway, "/health"), timeout=5).status_code == 200
    assert upstream.seen[-1][1] == "/health"


def test_a_stream_is_relayed_as_it_arrives(gateway: Gateway) -> None:
    url = _hosted(gateway, "/api/v1/run/slow?stream=true")
    started = time.perf_counter()
    arrivals = []
    with httpx.stream("POST", url, headers={"Authorization": f"Bearer {KEY}"}, timeout=5) as answer:
        for chunk in answer.iter_raw():
            arrivals.append((time.perf_counter() - started, chunk))
    assert b"".join(chunk for _, chunk in arrivals) == b'{"event": "token"}\n\n{"event": "end"}\n\n'
    first, last = arrivals[0][0], arrivals[-1][0]
    # The first record leaves before the fake Langflow's pause; the last only after it.
    assert first < PAUSE / 2, f"first chunk after {first:.3f} s"
    assert last >= PAUSE * 0.9


def test_a_request_body_over_the_limit_is_refused(gateway: Gateway, upstream: FakeLangflow) -> None:
    answer = httpx.post(
        _hosted(gateway, "/api/v1/run/f"),
        content=b"x" * 10_001,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=5,
    )
    assert answer.status_code == 413
    assert upstream.seen == []


def test_an_answer_over_the_limit_is_cut(gateway: Gateway) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        _post(_hosted(gateway, "/api/v1/run/huge"), headers={"Authorization": f"Bearer {KEY}"})


def test_an_unreachable_langflow_is_a_502(tmp_path: Path) -> None:
    with Gateway(upstream="http://127.0.0.1:9", langflow_id=LANGFLOW_ID) as gateway:
        answer = _post(_hosted(gateway, "/api/v1/run/f"), headers={"Authorization": "Bearer k"})
    assert answer.status_code == 502
    assert "did not answer" in answer.json()["detail"]


def test_the_langflow_id_is_generated_once_and_kept(tmp_path: Path) -> None:
    id_file = tmp_path / "state" / "langflow-id"
    first = langflow_id_for(id_file)
    assert langflow_id_for(id_file) == first
    assert id_file.read_text(encoding="utf-8").strip() == first


def test_bad_settings_are_one_line_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowprobe.local.gateway",
            "--upstream",
            "ftp://x",
            "--langflow-id",
            "a",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("flowprobe gateway: upstream 'ftp://x' is not an http(s) URL")
    assert "Traceback" not in done.stderr


def test_up_hosted_starts_the_gateway_writes_its_settings_and_down_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, upstream: FakeLangflow
) -> None:
    from click.testing import CliRunner

    from flowprobe.cli import cli
    from flowprobe.local import langflow, launch, processes, target_env
    from flowprobe.local.config import LocalConfig

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(launch, "GATEWAY_PORT", 8201)
    port = upstream.server_address[1]
    # The local Langflow is the fake one here: `up` only has to find it running.
    values = {
        "FLOWPROBE_BASE_URL": upstream.url,
        "FLOWPROBE_FLOW": "f",
        "FLOWPROBE_NO_MODEL_FLOW": "n",
        "FLOWPROBE_FILE_FLOW": "r",
        "FLOWPROBE_API_KEY": KEY,
    }
    monkeypatch.setattr(langflow, "up", lambda config, progress: dict(values))
    runner = CliRunner()
    try:
        result = runner.invoke(cli, ["up", "--hosted", "--port", str(port)])
        assert result.exit_code == 0, result.output
        written = target_env.read_target_env(LocalConfig())
        langflow_id = written["FLOWPROBE_HOSTED_LANGFLOW_ID"]
        assert written["FLOWPROBE_HOSTED_BASE_URL"] == "http://127.0.0.1:8201"
        assert written["FLOWPROBE_BASE_URL"] == upstream.url  # the plain form is unchanged
        assert "FLOWPROBE_LANGFLOW_ID" not in written
        assert 'FLOWPROBE_LANGFLOW_ID="$FLOWPROBE_HOSTED_LANGFLOW_ID" pytest suites' in (
            result.output
        )
        answer = _post(
            f"http://127.0.0.1:8201/lf/{langflow_id}/api/v1/run/f",
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert answer.status_code == 200
        assert upstream.seen[-1][2]["x-api-key"] == KEY
        # A second `up --hosted` keeps the same id and the same gateway.
        again = runner.invoke(cli, ["up", "--hosted", "--port", str(port)])
        assert "already running; reusing it" in again.output
        assert (
            target_env.read_target_env(LocalConfig())["FLOWPROBE_HOSTED_LANGFLOW_ID"] == langflow_id
        )
    finally:
        down = runner.invoke(cli, ["down", "--port", str(port)])
    assert "stopped 1 process(es)" in down.output
    assert not processes.running_process(LocalConfig(), "gateway")
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://127.0.0.1:8201/", timeout=2)
