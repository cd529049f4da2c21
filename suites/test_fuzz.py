"""Fuzzing: schemathesis generates run requests from flowprobe's own contracts (through
the OpenAPI document in flowprobe.contracts.openapi) and checks every answer: no server error,
a status and body the contracts allow, and, for streams, flowprobe's own stream checks
(schemathesis cannot read Langflow's frames).
Bounded: a fixed number of cases, at most a few calls a second."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from flowprobe import checks, contracts
from flowprobe.contracts.openapi import build_openapi
from flowprobe.target import Target
from flowprobe.wire.client import RunClient
from flowprobe.wire.stream import StreamOutcome, parse_all

MAX_CASES = 30
MIN_SECONDS_BETWEEN_CALLS = 0.2  # at most 5 calls a second against the target
# Answers that say the fuzzing never reached the flow: the key refused, or no such flow.
NOT_REACHED = frozenset({401, 403, 404})


def _check_stream_body(body: bytes) -> None:
    events, parser = parse_all(body)
    for index, event in enumerate(events):
        for violation in contracts.iter_violations(
            "stream-event", {"event": event.event, "data": event.data}
        ):
            checks.fail(
                f"fuzzed stream record {index} ({event.event}) breaks the contract",
                path=violation.path,
                expected=violation.expected,
                received=violation.received,
            )
    if parser.outcome not in (StreamOutcome.COMPLETED, StreamOutcome.ERROR):
        checks.fail(
            "a fuzzed stream ends with end or error",
            path="end of stream",
            expected="end or error",
            received=f"{parser.outcome} after {len(events)} events",
        )


@pytest.mark.fuzz
@pytest.mark.flowprobe_live
def test_generated_requests_get_contract_answers(
    flowprobe_target: Target,
    flowprobe_client: RunClient,
    flowprobe_finding: Callable[[str, str], None],
) -> None:
    # Fuzzing a target that refuses the key or lacks the flow sees only refusals, which the
    # contracts allow: it would pass without testing anything.
    plain = flowprobe_client.run()
    assert plain.status == 200, (
        f"a plain run call answers HTTP {plain.status}, so fuzzing would never reach the flow; "
        "check FLOWPROBE_FLOW and FLOWPROBE_API_KEY"
    )
    statuses: list[int] = []
    schema = schemathesis.openapi.from_dict(build_openapi(flowprobe_target))
    operation = next(iter(schema.get_all_operations())).ok()
    headers = flowprobe_target.auth_headers()
    last_call = [0.0]

    @settings(
        max_examples=MAX_CASES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        time.sleep(max(0.0, last_call[0] + MIN_SECONDS_BETWEEN_CALLS - time.monotonic()))
        last_call[0] = time.monotonic()
        response = case.call(
            base_url=flowprobe_target.base_url,
            headers=headers,
            timeout=60,
            allow_redirects=False,  # the key never follows a redirect elsewhere
        )
        statuses.append(response.status_code)
        tweaked = isinstance(case.body, dict) and bool(case.body.get("tweaks"))
        # Only a tweak's own validation failure is the known finding; any other 5xx fails.
        if response.status_code == 500 and tweaked and "validation error" in response.text:
            flowprobe_finding("wrong-typed-tweak-500", f"fuzzed body {case.body!r}")
            return
        case.validate_response(
            response,
            checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        )
        if response.status_code == 200 and case.query.get("stream") in ("true", True):
            _check_stream_body(response.content)

    run()
    assert not set(statuses) <= NOT_REACHED, (
        f"every fuzzed call was refused or found no flow (HTTP {sorted(set(statuses))}): "
        "the run endpoint was never exercised"
    )
