"""The one redaction service: secrets never reach a cassette, a report, a log or a message.

:func:`redact` removes known secrets (the target's key) from text; :func:`scrub_value` and
:func:`scrub_body` remove secret-looking fields and values (``api_key`` inside tweaks, bearer
tokens, ``sk-`` keys) from JSON and bodies; :func:`find_secrets` looks for what was missed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

REDACTED = "***"
# "token" not followed by a letter: max_tokens is a count that must stay visible and matched.
SECRET_FIELD = re.compile(
    r"(api[_-]?key|token(?![a-z])|secret|password|authorization|cookie)", re.I
)
# "sk-" only at the start of a word: "task-" or "risk-management" are not keys.
SECRET_VALUE = re.compile(r"((?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._-]{8,})")
_SECRET_HEADER_VALUE = re.compile(
    r'"?(x-api-key|authorization)"?:\s*\[?\s*"?(?!\*\*\*)[^\s"\]*<]{12,}', re.I
)


def redact(text: str, secrets: Iterable[Any]) -> str:
    """Replace every non-empty secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(str(secret), REDACTED)
    return text


def scrub_value(value: Any) -> Any:
    """``value`` with every secret-looking field or string replaced by ``***``."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if SECRET_FIELD.search(str(k)) and v else scrub_value(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    if isinstance(value, str):
        return SECRET_VALUE.sub(REDACTED, value)
    return value


def scrub_body(body: bytes | str | None) -> bytes | str | None:
    """A request body with secrets scrubbed; JSON is re-encoded only if something changed."""
    if not body:
        return body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        cleaned = SECRET_VALUE.sub(REDACTED, text)
    else:
        scrubbed = scrub_value(parsed)
        cleaned = text if scrubbed == parsed else json.dumps(scrubbed)
    return cleaned.encode() if isinstance(body, bytes) else cleaned


def find_secrets(text: str, known: tuple[str, ...] = ()) -> list[str]:
    """Secret-looking strings in ``text`` (API keys, bearer tokens, any ``known`` secret)."""
    found = [m.group(0)[:12] + "…" for m in SECRET_VALUE.finditer(text)]
    found += [m.group(0)[:24] + "…" for m in _SECRET_HEADER_VALUE.finditer(text)]
    found += [s[:4] + "…" for s in known if s and s in text]
    return found
