"""Shape: every input_type x output_type, by UUID and by endpoint name, streaming and not,
obeys the contracts; ``inputs`` echoes the request; the samples' paths hold the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flowprobe import checks
from flowprobe.checks.answer import Report
from flowprobe.wire.client import RunClient, RunResult, run_body
from flowprobe.wire.flowfacts import FlowFacts

INPUT_TYPES = ("chat", "text", "any")
OUTPUT_TYPES = ("chat", "text", "any", "debug")


@pytest.fixture(params=["uuid", "endpoint_name"])
def flow_ref(request: pytest.FixtureRequest, flowprobe_flow: FlowFacts) -> str:
    if request.param == "uuid":
        return flowprobe_flow.flow_id
    if not flowprobe_flow.endpoint_name:
        pytest.skip("the flow has no endpoint name")
    return flowprobe_flow.endpoint_name


@pytest.mark.parametrize("output_type", OUTPUT_TYPES)
@pytest.mark.parametrize("input_type", INPUT_TYPES)
def test_answer_obeys_the_run_response_contract(
    flowprobe_client: RunClient,
    flowprobe_finding: Report,
    debug_answer: Callable[[RunResult], dict[str, Any]],
    flow_ref: str,
    input_type: str,
    output_type: str,
) -> None:
    body = run_body(input_value="flowprobe shape", input_type=input_type, output_type=output_type)
    result = flowprobe_client.run(body, flow=flow_ref)
    answer = debug_answer(result) if output_type == "debug" else checks.check_run_answer(result)
    if answer["outputs"][0].get("inputs") != {"input_value": "flowprobe shape"}:
        checks.fail(
            "inputs echoes the request",
            path="$.outputs[0].inputs",
            expected='{"input_value": "flowprobe shape"}',
            received=answer["outputs"][0].get("inputs"),
        )
    if output_type != "debug":
        checks.check_answer_paths(answer, flowprobe_finding)


def test_session_id_is_returned(
    flowprobe_client: RunClient, flowprobe_nonce: Callable[[str], str]
) -> None:
    session = f"session-{flowprobe_nonce('session')}"
    answer = checks.check_run_answer(flowprobe_client.run(run_body(session_id=session)))
    if answer["session_id"] != session:
        checks.fail(
            "the answer carries the caller's session_id",
            path="$.session_id",
            expected=session,
            received=answer["session_id"],
        )


def test_debug_output_lists_every_component(
    flowprobe_client: RunClient,
    flowprobe_flow: FlowFacts,
    debug_answer: Callable[[RunResult], dict[str, Any]],
) -> None:
    answer = debug_answer(flowprobe_client.run(run_body(output_type="debug")))
    seen = {r["component_id"] for r in answer["outputs"][0]["outputs"]}
    missing = {c.id for c in flowprobe_flow.components} - seen
    if missing:
        checks.fail(
            "output_type=debug shows every component",
            path="$.outputs[0].outputs",
            expected=f"results of {sorted(missing)}",
            received=sorted(seen),
        )


@pytest.mark.parametrize("input_type", INPUT_TYPES)
def test_stream_obeys_the_stream_contract(
    flowprobe_client: RunClient, flowprobe_finding: Report, flow_ref: str, input_type: str
) -> None:
    run = flowprobe_client.run_stream(run_body(input_type=input_type), flow=flow_ref)
    summary = checks.check_stream(run)
    end = run.events[-1].data["result"]
    checks.check_answer_paths(end, flowprobe_finding)
    assert summary.outcome is not None
