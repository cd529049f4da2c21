"""Auth: no key and a wrong key are refused on both paths and leak nothing of the flow; the key
works in the header and in the ``x-api-key`` query parameter."""

from __future__ import annotations

import dataclasses

import pytest

from flowprobe import checks
from flowprobe.target import Target
from flowprobe.wire.client import RunClient, run_body
from flowprobe.wire.flowfacts import FlowFacts

REFUSED = (401, 403)


def _leaks(text: str, flow: FlowFacts) -> list[str]:
    secrets = [flow.flow_id, *(c.id for c in flow.components)]
    if flow.name:
        secrets.append(flow.name)
    return [s for s in secrets if s and s in text] + (["outputs"] if '"outputs"' in text else [])


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streaming"])
@pytest.mark.parametrize("key", [None, "flowprobe-wrong-key"], ids=["no-key", "wrong-key"])
def test_a_call_without_a_valid_key_is_refused(
    flowprobe_client: RunClient, flowprobe_flow: FlowFacts, key: str | None, stream: bool
) -> None:
    body = run_body(input_value="flowprobe auth")
    if stream:
        run = flowprobe_client.run_stream(body, api_key=key)
        status, text = run.status, str(run.error_body)
    else:
        answer = flowprobe_client.run(body, api_key=key)
        status, text = answer.status, answer.text
    if status not in REFUSED:
        checks.fail(
            "a call without a valid key is refused",
            path="HTTP status",
            expected="401 or 403",
            received=f"{status} {text[:200]}",
        )
    leaked = _leaks(text, flowprobe_flow)
    if leaked:
        checks.fail(
            "a refusal leaks nothing of the flow",
            path="refusal body",
            expected="no flow details",
            received=f"{leaked}",
        )


def test_the_key_is_accepted_in_the_query(
    flowprobe_client: RunClient, flowprobe_target: Target
) -> None:
    if flowprobe_target.auth == "bearer":
        pytest.skip("a bearer token is not sent in the query")
    key = flowprobe_target.api_key or ""
    answer = flowprobe_client.run(run_body(), api_key=None, params={"x-api-key": key})
    checks.check_run_answer(answer)


def test_the_key_is_accepted_in_its_header(flowprobe_client: RunClient) -> None:
    checks.check_run_answer(flowprobe_client.run(run_body()))


def test_hosted_form_accepts_a_bearer_token(
    flowprobe_client: RunClient, flowprobe_target: Target
) -> None:
    if not flowprobe_target.hosted:
        pytest.skip("the target is self-hosted; set FLOWPROBE_LANGFLOW_ID to test the hosted form")
    checks.check_run_answer(flowprobe_client.run(run_body()))


def test_hosted_form_refuses_the_key_as_x_api_key(
    flowprobe_target: Target, flowprobe_client: RunClient
) -> None:
    if not flowprobe_target.hosted:
        pytest.skip("the target is self-hosted; set FLOWPROBE_LANGFLOW_ID to test the hosted form")
    # The same key, in the header self-hosted Langflow takes: hosted takes a bearer token only.
    as_header = dataclasses.replace(flowprobe_target, auth="x-api-key")
    with RunClient(as_header, deadlines=flowprobe_client.deadlines) as client:
        answer = client.run(run_body(input_value="flowprobe auth"))
    if answer.status not in REFUSED:
        checks.fail(
            "the hosted form refuses a key sent as x-api-key",
            path="HTTP status",
            expected="401 or 403",
            received=f"{answer.status} {answer.text[:200]}",
        )
