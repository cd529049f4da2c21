"""The fuzz suite against a target that refuses every call fails with the reason; before, the
contracts allowed each refusal and the suite passed without exercising anything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from loopback import serving

ROOT = Path(__file__).resolve().parents[2]


def _refusing(status: int) -> type[BaseHTTPRequestHandler]:
    class Refusing(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = json.dumps({"detail": "refused by the test"}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Refusing


@contextmanager
def _serving(status: int) -> Iterator[str]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _refusing(status))) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize("status", [403, 404])
def test_fuzzing_a_target_that_refuses_everything_fails(status: int) -> None:
    with _serving(status) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWPROBE_")}
        env.update(
            FLOWPROBE_MODE="live", FLOWPROBE_BASE_URL=url, FLOWPROBE_FLOW="f", FLOWPROBE_API_KEY="k"
        )
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "suites/test_fuzz.py", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1, done.stdout[-2000:]
    assert f"a plain run call answers HTTP {status}" in done.stdout
