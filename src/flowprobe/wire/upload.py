"""Uploading a file for a flow to read, as Langflow's clients do.

``POST /api/v1/files/upload/{flow_id}`` takes a multipart body with one part named ``file`` and
answers 201 ``{"flowId": ..., "file_path": "<flow_id>/<time>_<name>"}``. The deprecated
``POST /api/v1/upload/{flow_id}``, which ``langflow.load.upload_file`` still calls, answers the
same shape. Either way the caller then names ``file_path`` in the ``path`` tweak of a Read File
component. Both endpoints want the flow's UUID; an endpoint name is refused with 422.
:mod:`flowprobe.checks.upload` judges the answers.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from flowprobe.wire.client import RunClient, RunResult

ENDPOINTS = {"files": "files/upload", "deprecated": "upload"}


def upload_file(
    client: RunClient,
    flow_id: str,
    name: str,
    content: bytes,
    *,
    endpoint: str = "files",
    api_key: str | None = None,
) -> RunResult:
    """Upload ``content`` as file ``name`` for flow ``flow_id``; never raises on a status.

    ``api_key=None`` sends the target's key; ``""`` sends none.
    """
    url = client.target.api_url(f"{ENDPOINTS[endpoint]}/{flow_id}")
    headers = client.target.auth_headers(api_key=api_key)
    started = time.perf_counter()
    files = {"file": (name, content, "text/plain")}
    response = client.http.post(url, files=files, headers=headers)
    elapsed = time.perf_counter() - started
    body = _json(response)
    return RunResult(response.status_code, body, response.text, response.headers, 0.0, elapsed)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def file_tweaks(component_id: str, path: str, *, as_list: bool = True) -> dict[str, Any]:
    """Tweaks that make a Read File component read ``path``.

    ``as_list=False`` is the form ``langflow.load.upload_file`` builds (a bare string).
    """
    return {component_id: {"path": [path] if as_list else path}}
