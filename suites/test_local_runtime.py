"""Local runtime parity: the reference flow's JSON run by ``langflow.load.run_flow_from_json``
answers what the run API answers, on every path the run-response contract marks
``x-read-by-clients``, for the same input, session and nonce-carrying tweaks.

Live only, and only for flowprobe's own reference flows (the local runtime runs the flow file,
pointed at the stub LLM of ``FLOWPROBE_STUB_URL``) with the Langflow environment of
``flowprobe up`` installed; each is skipped with its reason otherwise.

Compared: every leaf path the contract marks (the answer text at ``results.message.text``,
``outputs.message.message`` and ``messages[0].message``; the message's ``sender``,
``sender_name`` and ``session_id``) must be equal; the marked arrays (``outputs``,
``outputs[0].outputs``) must be as long. Not compared: ``$.session_id``, since
``run_flow_from_json`` returns the outputs alone (the session is compared inside the message);
timestamps, message ids, run ids and ``flow_id`` are not read by clients and differ legitimately
(the local runtime has no stored flow).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flowprobe import checks, contracts
from flowprobe.jsonpath import value_at
from flowprobe.local.config import LocalConfig, environment_dir, langflow_environment
from flowprobe.local.provision import reference_flows
from flowprobe.local.runtime import LocalRun, run_flow_locally
from flowprobe.wire.client import RunClient, run_body
from flowprobe.wire.flowfacts import FlowFacts

NOT_RETURNED_LOCALLY = {"$.session_id"}
LOCAL_RUNTIME_TIMEOUT = 180.0


@pytest.fixture
def reference_flow(flowprobe_flow: FlowFacts, flowprobe_mode: str) -> dict[str, Any]:
    """The flow file the target runs, pointed at the stub; skips what cannot be compared."""
    if flowprobe_mode != "live":
        pytest.skip(f"live only: the local runtime runs Langflow itself (mode {flowprobe_mode})")
    python = environment_dir() / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"no Langflow environment at {python.parent.parent} (`flowprobe up` makes it)")
    stub_url = os.environ.get("FLOWPROBE_STUB_URL")
    if not stub_url:
        pytest.skip("FLOWPROBE_STUB_URL is not set: the stub LLM the flow files point at")
    flows = {flow["endpoint_name"]: flow for flow in reference_flows(stub_url)}
    flow = flows.get(flowprobe_flow.endpoint_name or "")
    if flow is None or flow["id"] != flowprobe_flow.flow_id:
        pytest.skip(
            f"the target's flow {flowprobe_flow.name!r} is not one of flowprobe's reference flows "
            f"{sorted(flows)}: only their files are known to reach the stub LLM without the "
            "global variables (keys, base URLs) a stored flow loads from the target's database"
        )
    return flow


def _run_locally(flow: dict[str, Any], body: dict[str, Any], state: Path) -> LocalRun:
    env = langflow_environment(LocalConfig(state_dir=state))
    python = environment_dir() / "bin" / "python"
    return run_flow_locally(python, flow, body, env, LOCAL_RUNTIME_TIMEOUT)


def _compare(api: Any, local_answer: Any, path: str) -> None:
    api_value = value_at(api, path)
    try:
        local_value = value_at(local_answer, path)
    except LookupError:
        checks.fail("the local runtime answers where the API does", path=path, received="nothing")
    if isinstance(api_value, list):
        api_value, local_value = len(api_value), len(local_value)
    if api_value != local_value:
        checks.fail(
            "the local runtime and the API agree on what clients read",
            path=path,
            expected=f"{api_value!r} (the API)",
            received=f"{local_value!r} (run_flow_from_json)",
        )


def test_the_local_runtime_answers_as_the_api_does(
    flowprobe_client: RunClient,
    flowprobe_finding: Callable[[str, str], None],
    reference_flow: dict[str, Any],
    nonce_tweaks: Callable[..., tuple[str, dict[str, Any]]],
    tmp_path: Path,
) -> None:
    nonce, tweaks = nonce_tweaks("parity")
    session = flowprobe_client.defaults.new_session()  # this run's own: no earlier history
    body = run_body(input_value="flowprobe parity", session_id=session, tweaks=tweaks)
    api = checks.check_run_answer(flowprobe_client.run(body))
    local_run = _run_locally(reference_flow, body, tmp_path)
    total, imported, ran = local_run.total_seconds, local_run.import_seconds, local_run.run_seconds
    print(
        f"run_flow_from_json: {total:.1f} s in all; {imported:.1f} s importing, {ran:.2f} s running"
    )
    if nonce not in checks.check_answer_paths(api, flowprobe_finding):
        checks.fail("the nonce tweak reaches the API's answer", expected=nonce, received=api)
    for path in contracts.read_by_clients("run-response"):
        if path not in NOT_RETURNED_LOCALLY:
            _compare(api, local_run.body, path)
