"""Tweaks apply to one call only: they show in that call's answer, never in the next one, never
in the stored flow, and never in a concurrent caller's answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from flowprobe import checks
from flowprobe.wire.client import AsyncRunClient, RunClient, RunResult, StreamedRun, run_body
from flowprobe.wire.flowfacts import FlowFacts

NonceTweaks = Callable[..., tuple[str, dict[str, Any]]]
CONCURRENT_CALLERS = 8


DebugAnswer = Callable[[RunResult], dict[str, Any]]


def _debug_text(client: RunClient, read: DebugAnswer, tweaks: dict[str, Any] | None = None) -> str:
    body = run_body(input_value="flowprobe tweaks", output_type="debug", tweaks=tweaks)
    return json.dumps(read(client.run(body)))


def _streamed_text(run: StreamedRun) -> str:
    checks.check_stream(run)
    return json.dumps([e.data for e in run.events])


@pytest.mark.parametrize("by", ["id", "display_name", "global"])
def test_a_tweak_applies_to_its_call_only(
    flowprobe_client: RunClient, nonce_tweaks: NonceTweaks, debug_answer: DebugAnswer, by: str
) -> None:
    nonce, tweaks = nonce_tweaks(by, by=by)
    if nonce not in _debug_text(flowprobe_client, debug_answer, tweaks):
        checks.fail(
            f"a tweak by {by} reaches the flow",
            path="debug output",
            expected=f"the nonce {nonce}",
            received="an answer without it",
        )
    if nonce in _debug_text(flowprobe_client, debug_answer):
        checks.fail(
            f"a tweak by {by} does not persist",
            path="next call's debug output",
            expected="the stored template",
            received=f"the previous call's nonce {nonce}",
        )


def test_a_tweak_applies_to_its_streamed_call_only(
    flowprobe_client: RunClient, nonce_tweaks: NonceTweaks
) -> None:
    nonce, tweaks = nonce_tweaks("stream")
    if nonce not in _streamed_text(flowprobe_client.run_stream(run_body(tweaks=tweaks))):
        checks.fail(
            "a tweak reaches a streamed call",
            path="stream events",
            expected=f"the nonce {nonce}",
            received="a stream without it",
        )
    if nonce in _streamed_text(flowprobe_client.run_stream(run_body())):
        checks.fail(
            "a tweak does not persist after a streamed call",
            path="next stream",
            expected="the stored template",
            received=f"the previous call's nonce {nonce}",
        )


def _stored_flow(client: RunClient, flow: FlowFacts) -> Any:
    response = client.http.get(
        client.target.api_url(f"flows/{flow.flow_id}"), headers=client.target.auth_headers()
    )
    assert response.status_code == 200, f"GET flows/{flow.flow_id}: HTTP {response.status_code}"
    return response.json()["data"]


def test_the_stored_flow_is_unchanged_by_tweaked_calls(
    flowprobe_client: RunClient, flowprobe_flow: FlowFacts, nonce_tweaks: NonceTweaks
) -> None:
    before = _stored_flow(flowprobe_client, flowprobe_flow)
    nonce, tweaks = nonce_tweaks("stored")
    flowprobe_client.run(run_body(tweaks=tweaks))
    flowprobe_client.run_stream(run_body(tweaks=tweaks))
    after = _stored_flow(flowprobe_client, flowprobe_flow)
    if nonce in json.dumps(after) or after != before:
        checks.fail(
            "tweaks never change the stored flow",
            path="GET /api/v1/flows/{id} .data",
            expected="the flow as stored before",
            received="a changed flow",
        )


async def _concurrent(
    client: AsyncRunClient,
    bodies: list[dict[str, Any]],
    stream: bool,
    read: DebugAnswer = checks.check_run_answer,
) -> list[str]:
    async def one(body: dict[str, Any]) -> str:
        if stream:
            return _streamed_text(await client.run_stream(body))
        return json.dumps(read(await client.run(body)))

    try:
        # Every caller runs to its end (each stream read to the end) before any failure is
        # raised: cancelling siblings would cut streams the target is still writing.
        answers = await asyncio.gather(*(one(b) for b in bodies), return_exceptions=True)
    finally:
        await client.aclose()
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [str(answer) for answer in answers]


@pytest.mark.flowprobe_live
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streaming"])
def test_tweaks_do_not_leak_between_concurrent_callers(
    flowprobe_async_client: AsyncRunClient,
    nonce_tweaks: NonceTweaks,
    debug_answer: DebugAnswer,
    stream: bool,
) -> None:
    pairs = [nonce_tweaks(f"caller-{i}") for i in range(CONCURRENT_CALLERS)]
    output = "chat" if stream else "debug"
    bodies = [run_body(output_type=output, tweaks=tweaks) for _, tweaks in pairs]
    answers = asyncio.run(_concurrent(flowprobe_async_client, bodies, stream, debug_answer))
    nonces = [nonce for nonce, _ in pairs]
    for index, (nonce, answer) in enumerate(zip(nonces, answers, strict=True)):
        others = [n for n in nonces if n != nonce and n in answer]
        if nonce not in answer or others:
            checks.fail(
                "concurrent callers each get their own tweak and no other",
                path=f"caller {index}'s answer",
                expected=f"only the nonce {nonce}",
                received=f"nonces {[n for n in nonces if n in answer]}",
            )


def _session_messages(client: RunClient, session: str) -> list[dict[str, Any]]:
    url = client.target.api_url("monitor/messages")
    response = client.http.get(
        url, params={"session_id": session}, headers=client.target.auth_headers()
    )
    if response.status_code != 200:
        pytest.skip(f"the key cannot read session history (GET {url}: HTTP {response.status_code})")
    messages: list[dict[str, Any]] = response.json()
    return messages


@pytest.mark.flowprobe_live
def test_interleaved_sessions_keep_their_own_history(
    flowprobe_async_client: AsyncRunClient,
    flowprobe_client: RunClient,
    flowprobe_flow: FlowFacts,
    flowprobe_nonce: Callable[[str], str],
) -> None:
    if flowprobe_flow.chat_input is None:
        # Only a Chat Input stores what each caller said in its session's history.
        pytest.skip("the flow has no Chat Input, so no turn of the callers is stored")
    # New sessions of this run: an earlier run's turns must not be in their history.
    sessions = [flowprobe_client.defaults.new_session() for _ in range(2)]
    said = {s: [f"{s}-turn{t}" for t in range(3)] for s in sessions}
    bodies = [run_body(input_value=said[s][t], session_id=s) for t in range(3) for s in sessions]
    answers = asyncio.run(_concurrent(flowprobe_async_client, bodies, stream=False))
    for body, answer in zip(bodies, answers, strict=True):
        if json.loads(answer)["session_id"] != body["session_id"]:
            checks.fail(
                "each caller gets its own session back",
                path="$.session_id",
                expected=body["session_id"],
                received=json.loads(answer)["session_id"],
            )
    for mine, other in (sessions, sessions[::-1]):
        history = _session_messages(flowprobe_client, mine)
        texts = json.dumps(history)
        if any(m.get("session_id") != mine for m in history) or any(
            t in texts for t in said[other]
        ):
            checks.fail(
                "interleaved sessions never see each other's history",
                path=f"GET monitor/messages?session_id={mine}",
                expected=f"nothing of session {other}",
                received=texts,
            )
        if not all(t in texts for t in said[mine]):
            checks.fail(
                "a session keeps every turn of its own",
                path=f"history of {mine}",
                expected=str(said[mine]),
                received=texts,
            )
