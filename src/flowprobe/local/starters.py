"""Langflow's own starter projects in the local target, imported as a user would import them.

A starter project is read from the installed Langflow itself and imported unmodified, except for
the model choice: every model field (Langflow's unified ``ModelInput``) is set to an OpenAI model,
as the UI's model picker stores it. The model reaches the stub LLM through Langflow's own global
variables ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``, which ``provision`` sets for every local
target, so a user's own flow imported into it reaches the stub the same way.

The base URL names the stub by its IPv6 loopback address: Langflow rewrites ``127.0.0.1`` and
``localhost`` in a provider's base URL to the host's gateway when it believes it runs in a
container, which would send the call off loopback.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import httpx

from flowprobe.errors import FlowprobeError
from flowprobe.local.config import LocalConfig, environment_dir

# What the model picker stores for an OpenAI model; the stub answers any model name.
STUB_MODEL = [{"name": "gpt-4o-mini", "provider": "OpenAI"}]
STUB_API_KEY = "flowprobe-stub-needs-no-key"  # the stub ignores keys; Langflow wants one set
PREFIX = "starter-"


def starter_projects(langflow_env: Path | None = None) -> dict[str, Path]:
    """The starter projects the installed Langflow ships, by name (file stem), sorted."""
    env = langflow_env or environment_dir()
    found = sorted(env.glob("lib/python*/site-packages/langflow/initial_setup/starter_projects"))
    if not found:
        raise FlowprobeError(
            f"no Langflow starter projects under {env}; run `flowprobe up` once to install Langflow"
        )
    return {path.stem: path for path in sorted(found[-1].glob("*.json"))}


def endpoint_name(name: str) -> str:
    """The endpoint name a starter is imported under: ``starter-memory-chatbot``."""
    return PREFIX + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def resolve(names: tuple[str, ...], projects: dict[str, Path]) -> list[str]:
    """The starter names asked for, matched without regard to case; unknown names refused."""
    by_folded = {name.casefold(): name for name in projects}
    unknown = [name for name in names if name.casefold() not in by_folded]
    if unknown:
        raise FlowprobeError(
            f"Langflow has no starter project {', '.join(map(repr, unknown))}; "
            f"it ships: {', '.join(projects)}"
        )
    return [by_folded[name.casefold()] for name in names]


def with_stub_model(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The flow's ``data`` with every unified model field set to the stub's model, and how many
    fields were set. Nothing else changes."""
    data = copy.deepcopy(data)
    changed = 0
    for node in data.get("nodes", []):
        template = ((node.get("data") or {}).get("node") or {}).get("template") or {}
        for value in template.values():
            if isinstance(value, dict) and value.get("_input_type") == "ModelInput":
                value["value"] = copy.deepcopy(STUB_MODEL)
                changed += 1
    return data, changed


def set_stub_variables(client: httpx.Client, config: LocalConfig) -> None:
    """Langflow's global variables that point OpenAI models at the stub LLM; idempotent."""
    wanted = {
        "OPENAI_API_KEY": (STUB_API_KEY, "Credential"),
        "OPENAI_BASE_URL": (config.stub_url_v6, "Generic"),
    }
    listed = client.get("/api/v1/variables/")
    _refused(listed, "list its global variables")
    for existing in listed.json():
        if existing.get("name") in wanted:
            _refused(client.delete(f"/api/v1/variables/{existing['id']}"), "replace a variable")
    for name, (value, kind) in wanted.items():
        body = {"name": name, "value": value, "type": kind, "default_fields": []}
        _refused(client.post("/api/v1/variables/", json=body), f"set the variable {name}")


def import_starters(client: httpx.Client, names: tuple[str, ...]) -> list[str]:
    """Import (or update) each named starter project; return their endpoint names."""
    if not names:
        return []
    projects = starter_projects()
    existing = _flows_by_endpoint(client)
    imported = []
    for name in resolve(names, projects):
        flow = json.loads(projects[name].read_text(encoding="utf-8"))
        data, _ = with_stub_model(flow["data"])
        endpoint = endpoint_name(name)
        if endpoint in existing:
            answer = client.patch(f"/api/v1/flows/{existing[endpoint]}", json={"data": data})
        else:
            body = {
                "name": name,
                "description": flow.get("description") or "",
                "data": data,
                "endpoint_name": endpoint,
            }
            answer = client.post("/api/v1/flows/", json=body)
        _refused(answer, f"import the starter project {name!r}")
        imported.append(endpoint)
    return imported


def _flows_by_endpoint(client: httpx.Client) -> dict[str, str]:
    params = {"header_flows": "true", "get_all": "true", "remove_example_flows": "true"}
    listed = client.get("/api/v1/flows/", params=params)
    _refused(listed, "list its flows")
    return {
        str(flow["endpoint_name"]): str(flow["id"])
        for flow in listed.json()
        if isinstance(flow, dict) and flow.get("endpoint_name")
    }


def _refused(answer: httpx.Response, doing: str) -> None:
    if answer.status_code not in (200, 201, 204):
        raise FlowprobeError(
            f"the local Langflow refused to {doing} (HTTP {answer.status_code}): "
            f"{answer.text[:300]}"
        )
