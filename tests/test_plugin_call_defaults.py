"""The plugin's client fixtures send the ``tweaks`` and ``session`` settings on every call, as
a loopback server receives them from a small test run through ``pytester``."""

from __future__ import annotations

import json
import os

import pytest

# pytester forgets the modules a run imports; vcr must outlive the runs (see test_plugin.py).
import vcr  # noqa: F401

from loopback import RunAnswerServer, serving

pytest_plugins = ["pytester"]

SOURCE = """
    import asyncio
    from flowprobe.wire.client import run_body

    def test_calls(flowprobe_client, flowprobe_async_client):
        flowprobe_client.run(run_body(tweaks={"Agent-a": {"system_prompt": "suite"}}))
        flowprobe_client.run(run_body(session_id="the-tests-own"))

        async def call():
            async with flowprobe_async_client as client:
                await client.run(run_body())

        asyncio.run(call())
"""


@pytest.fixture(autouse=True)
def no_flowprobe_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_")]:
        monkeypatch.delenv(name)


def _bodies(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, **env: str) -> list:
    pytester.makepyprojecttoml('[tool.flowprobe]\nflow = "f"')
    pytester.makepyfile(SOURCE)
    with serving(RunAnswerServer()) as server:
        for name, value in {"FLOWPROBE_MODE": "live", "FLOWPROBE_BASE_URL": server.url}.items():
            monkeypatch.setenv(name, value)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    return [json.loads(raw) for raw in server.received]


def test_by_default_every_call_gets_its_own_session(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _bodies(pytester, monkeypatch)
    sessions = [body["session_id"] for body in sent]
    assert sessions[1] == "the-tests-own"
    assert len(set(sessions)) == 3
    assert all(s.startswith("fp-session-") for s in (sessions[0], sessions[2]))
    again = _bodies(pytester, monkeypatch)
    # A live run's sessions are its own: a memory flow never finds an earlier run's history.
    assert not {body["session_id"] for body in again} & {sessions[0], sessions[2]}


IDS_SOURCE = """
    def test_ids(flowprobe_call_defaults, flowprobe_target):
        with open("ids.txt", "a") as ids:
            ids.write(flowprobe_call_defaults.new_session() + "\\n")
"""


@pytest.mark.parametrize(("mode", "same"), [("replay", True), ("live", False)])
def test_fresh_session_ids_repeat_only_when_replaying(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str, same: bool
) -> None:
    pytester.makepyprojecttoml('[tool.flowprobe]\nflow = "f"\nbase_url = "http://127.0.0.1:9"')
    pytester.makepyfile(IDS_SOURCE)
    monkeypatch.setenv("FLOWPROBE_MODE", mode)
    for _ in range(2):
        pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    first, second = (pytester.path / "ids.txt").read_text().split()
    assert (first == second) is same


def test_the_session_and_tweaks_settings_reach_every_call(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    tweaks = {"Agent-a": {"model": "user-choice"}}
    sent = _bodies(
        pytester, monkeypatch, FLOWPROBE_SESSION="fixed-one", FLOWPROBE_TWEAKS=json.dumps(tweaks)
    )
    assert [body["session_id"] for body in sent] == ["fixed-one", "the-tests-own", "fixed-one"]
    assert sent[0]["tweaks"] == {"Agent-a": {"model": "user-choice", "system_prompt": "suite"}}
    assert sent[1]["tweaks"] == sent[2]["tweaks"] == tweaks


def test_no_session_sends_none(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _bodies(pytester, monkeypatch, FLOWPROBE_SESSION="none")
    assert [body.get("session_id") for body in sent] == [None, "the-tests-own", None]
