"""An OpenAPI 3.1 document of the run endpoint, built from flowprobe's own contracts.

Langflow publishes no schema of its run answers, so fuzzing needs one: this document pins the
flow under test, takes the request body from ``run-request`` and the answers from
``run-response`` and ``error``. Every contract (and its ``$defs``) is copied into
``components/schemas`` with its references rewritten, so nothing is fetched.
"""

from __future__ import annotations

import copy
from typing import Any

from flowprobe import contracts
from flowprobe.target import Target


def _component(contract: str, definition: str | None = None) -> str:
    return contract if definition is None else f"{contract}__{definition}"


def _rewrite(node: Any, contract: str) -> Any:
    if isinstance(node, dict):
        rewritten = {k: _rewrite(v, contract) for k, v in node.items()}
        ref = rewritten.get("$ref")
        if isinstance(ref, str):
            rewritten["$ref"] = _rewrite_ref(ref, contract)
        return rewritten
    if isinstance(node, list):
        return [_rewrite(item, contract) for item in node]
    return node


def _rewrite_ref(ref: str, contract: str) -> str:
    if ref.startswith(contracts.ID_PREFIX):
        return f"#/components/schemas/{ref.removeprefix(contracts.ID_PREFIX).removesuffix('.json')}"
    if ref.startswith("#/$defs/"):
        return f"#/components/schemas/{_component(contract, ref.removeprefix('#/$defs/'))}"
    raise ValueError(f"contract {contract} has a reference flowprobe cannot place: {ref}")


def component_schemas() -> dict[str, Any]:
    """Every contract and each of its ``$defs``, as OpenAPI component schemas."""
    schemas: dict[str, Any] = {}
    for name in contracts.NAMES:
        schema = copy.deepcopy(contracts.schema(name))
        for key in ("$schema", "$id"):
            schema.pop(key, None)
        for definition, body in schema.pop("$defs", {}).items():
            schemas[_component(name, definition)] = _rewrite(body, name)
        schemas[name] = _rewrite(schema, name)
    return schemas


def _json(schema_name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}


def build_openapi(target: Target) -> dict[str, Any]:
    """The run endpoint of ``target``'s flow, with flowprobe's contracts as its schemas."""
    prefix = f"/lf/{target.langflow_id}" if target.hosted else ""
    security = (
        {"type": "http", "scheme": "bearer"}
        if target.auth == "bearer"
        else {"type": "apiKey", "in": "header", "name": "x-api-key"}
    )
    error = {"description": "a refusal", "content": _json("error")}
    operation = {
        "operationId": "runFlow",
        "parameters": [
            {"name": "stream", "in": "query", "required": True, "schema": {"type": "boolean"}}
        ],
        "requestBody": {"required": True, "content": _json("run-request")},
        "responses": {
            "200": {
                "description": "the run's answer, or its stream of events",
                "content": {**_json("run-response"), "text/event-stream": {"schema": {}}},
            },
            "400": error,
            "403": error,
            "404": error,
            "422": error,
        },
        "security": [{"langflow": []}],
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Langflow run endpoint (flowprobe's contracts)", "version": "1.13"},
        "servers": [{"url": target.base_url}],
        "paths": {f"{prefix}/api/v1/run/{target.flow}": {"post": operation}},
        "components": {"schemas": component_schemas(), "securitySchemes": {"langflow": security}},
    }
