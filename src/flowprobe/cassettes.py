"""vcrpy / pytest-recording configuration for flowprobe's cassettes.

Every run call has the same URL, so matching takes the request body into account; a multipart
upload matches whatever boundary its client drew, since only the parts matter. Secrets never
reach a cassette: the ``x-api-key`` and ``Authorization`` headers, the ``x-api-key`` query
parameter, cookies, and secret-looking values inside request bodies (an ``api_key`` or
``openai_api_key`` inside tweaks) are replaced before anything is written, and the same scrubbing
is applied to both sides before bodies are compared, so a replayed call still matches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flowprobe.redaction import (
    REDACTED,
    find_secrets,
    known_secrets,
    scrub_body,
    scrub_text,
    scrub_value,
)

__all__ = [
    "MATCH_ON",
    "SECRET_HEADERS",
    "body_matcher",
    "cassette_config",
    "find_secrets",
    "register",
    "scrub_body",
    "scrub_request",
    "scrub_response",
    "scrub_value",
    "vcr_settings",
    "write_replay_target",
]

SECRET_HEADERS = ("x-api-key", "authorization", "cookie", "set-cookie", "proxy-authorization")
MATCH_ON = ("method", "scheme", "path", "query", "flowprobe_body")
BOUNDARY = re.compile(r"multipart/form-data;.*boundary=\"?([^\";]+)", re.I)


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: scrub the body (headers and query go by filter_*).

    vcrpy applies it to a replayed call's request too before matching, so both sides of the
    body matcher lose the same secrets, the key from the environment included."""
    request.body = scrub_body(request.body, known_secrets())
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: hide cookies a server set and secrets in the other
    headers, and scrub the body: a JSON body (or stream record) by field (a flow's stored
    ``password`` fields, ``api_key``s), any other body by its secret strings."""
    known = known_secrets()
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            headers[name] = [REDACTED]
        elif isinstance(headers[name], list):
            headers[name] = [scrub_text(str(value), known) for value in headers[name]]
        else:
            headers[name] = scrub_text(str(headers[name]), known)
    body = response.get("body") or {}
    if body.get("string"):
        scrubbed = body["string"] = scrub_body(body["string"], known) or ""
        size = len(scrubbed if isinstance(scrubbed, bytes) else scrubbed.encode("utf-8"))
        for name in list(headers):
            if name.lower() == "content-length":  # what a replayed response now holds
                headers[name] = [str(size)]
    return response


def _normalized_body(request: Any) -> Any:
    body = scrub_body(request.body)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    boundary = BOUNDARY.search(request.headers.get("content-type") or "")
    if boundary and body:
        # A client draws a fresh boundary for every multipart body.
        return body.replace(boundary.group(1), "flowprobe-boundary")
    try:
        return json.loads(body) if body else body
    except json.JSONDecodeError:
        return body


def body_matcher(recorded: Any, incoming: Any) -> None:
    """vcrpy matcher: equal bodies once both sides are scrubbed and parsed (key order aside)."""
    if _normalized_body(recorded) != _normalized_body(incoming):
        raise AssertionError("request bodies differ")


def cassette_config(record_mode: str = "none") -> dict[str, Any]:
    """Keyword arguments for ``vcr.use_cassette`` but the folder: what pytest-recording's
    ``vcr_config`` fixture returns. Replay-only (``"none"``) unless told otherwise."""
    return {
        "record_mode": record_mode,
        "match_on": list(MATCH_ON),
        "filter_headers": [(name, REDACTED) for name in SECRET_HEADERS],
        "filter_query_parameters": [("x-api-key", REDACTED), ("api_key", REDACTED)],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        "allow_playback_repeats": False,
    }


def vcr_settings(cassette_dir: Path, record_mode: str) -> dict[str, Any]:
    """Keyword arguments for ``vcr.use_cassette``: :func:`cassette_config` and the folder."""
    return {"cassette_library_dir": str(cassette_dir), **cassette_config(record_mode)}


def register(vcr: Any) -> None:
    """Register flowprobe's matcher on a ``vcr.VCR`` instance."""
    matcher: Callable[[Any, Any], None] = body_matcher
    vcr.register_matcher("flowprobe_body", matcher)


def write_replay_target(cassette_dir: Path, env: Mapping[str, str]) -> Path:
    """Store the recorded target's URL and flows (never its key) for replay.

    ``env`` holds them as ``FLOWPROBE_BASE_URL``, ``FLOWPROBE_FLOW`` and, if any,
    ``FLOWPROBE_FILE_FLOW``; the pytest plugin writes the file at the end of every recording.
    """
    path = cassette_dir / "target.json"
    data = {"base_url": env["FLOWPROBE_BASE_URL"], "flow": env["FLOWPROBE_FLOW"]}
    if env.get("FLOWPROBE_FILE_FLOW"):
        data["file_flow"] = env["FLOWPROBE_FILE_FLOW"]
    if env.get("FLOWPROBE_LANGFLOW_VERSION"):  # picks the findings baseline on replay
        data["langflow_version"] = env["FLOWPROBE_LANGFLOW_VERSION"]
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
