"""The suites learn the flow from the flows API, never from a run answer's shape: a target whose
answers break the contract still gets tested (and fails on the contract), and a flows API that
answers something other than JSON is one sentence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from flowprobe.errors import TargetError
from flowprobe.target import Target
from flowprobe.wire.client import RunClient
from flowprobe.wire.flowfacts import learn_flow
from loopback import serving

FLOW_ID = "5f0c5e1e-f10b-4000-8000-0000000000aa"
# Every field a client reads is renamed: no flow_id, no results.
BROKEN_ANSWER = {"session_id": "s", "outputs": [{"outputs": [{"resultz": {"message": {}}}]}]}
FLOW = {
    "id": FLOW_ID,
    "name": "my flow",
    "endpoint_name": "my-flow",
    "data": {
        "nodes": [
            {
                "id": "ChatInput-1",
                "data": {"type": "ChatInput", "node": {"template": {"input_value": {"value": ""}}}},
            }
        ]
    },
}


def _handler(flows_page: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self._send(json.dumps(BROKEN_ANSWER).encode())

        def do_GET(self) -> None:
            if self.path.startswith("/api/v1/flows/?"):
                self._send(flows_page)
            elif self.path == f"/api/v1/flows/{FLOW_ID}":
                self._send(json.dumps(FLOW).encode())
            else:
                self.send_error(404)

    return Handler


@contextmanager
def _target(flows_page: bytes) -> Iterator[Target]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _handler(flows_page))) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        yield Target(base_url=url, flow="my-flow", api_key="k")


def test_a_broken_answer_does_not_hide_the_flow() -> None:
    page = json.dumps([{"id": FLOW_ID, "endpoint_name": "my-flow"}]).encode()
    with _target(page) as target, RunClient(target) as client:
        facts = learn_flow(client)
    assert facts.flow_id == FLOW_ID
    assert [c.id for c in facts.components] == ["ChatInput-1"]


@pytest.mark.parametrize("page", [b"<html>sign in</html>", b"{not json"])
def test_a_flows_page_that_is_not_json_is_one_sentence(page: bytes) -> None:
    with (
        _target(page) as target,
        RunClient(target) as client,
        pytest.raises(TargetError, match="answered a body that is not JSON") as refused,
    ):
        learn_flow(client)
    assert "\n" not in str(refused.value)
