"""Errors: each bad request gets the status its contract promises and an error body that obeys
the error contract; no request a client can send yields a 5xx. What Langflow does that clients
cannot rely on is reported as a finding (see flowprobe.checks.findings)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from flowprobe import checks, contracts
from flowprobe.wire.client import RunClient, RunResult, run_body
from flowprobe.wire.flowfacts import FlowFacts

Report = Callable[[str, str], None]


def _check_error(answer: RunResult, status: int, promise: str) -> None:
    checks.check_status(answer, status, promise)
    contracts.check("error", answer.body)


def test_an_unknown_flow_is_404(flowprobe_client: RunClient) -> None:
    answer = flowprobe_client.run(run_body(), flow="flowprobe-no-such-flow")
    _check_error(answer, 404, "an unknown flow answers 404")


def test_malformed_json_is_422(flowprobe_client: RunClient) -> None:
    answer = flowprobe_client.run(content=b'{"input_value": "flowprobe', params=None)
    _check_error(answer, 422, "a malformed JSON body answers 422")


def test_a_bad_stream_flag_is_422(flowprobe_client: RunClient) -> None:
    url = flowprobe_client.target.run_url().replace("stream=false", "stream=maybe")
    response = flowprobe_client.http.post(
        url, json=run_body(), headers=flowprobe_client.target.auth_headers()
    )
    if response.status_code != 422:
        checks.fail(
            "a bad ?stream= answers 422",
            path="HTTP status",
            expected="422",
            received=response.status_code,
        )
    contracts.check("error", response.json())


def test_input_value_with_a_chat_input_tweak_is_400(
    flowprobe_client: RunClient, flowprobe_flow: FlowFacts
) -> None:
    chat_input = flowprobe_flow.chat_input
    if chat_input is None:
        pytest.skip("the flow has no Chat Input")
    body = run_body(tweaks={chat_input.id: {"input_value": "flowprobe tweak"}})
    _check_error(flowprobe_client.run(body), 400, "input_value with a Chat Input tweak is 400")


def test_a_protected_tweak_is_refused_with_422(
    flowprobe_client: RunClient, flowprobe_flow: FlowFacts
) -> None:
    target = flowprobe_flow.prompt or flowprobe_flow.components[0]
    body = run_body(tweaks={target.id: {"code": "print('flowprobe')"}})
    answer = flowprobe_client.run(body)
    _check_error(answer, 422, "a tweak of a protected field (code) is refused with 422")


def test_a_wrong_typed_tweak_is_a_client_error(
    flowprobe_client: RunClient, flowprobe_flow: FlowFacts, flowprobe_finding: Report
) -> None:
    model = flowprobe_flow.model
    if model is None or not model.numeric_fields:
        pytest.skip("the flow has no model with a numeric field to mistype")
    # temperature where the model has one (every chat model does), else its first number.
    numeric = "temperature" if "temperature" in model.numeric_fields else model.numeric_fields[0]
    answer = flowprobe_client.run(run_body(tweaks={model.id: {numeric: "hot"}}))
    if answer.status >= 500:
        flowprobe_finding("wrong-typed-tweak-500", f"HTTP {answer.status}: {answer.text[:160]}")
    elif answer.status != 200:
        _check_error(answer, answer.status, "a refused tweak has an error body")


SILENT_DROPS: list[tuple[str, dict[str, Any] | list[Any]]] = [
    ("numeric-input-silently-dropped", {"input_value": 5}),
    ("list-tweaks-silently-dropped", {"input_value": "flowprobe", "tweaks": [1]}),
    (
        "unknown-input-type-silently-dropped",
        {"input_value": "flowprobe", "input_type": "flowprobe"},
    ),
    ("non-object-body-accepted", [1]),
]


@pytest.mark.parametrize(("finding", "body"), SILENT_DROPS, ids=[f for f, _ in SILENT_DROPS])
def test_a_wrong_typed_body_is_refused(
    flowprobe_client: RunClient, flowprobe_finding: Report, finding: str, body: Any
) -> None:
    answer = flowprobe_client.run(content=json.dumps(body).encode())
    if answer.status >= 500:
        checks.fail(
            "no request a client can send yields a 5xx",
            path="HTTP status",
            expected="a 4xx",
            received=f"{answer.status} {answer.text[:160]}",
        )
    if answer.status == 200:
        flowprobe_finding(finding, f"sent {json.dumps(body)}, got 200")
    else:
        _check_error(answer, answer.status, "a refused body has an error body")


def test_an_unknown_output_component_is_reported(
    flowprobe_client: RunClient, flowprobe_finding: Report
) -> None:
    answer = flowprobe_client.run(run_body(output_component="flowprobe-no-such-component"))
    if answer.status == 200 and not answer.body["outputs"][0]["outputs"]:
        flowprobe_finding("unknown-output-component-empty", "got 200 with outputs[0].outputs == []")
    elif answer.status >= 500:
        checks.fail(
            "no request a client can send yields a 5xx",
            path="HTTP status",
            expected="a 4xx",
            received=answer.status,
        )


# A provider no Langflow knows: choosing it makes the model component fail when it builds.
UNRUNNABLE_MODEL = [{"name": "flowprobe-no-such-model", "provider": "flowprobe-no-such-provider"}]


def _failing_model_tweaks(flow: FlowFacts) -> dict[str, Any]:
    """Tweaks under which the flow's model cannot run: its base URL pointed at a closed port
    (the legacy OpenAI component), else its model choice set to a provider that does not exist."""
    model = flow.model
    if model is None:
        pytest.skip("the flow has no language model to make fail")
    if "openai_api_base" in model.fields:
        return {model.id: {"openai_api_base": "http://127.0.0.1:9/v1", "max_retries": 0}}
    if model.model_choice is not None:
        return {model.id: {model.model_choice: UNRUNNABLE_MODEL}}
    pytest.skip(
        f"the model {model.display_name!r} has neither a base URL (openai_api_base) nor a model "
        "choice to point at something that cannot run"
    )


def test_error_events_carry_no_server_traceback(
    flowprobe_client: RunClient, flowprobe_flow: FlowFacts, flowprobe_finding: Report
) -> None:
    tweaks = _failing_model_tweaks(flowprobe_flow)
    run = flowprobe_client.run_stream(run_body(tweaks=tweaks))
    checks.check_status(run, 200, "a streaming call reports a failed run as an error event")
    errors = [e for e in run.events if e.event == "error"]
    if not errors:
        checks.fail(
            "a failed run ends in an error event",
            path="events",
            expected="error",
            received=[e.event for e in run.events],
        )
    if "Traceback (most recent call last)" in json.dumps([e.data for e in errors]):
        flowprobe_finding("traceback-in-error-event", "an error event's content_blocks hold one")
