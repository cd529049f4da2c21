"""Which Langflow a target runs: ``GET /api/v1/version`` (``{"version": "1.13.0", ...}``).

Langflow answers it without a key; the key is sent anyway, in the target's own style, since a
hosted target authenticates every path under its Langflow id.
"""

from __future__ import annotations

import json

import httpcore
import httpx

from flowprobe.errors import TargetError
from flowprobe.target import Target
from flowprobe.wire.client import Deadlines

MAX_VERSION_ANSWER = 64 * 1024
# httpcore's own errors, which reach the caller unmapped when vcr's recording stubs stand in
# for httpx's transport (the version is asked at the end of a recording session).
_HTTPCORE_ERRORS = (
    httpcore.NetworkError,
    httpcore.TimeoutException,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
)


def langflow_version(target: Target, *, deadlines: Deadlines | None = None) -> str:
    """The Langflow version ``target`` reports; :class:`TargetError` saying why when it cannot
    be learned (unreachable, not Langflow, an answer without a version)."""
    deadlines = deadlines or Deadlines(total=10)
    url = target.api_url("version")
    where = target.redact(url)
    try:
        with (
            httpx.Client(timeout=deadlines.httpx_timeout()) as http,
            http.stream("GET", url, headers=target.auth_headers()) as answer,
        ):
            raw = b""
            for chunk in answer.iter_bytes():
                raw += chunk
                if len(raw) > MAX_VERSION_ANSWER:
                    raise TargetError(f"{where} answered more than a version")
    except (httpx.HTTPError, *_HTTPCORE_ERRORS) as exc:
        raise TargetError(f"{where} could not be read ({type(exc).__name__})") from None
    if answer.status_code != 200:
        raise TargetError(f"{where} answered HTTP {answer.status_code}")
    try:
        version = json.loads(raw).get("version")
    except (ValueError, AttributeError):
        version = None
    if not isinstance(version, str) or not version.strip():
        raise TargetError(f"{where} answered no version")
    return version.strip()
