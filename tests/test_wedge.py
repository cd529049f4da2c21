"""A wedged target (every run answers 500 "database is locked", /health stays ok) is named as
such: the run client raises it, and the pytest plugin stops the session after the first one."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest

from flowprobe.target import Target
from flowprobe.wire.client import WEDGED, AsyncRunClient, Deadlines, RunClient, TargetWedged
from loopback import LockedServer, serving

pytest_plugins = ["pytester"]
KEY = "lf-wedge-key-never-shown-4"


@pytest.fixture
def locked() -> Iterator[LockedServer]:
    with serving(LockedServer(delay=0.2)) as server:
        yield server


def _client(url: str) -> RunClient:
    return RunClient(Target(base_url=url, flow="f", api_key=KEY), deadlines=Deadlines(total=10))


def test_a_locked_database_is_raised_as_a_wedged_target(locked: LockedServer) -> None:
    with _client(locked.url) as client, pytest.raises(TargetWedged) as raised:
        client.run()
    message = str(raised.value)
    assert message.startswith(WEDGED + ": ")
    assert "answered 500 after 0." in message
    assert KEY not in message


def test_a_streaming_call_says_the_same(locked: LockedServer) -> None:
    with _client(locked.url) as client, pytest.raises(TargetWedged, match=r"database is locked"):
        client.run_stream()


def test_the_async_client_says_the_same(locked: LockedServer) -> None:
    async def call() -> None:
        target = Target(base_url=locked.url, flow="f", api_key=KEY)
        async with AsyncRunClient(target, deadlines=Deadlines(total=10)) as client:
            await client.run()

    with pytest.raises(TargetWedged):
        asyncio.run(call())


def test_another_500_is_an_answer_for_the_suites_to_judge() -> None:
    # Only the locked database means "no later call will run"; a 500 is otherwise a verdict.
    failing = LockedServer(delay=0, detail="Error running graph: Error building Component")
    with serving(failing) as server, _client(server.url) as client:
        assert client.run().status == 500


SUITE = """
from flowprobe.wire.client import run_body

def test_{0}(flowprobe_client):
    assert flowprobe_client.run(run_body()).status == 200
"""


def test_the_suites_stop_after_the_first_wedged_answer(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, locked: LockedServer
) -> None:
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FLOWPROBE_MODE", "live")
    monkeypatch.setenv("FLOWPROBE_BASE_URL", locked.url)
    monkeypatch.setenv("FLOWPROBE_FLOW", "f")
    monkeypatch.setenv("FLOWPROBE_API_KEY", KEY)
    pytester.makepyprojecttoml("[tool.flowprobe]\n")
    pytester.makepyfile(**{f"test_{i}": SUITE.format(i) for i in range(6)})
    started = time.monotonic()
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    took = time.monotonic() - started
    assert result.ret == pytest.ExitCode.INTERRUPTED  # 2: the target, not a contract
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*Interrupted: {WEDGED}*"])
    assert locked.calls == 1
    assert took < 10
    assert KEY not in result.stdout.str()
