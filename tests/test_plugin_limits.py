"""``max_body_mb`` bounds what a suite's client reads."""

from __future__ import annotations

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# pytester forgets the modules a run imports; vcr must outlive the runs (see test_plugin.py).
import vcr  # noqa: F401

from loopback import serving

pytest_plugins = ["pytester"]


class _Large(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b'{"outputs": "' + b"z" * (3 * 1024 * 1024) + b'"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize(("limit", "outcome"), [("1", "failed"), ("8", "passed")])
def test_the_body_limit_applies_to_the_suites_clients(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, limit: str, outcome: str
) -> None:
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_")]:
        monkeypatch.delenv(name)
    pytester.makepyprojecttoml("[tool.flowprobe]\n")
    pytester.makepyfile(
        """
        def test_read(flowprobe_client):
            assert flowprobe_client.run().status == 200
        """
    )
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _Large)) as server:
        monkeypatch.setenv("FLOWPROBE_MODE", "live")
        monkeypatch.setenv("FLOWPROBE_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("FLOWPROBE_FLOW", "f")
        monkeypatch.setenv("FLOWPROBE_MAX_BODY_MB", limit)
        result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(**{outcome: 1})
    if outcome == "failed":
        result.stdout.fnmatch_lines(["*max body size*"])
