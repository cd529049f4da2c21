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
from collections.abc import Callable
from pathlib import Path
from typing import Any

# "token" not followed by a letter: max_tokens is a count that must stay visible and matched.
SECRET_FIELD = re.compile(
    r"(api[_-]?key|token(?![a-z])|secret|password|authorization|cookie)", re.I
)
# "sk-" only at the start of a word: "task-" or "risk-management" are not keys.
SECRET_VALUE = re.compile(r"((?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._-]{8,})")
SCRUBBED = "***"
SECRET_HEADERS = ("x-api-key", "authorization", "cookie", "set-cookie", "proxy-authorization")
MATCH_ON = ("method", "scheme", "path", "query", "flowprobe_body")
BOUNDARY = re.compile(r"multipart/form-data;.*boundary=\"?([^\";]+)", re.I)


def scrub_value(value: Any) -> Any:
    """``value`` with every secret-looking field or string replaced by ``***``."""
    if isinstance(value, dict):
        return {
            k: (SCRUBBED if SECRET_FIELD.search(str(k)) and v else scrub_value(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    if isinstance(value, str):
        return SECRET_VALUE.sub(SCRUBBED, value)
    return value


def scrub_body(body: bytes | str | None) -> bytes | str | None:
    """A request body with secrets scrubbed; JSON is re-encoded only if something changed."""
    if not body:
        return body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        cleaned = SECRET_VALUE.sub(SCRUBBED, text)
    else:
        scrubbed = scrub_value(parsed)
        cleaned = text if scrubbed == parsed else json.dumps(scrubbed)
    return cleaned.encode() if isinstance(body, bytes) else cleaned


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: scrub the body (headers and query go by filter_*)."""
    request.body = scrub_body(request.body)
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: drop cookies a server set."""
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            headers[name] = [SCRUBBED]
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


def vcr_settings(cassette_dir: Path, record_mode: str) -> dict[str, Any]:
    """Keyword arguments for ``vcr.use_cassette`` (or a ``pytest.mark.vcr`` marker)."""
    return {
        "cassette_library_dir": str(cassette_dir),
        "record_mode": record_mode,
        "match_on": list(MATCH_ON),
        "filter_headers": [(name, SCRUBBED) for name in SECRET_HEADERS],
        "filter_query_parameters": [("x-api-key", SCRUBBED), ("api_key", SCRUBBED)],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
        "allow_playback_repeats": False,
    }


def register(vcr: Any) -> None:
    """Register flowprobe's matcher on a ``vcr.VCR`` instance."""
    matcher: Callable[[Any, Any], None] = body_matcher
    vcr.register_matcher("flowprobe_body", matcher)


def find_secrets(text: str, known: tuple[str, ...] = ()) -> list[str]:
    """Secret-looking strings in ``text`` (API keys, bearer tokens, any ``known`` secret)."""
    found = [m.group(0)[:12] + "…" for m in SECRET_VALUE.finditer(text)]
    pattern = re.compile(
        r'"?(x-api-key|authorization)"?:\s*\[?\s*"?(?!\*\*\*)[^\s"\]*<]{12,}', re.I
    )
    found += [m.group(0)[:24] + "…" for m in pattern.finditer(text)]
    found += [s[:4] + "…" for s in known if s and s in text]
    return found


def write_replay_target(cassette_dir: Path, env: dict[str, str]) -> Path:
    """Store the recorded target's URL and flows (never its key) for replay."""
    path = cassette_dir / "target.json"
    data = {"base_url": env["FLOWPROBE_BASE_URL"], "flow": env["FLOWPROBE_FLOW"]}
    if env.get("FLOWPROBE_FILE_FLOW"):
        data["file_flow"] = env["FLOWPROBE_FILE_FLOW"]
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
