"""Before a load run: one pre-flight call names an unreachable target, a refused key or a missing
flow in seconds; and every load option either applies or is refused with the reason."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from flowprobe.cli import cli
from flowprobe.commands import load
from flowprobe.errors import TargetError
from flowprobe.load.preflight import preflight
from loopback import serving

KEY = "preflight-key-never-shown"


def _answering(status: int) -> type[BaseHTTPRequestHandler]:
    class Answering(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = json.dumps({"detail": f"answered {status}"}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Answering


@contextmanager
def _target(status: int) -> Iterator[dict[str, str]]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _answering(status))) as server:
        yield {
            "FLOWPROBE_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}",
            "FLOWPROBE_FLOW": "my-flow",
            "FLOWPROBE_API_KEY": KEY,
        }


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (403, "refused the key (HTTP 403)"),
        (401, "refused the key (HTTP 401)"),
        (404, "has no flow 'my-flow' (HTTP 404)"),
        (500, "a plain run call answered HTTP 500"),
    ],
)
def test_a_target_that_cannot_run_the_flow_stops_the_run_with_the_reason(
    status: int, reason: str
) -> None:
    with _target(status) as env, pytest.raises(TargetError, match=re.escape(reason)) as stopped:
        preflight(env)
    assert KEY not in str(stopped.value)


def test_a_target_that_runs_the_flow_passes() -> None:
    with _target(200) as env:
        assert preflight(env).startswith("pre-flight: one run call answered 200")


def test_an_unreachable_target_is_named() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {"FLOWPROBE_BASE_URL": f"http://127.0.0.1:{port}", "FLOWPROBE_FLOW": "f"}
    with pytest.raises(TargetError, match="cannot reach"):
        preflight(env)


@pytest.fixture
def no_launch(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_") or n == "CI"]:
        monkeypatch.delenv(name)
    launched: list[dict[str, str]] = []
    monkeypatch.setattr(load, "launch", lambda plan, env, say, progress: launched.append(env))
    return launched


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--rate", "2"], "--rate applies only to an open-loop run"),
        (["--warmup", "100", "-t", "4"], "leaves nothing of a 4 s run"),
        (["--steps", "1:0"], "at least 1 user and more than 0 seconds"),
        (["--steps", "0:5"], "at least 1 user and more than 0 seconds"),
        (["--steps", "2:inf"], "at least 1 user and more than 0 seconds"),
    ],
)
def test_an_option_that_would_be_ignored_is_refused(
    no_launch: list[dict[str, str]], args: list[str], reason: str
) -> None:
    result = CliRunner().invoke(
        cli, ["load", "--base-url", "http://127.0.0.1:9", "--flow", "f", *args]
    )
    assert result.exit_code == 2, result.output
    assert reason in result.output
    assert no_launch == []


def test_a_refused_key_stops_the_load_command_before_locust(
    no_launch: list[dict[str, str]],
) -> None:
    with _target(403) as env:
        result = CliRunner().invoke(
            cli, ["load", "--base-url", env["FLOWPROBE_BASE_URL"], "--flow", "f", "-t", "1"]
        )
    assert result.exit_code == 2, result.output
    assert "refused the key (HTTP 403)" in result.output
    assert no_launch == []
