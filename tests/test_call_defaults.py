"""Per-call defaults: the ``tweaks`` and ``session`` settings reach every run call a client
sends (sync and async), under what the call itself sets, as received by a loopback server."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest

from flowprobe.pytest_plugin import _call_defaults
from flowprobe.settings import load_settings
from flowprobe.target import Target
from flowprobe.wire.client import AsyncRunClient, CallDefaults, RunClient, merge_tweaks, run_body
from loopback import RunAnswerServer, serving

USER_TWEAKS = {"Agent-a": {"model": [{"name": "m", "provider": "p"}]}, "global_field": "g"}


def _sent(defaults: CallDefaults, *bodies: Any, use_async: bool = False) -> list[dict[str, Any]]:
    with serving(RunAnswerServer()) as server:
        target = Target(base_url=server.url, flow="f", api_key="k")
        if use_async:

            async def send() -> None:
                async with AsyncRunClient(target, defaults=defaults) as client:
                    for body in bodies:
                        await client.run(body)
                        await client.run_stream(body)

            asyncio.run(send())
        else:
            with RunClient(target, defaults=defaults) as client:
                for body in bodies:
                    client.run(body)
                    client.run_stream(body)
        return [json.loads(raw) for raw in server.received]


def _counting() -> CallDefaults:
    counter = itertools.count()
    return CallDefaults(session="fresh", new_session=lambda: f"s{next(counter)}")


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_fresh_session_on_every_call(use_async: bool) -> None:
    sent = _sent(_counting(), run_body(), None, use_async=use_async)
    assert [b["session_id"] for b in sent] == ["s0", "s1", "s2", "s3"]


def test_no_session_sends_none_and_a_fixed_one_is_sent_on_every_call() -> None:
    assert all("session_id" not in b for b in _sent(CallDefaults(session="none"), run_body()))
    fixed = _sent(CallDefaults(session="my-session"), run_body(), run_body())
    assert {b["session_id"] for b in fixed} == {"my-session"}


def test_a_calls_own_session_id_wins() -> None:
    sent = _sent(_counting(), run_body(session_id="mine"))
    assert {b["session_id"] for b in sent} == {"mine"}


def test_setting_tweaks_go_under_the_calls_own_per_component() -> None:
    own = {"Agent-a": {"system_prompt": "nonce"}, "Prompt-b": {"template": "t"}}
    sent = _sent(CallDefaults(tweaks=USER_TWEAKS), run_body(tweaks=own), run_body())
    assert sent[0]["tweaks"] == {
        "Agent-a": {"model": [{"name": "m", "provider": "p"}], "system_prompt": "nonce"},
        "Prompt-b": {"template": "t"},
        "global_field": "g",
    }
    assert sent[2]["tweaks"] == USER_TWEAKS


def test_the_calls_own_value_wins_over_a_setting_for_the_same_field() -> None:
    merged = merge_tweaks({"Agent-a": {"model": "user"}}, {"Agent-a": {"model": "suite"}})
    assert merged == {"Agent-a": {"model": "suite"}}


def test_a_body_sent_as_raw_content_is_left_alone() -> None:
    with serving(RunAnswerServer()) as server:
        target = Target(base_url=server.url, flow="f", api_key="k")
        with RunClient(target, defaults=CallDefaults(tweaks=USER_TWEAKS, session="x")) as client:
            client.run(content=b'{"input_value": "raw"}')
    assert [json.loads(raw) for raw in server.received] == [{"input_value": "raw"}]


def test_a_client_without_defaults_sends_the_body_as_given() -> None:
    sent = _sent(CallDefaults(), run_body())
    assert sent[0] == run_body()


def test_the_plugins_session_ids_are_the_same_on_every_run_of_a_test() -> None:
    settings = load_settings({}, env={}, pyproject={})
    first, again = (_call_defaults(settings, "suites/t.py::test_x") for _ in range(2))
    ids = [first.new_session() for _ in range(3)]
    assert ids == [again.new_session() for _ in range(3)]
    assert len(set(ids)) == 3
    assert _call_defaults(settings, "suites/t.py::test_y").new_session() != ids[0]
    assert first.session == "fresh"
    assert first.tweaks == {}
