"""The local target, live: run by CI after `flowprobe up` (with `.flowprobe/target.env` sourced).

Skipped when no local target is configured (FLOWPROBE_STUB_URL comes from `flowprobe up`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from flowprobe.target import Target
from flowprobe.wire.client import RunClient, run_body
from flowprobe.wire.stream import parse_all

STUB_URL = os.environ.get("FLOWPROBE_STUB_URL", "")
pytestmark = pytest.mark.skipif(
    not (STUB_URL and os.environ.get("FLOWPROBE_BASE_URL")),
    reason="needs the local target: run `flowprobe up` and source .flowprobe/target.env",
)
FLOWS = {"flowprobe-basic-prompting": "[model=gpt-4o-mini", "flowprobe-no-model": "You said:"}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("stream", ["false", "true"])
@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_a_plain_curl_gets_the_stub_text(flow: str, stream: str) -> None:
    url = f"{os.environ['FLOWPROBE_BASE_URL']}/api/v1/run/{flow}?stream={stream}"
    command = [
        "curl",
        "-sS",
        "-X",
        "POST",
        url,
        "-H",
        "content-type: application/json",
        "-H",
        f"x-api-key: {os.environ['FLOWPROBE_API_KEY']}",
        "-d",
        '{"input_value": "hello from curl"}',
        "-w",
        "\n%{http_code}",
    ]
    answer = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    body, _, status = answer.stdout.rpartition("\n")
    assert status == "200"
    if stream == "true":
        events, _ = parse_all(body.encode())
        assert [e.event for e in events][-1] == "end"
        body = json.dumps(events[-1].data)
    assert FLOWS[flow] in body
    assert "hello from curl" in body


@pytest.fixture
def slow_stub() -> Iterator[None]:
    settings_url = STUB_URL.removesuffix("/v1") + "/stub/settings"
    before = httpx.get(settings_url).json()
    httpx.put(settings_url, json={"first_token_delay_ms": 300}).raise_for_status()
    try:
        yield
    finally:
        httpx.put(settings_url, json=before).raise_for_status()


@pytest.mark.usefixtures("slow_stub")
def test_the_stub_first_token_delay_shows_through_langflow() -> None:
    target = Target(
        base_url=os.environ["FLOWPROBE_BASE_URL"],
        flow="flowprobe-basic-prompting",
        api_key=os.environ["FLOWPROBE_API_KEY"],
    )
    with RunClient(target) as client:
        summary = client.run_stream(run_body(input_value="flowprobe slow")).summary()
    assert summary.time_to_first_token is not None
    assert summary.time_to_first_token >= 0.300
