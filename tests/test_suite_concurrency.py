"""The suites' concurrent callers: one caller's failure never cancels the others, so no call
the target is still answering is cut (a cut stream once wedged Langflow's SQLite); the failure
is raised once every caller has finished."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from flowprobe.errors import ContractViolation
from flowprobe.target import Target
from flowprobe.wire.client import AsyncRunClient, run_body

ROOT = Path(__file__).resolve().parent.parent
ANSWER = (
    ROOT / "tests/contracts/examples/run-response/valid/no-model-chat-by-uuid.json"
).read_bytes()


def _suite(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"flowprobe_suite_{name}", ROOT / "suites" / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _SlowSiblings(httpx.AsyncBaseTransport):
    """Fails the call whose input is ``broken`` at once; answers the others after a delay."""

    def __init__(self) -> None:
        self.finished: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        said = json.loads(await request.aread())["input_value"]
        if said == "broken":
            return httpx.Response(500, json={"detail": "flowprobe: broken on purpose"})
        await asyncio.sleep(0.2)
        self.finished.append(said)
        return httpx.Response(200, content=ANSWER, headers={"content-type": "application/json"})


def test_a_failing_caller_lets_the_others_finish_before_it_is_raised() -> None:
    concurrent = _suite("test_tweaks.py")._concurrent
    transport = _SlowSiblings()
    client = AsyncRunClient(Target(base_url="http://127.0.0.1:9", flow="f"), transport=transport)
    bodies = [run_body(input_value=said) for said in ("broken", "one", "two", "three")]
    with pytest.raises(ContractViolation, match="a run call answers 200"):
        asyncio.run(concurrent(client, bodies, False))
    assert sorted(transport.finished) == ["one", "three", "two"]


def test_callers_that_all_succeed_get_their_answers_in_order() -> None:
    concurrent = _suite("test_tweaks.py")._concurrent
    transport = _SlowSiblings()
    client = AsyncRunClient(Target(base_url="http://127.0.0.1:9", flow="f"), transport=transport)
    answers = asyncio.run(concurrent(client, [run_body(input_value="one")] * 2, False))
    assert [json.loads(a) for a in answers] == [json.loads(ANSWER)] * 2
