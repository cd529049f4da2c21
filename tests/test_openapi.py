"""The OpenAPI document flowprobe fuzzes from: self-contained, pinned to the flow, faithful."""

from __future__ import annotations

import json

import schemathesis
from hypothesis import HealthCheck, given, settings

from flowprobe import contracts
from flowprobe.contracts.openapi import build_openapi
from flowprobe.target import Target

SELF_HOSTED = Target(base_url="http://127.0.0.1:7860", flow="my-flow", api_key="k")


def test_every_reference_stays_inside_the_document() -> None:
    text = json.dumps(build_openapi(SELF_HOSTED))
    assert contracts.ID_PREFIX not in text
    assert '"#/$defs/' not in text


def test_the_flow_is_pinned_in_both_url_forms() -> None:
    assert list(build_openapi(SELF_HOSTED)["paths"]) == ["/api/v1/run/my-flow"]
    hosted = Target(base_url="http://127.0.0.1:7860", flow="f", api_key="t", langflow_id="lf1")
    document = build_openapi(hosted)
    assert list(document["paths"]) == ["/lf/lf1/api/v1/run/f"]
    assert document["components"]["securitySchemes"]["langflow"]["scheme"] == "bearer"


def test_generated_bodies_obey_the_run_request_contract() -> None:
    schema = schemathesis.openapi.from_dict(build_openapi(SELF_HOSTED))
    operation = next(iter(schema.get_all_operations())).ok()

    @settings(
        max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        assert contracts.violations("run-request", case.body) == []
        assert case.query["stream"] in ("true", "false", True, False)

    check()
