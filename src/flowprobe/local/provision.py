"""Provisioning a running Langflow: the reference flows imported, an API key minted, and the
settings a test run needs; and whether it still runs a flow at all.

All of it goes through Langflow's HTTP API at the config's base URL, logged in by auto-login.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from flowprobe.errors import FlowprobeError
from flowprobe.local import starters, target_env
from flowprobe.local.config import (
    FILE_FLOW,
    FLOWS_STUB_URL,
    MAIN_FLOW,
    NO_MODEL_FLOW,
    LocalConfig,
    flows_dir,
)


def provision(config: LocalConfig, folder: Path | None = None) -> dict[str, str]:
    """Import the reference flows (from ``folder``, else the committed ones), reuse or mint an
    API key; return the target's settings."""
    with _session(config.base_url) as client:
        imported = import_flows(client, config.stub_url, folder)
        flows = {flow["endpoint_name"]: flow for flow in imported}
        missing = sorted({MAIN_FLOW, NO_MODEL_FLOW, FILE_FLOW} - set(flows))
        if missing:
            raise FlowprobeError(f"flowprobe's reference flows lack {missing}; reinstall it")
        key = _api_key(client, config, flows[MAIN_FLOW]["id"])
        starters.set_stub_variables(client, config)
        starter_flows = starters.import_starters(client, config.starters)
    values = {
        "FLOWPROBE_BASE_URL": config.base_url,
        "FLOWPROBE_FLOW": MAIN_FLOW,
        "FLOWPROBE_API_KEY": key,
        "FLOWPROBE_NO_MODEL_FLOW": NO_MODEL_FLOW,
        "FLOWPROBE_FILE_FLOW": FILE_FLOW,
        "FLOWPROBE_STUB_URL": config.stub_url,
        # Read back by the next `up` (or its FLOWPROBE_LANGFLOW_VERSION option) and by reports.
        "FLOWPROBE_LANGFLOW_VERSION": config.langflow_version,
    }
    if starter_flows:
        values["FLOWPROBE_STARTER_FLOWS"] = " ".join(starter_flows)
    return values


def reference_flows(stub_url: str, folder: Path | None = None) -> list[dict[str, Any]]:
    """The reference flows in ``folder`` (else the committed ones), pointed at the stub LLM."""
    flows = []
    for path in sorted((folder or flows_dir()).glob("*.json")):
        text = path.read_text(encoding="utf-8").replace(FLOWS_STUB_URL, stub_url)
        flows.append(json.loads(text))
    return flows


def import_flows(
    client: httpx.Client, stub_url: str, folder: Path | None = None
) -> list[dict[str, Any]]:
    """Create or update each reference flow by its fixed id; idempotent."""
    flows = reference_flows(stub_url, folder)
    for flow in flows:
        found = client.get(f"/api/v1/flows/{flow['id']}")
        if found.status_code == 200:
            answer = client.patch(f"/api/v1/flows/{flow['id']}", json={"data": flow["data"]})
        else:
            answer = client.post("/api/v1/flows/", json=flow)
        if answer.status_code not in (200, 201):
            raise FlowprobeError(
                f"Langflow refused the reference flow {flow['name']!r} "
                f"(HTTP {answer.status_code}): {answer.text[:300]}"
            )
    return flows


def answers_runs(config: LocalConfig, timeout: float = 15.0) -> bool:
    """Whether the running Langflow still runs a flow, not only answers /health.

    Langflow 1.13 on SQLite can wedge under overload: a run cancelled mid-write leaves the
    database locked, every later call waits 30 s and answers 500, while /health stays 200.
    """
    saved = target_env.read_target_env(config)
    flow, key = saved.get("FLOWPROBE_NO_MODEL_FLOW"), saved.get("FLOWPROBE_API_KEY")
    if not (flow and key):
        return True  # nothing imported yet: up will import and mint below
    with contextlib.suppress(httpx.HTTPError):
        answer = httpx.post(
            f"{config.base_url}/api/v1/run/{flow}?stream=false",
            json={"input_value": "flowprobe: still alive?"},
            headers={"x-api-key": key},
            timeout=timeout,
        )
        return answer.status_code == 200
    return False


@contextlib.contextmanager
def _session(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        login = client.get("/api/v1/auto_login")
        if login.status_code != 200:
            raise FlowprobeError(
                f"Langflow at {base_url} refused auto-login (HTTP {login.status_code}); "
                "it must run with LANGFLOW_AUTO_LOGIN=true"
            )
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield client


def _api_key(client: httpx.Client, config: LocalConfig, probe_flow: str) -> str:
    saved = target_env.read_target_env(config).get("FLOWPROBE_API_KEY")
    if saved:
        check = httpx.get(
            f"{config.base_url}/api/v1/flows/{probe_flow}", headers={"x-api-key": saved}, timeout=30
        )
        if check.status_code == 200:
            return saved
    minted = client.post("/api/v1/api_key/", json={"name": "flowprobe"})
    if minted.status_code not in (200, 201):
        raise FlowprobeError(f"Langflow refused to mint an API key (HTTP {minted.status_code})")
    return str(minted.json()["api_key"])
