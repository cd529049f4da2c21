"""The one redaction service: secrets never reach a cassette, a report, a log or a message.

:func:`redact` removes known secrets (the target's key) from text in every spelling a client or
server may give them: as given, stripped of whitespace, percent-encoded, inside HTTP basic
credentials, and as URL credentials (``http://user:pass@host`` becomes ``http://***@host``).
:func:`scrub_value` and :func:`scrub_body` also remove what looks secret without being known:
fields named like secrets (``api_key``, ``access_token``, ``client_secret``, ``password``),
Langflow template fields marked ``"password": true``, ``sk-`` keys and bearer tokens.
:func:`find_secrets` looks for what was missed.

Whole values are replaced, never a piece of a name: a short key is only replaced where it stands
alone, so a key ``k`` leaves the header name ``x-api-key`` as it is.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "***"
# The environment variable that holds the target's key (flowprobe's `api_key` setting).
KEY_ENV = "FLOWPROBE_API_KEY"
# "sk-" only at the start of a word: "task-" or "risk-management" are not keys.
SECRET_VALUE = re.compile(r"((?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._-]{8,})")
_SECRET_HEADER_VALUE = re.compile(
    r'"?(x-api-key|authorization)"?:\s*\[?\s*"?(?!\*\*\*)[^\s"\]*<]{12,}', re.I
)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@\"'<>]+@")
_BASIC_CREDENTIALS = re.compile(r"(?P<scheme>\bBasic\s+)(?P<token>[A-Za-z0-9+/]{4,}={0,2})", re.I)
# A secret this long cannot occur by chance inside another word, so it is replaced wherever it
# occurs; a shorter one only where it stands alone (not inside a word or a header name).
_ALONE_BELOW = 12
_WORD = "A-Za-z0-9_-"
_ALONE_BEFORE = rf"(?:(?<![{_WORD}])|(?<=%[0-9A-Fa-f]{{2}}))"  # %3D then the key is alone
_ALONE_AFTER = rf"(?![{_WORD}])"

# A field is secret when its name's last word is one of these (``api_key``, ``access_token``,
# ``x-api-key``, ``apiKey``), or any word is one of _SECRET_WORDS. Counts stay visible:
# ``max_tokens``, ``token_count`` and ``tokens_used`` end in another word.
_SECRET_LAST_WORDS = frozenset({"key", "token", "secret", "password", "cookie", "authorization"})
_SECRET_WORDS = frozenset(
    {"apikey", "password", "passwd", "passphrase", "secret", "secrets", "credentials"}
)
# Names of things, not secrets: the LangChain memory and chain fields Langflow's components have.
_NAMING_KEYS = frozenset({"input_key", "output_key", "memory_key", "sort_key", "primary_key"})


def redact(text: str, secrets: Iterable[Any]) -> str:
    """``text`` with every known secret, in each spelling it may take, and every URL or basic
    credential replaced by ``***``."""
    text = _URL_CREDENTIALS.sub(rf"\g<scheme>{REDACTED}@", text)
    text = _BASIC_CREDENTIALS.sub(_hide_basic_credentials, text)
    for pattern in _patterns(_texts(secrets)):
        text = pattern.sub(REDACTED, text)
    return text


def known_secrets() -> tuple[str, ...]:
    """The secrets this process knows of: the target's key from ``FLOWPROBE_API_KEY``."""
    return _texts((os.environ.get(KEY_ENV),))


def is_secret_name(name: str) -> bool:
    """Whether a field called ``name`` holds a secret (``api_key``, ``x-api-key``,
    ``accessToken``, ``client_secret``), not a count or a name (``max_tokens``, ``input_key``)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    parts = [part for part in re.split(r"[^a-z0-9]+", words) if part]
    if not parts or "_".join(parts) in _NAMING_KEYS:
        return False
    return parts[-1] in _SECRET_LAST_WORDS or not _SECRET_WORDS.isdisjoint(parts)


def scrub_value(value: Any, secrets: Iterable[Any] = ()) -> Any:
    """``value`` with every secret-looking field or string replaced by ``***``: fields named
    like secrets, ``value`` beside ``"password": true`` (a Langflow template field), ``sk-``
    keys, bearer tokens and any of ``secrets``."""
    known = _texts(secrets)
    if isinstance(value, dict):
        stored_secret = value.get("password") is True
        return {
            k: (
                _hide(v, known)
                if is_secret_name(str(k)) or (stored_secret and k == "value")
                else scrub_value(v, known)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_value(v, known) for v in value]
    if isinstance(value, str):
        return scrub_text(value, known)
    return value


def scrub_text(text: str, secrets: Iterable[Any] = ()) -> str:
    """``text`` with known secrets, credentials, ``sk-`` keys and bearer tokens replaced."""
    return SECRET_VALUE.sub(REDACTED, redact(text, secrets))


def scrub_body(body: bytes | str | None, secrets: Iterable[Any] = ()) -> bytes | str | None:
    """A request or response body with secrets scrubbed: JSON by field (a whole body, or one
    JSON record per line as in Langflow's stream), anything else as text. A body is re-encoded
    only where something changed; bytes that are not UTF-8 stay as they are around a secret."""
    if not body:
        return body
    known = _texts(secrets)
    if isinstance(body, str):
        return _scrub_document(body, known)
    try:
        return _scrub_document(body.decode("utf-8"), known).encode("utf-8")
    except UnicodeDecodeError:
        # latin-1 maps every byte to one character and back: nothing but a secret changes.
        return scrub_text(body.decode("latin-1"), known).encode("latin-1")


def find_secrets(text: str, known: tuple[str, ...] = ()) -> list[str]:
    """Secret-looking strings in ``text`` (API keys, bearer tokens, credentials, any ``known``
    secret in any of its spellings), each shown by its start only."""
    found = [m.group(0)[:12] + "…" for m in SECRET_VALUE.finditer(text)]
    found += [m.group(0)[:24] + "…" for m in _SECRET_HEADER_VALUE.finditer(text)]
    found += [m.group(0)[:12] + "…" for m in _URL_CREDENTIALS.finditer(text) if _shown(m)]
    found += [
        m.group("scheme") + "…"
        for m in _BASIC_CREDENTIALS.finditer(text)
        if _is_basic_credential(m.group("token"))
    ]
    found += [s[:4] + "…" for s in _texts(known) if any(p.search(text) for p in _patterns((s,)))]
    return found


def _texts(secrets: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(s) for s in secrets if s is not None and str(s).strip())


def _hide(value: Any, known: tuple[str, ...]) -> Any:
    """A secret field's value replaced whole. The shape around it stays: in a Langflow template
    field (an object with a ``value``) only the value goes, and flags, numbers (metrics such as
    ``time_to_first_token`` are named like secrets) and empty values are kept."""
    if isinstance(value, dict):
        if "value" in value:
            return {
                k: _hide(v, known) if k == "value" else scrub_value(v, known)
                for k, v in value.items()
            }
        return {k: _hide(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v, known) for v in value]
    if isinstance(value, str) and value:
        return REDACTED
    return value


def _scrub_document(text: str, known: tuple[str, ...]) -> str:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return "".join(_scrub_line(line, known) for line in text.splitlines(keepends=True))
    scrubbed = scrub_value(parsed, known)
    return text if scrubbed == parsed else json.dumps(scrubbed)


def _scrub_line(line: str, known: tuple[str, ...]) -> str:
    """One line of a body that is not JSON as a whole: a JSON record (a stream event) is
    scrubbed by field, anything else as text."""
    content = line.rstrip("\r\n")
    ending = line[len(content) :]
    if content.lstrip().startswith(("{", "[")):
        try:
            parsed = json.loads(content)
        except json.JSONDecodeError:
            pass
        else:
            scrubbed = scrub_value(parsed, known)
            return line if scrubbed == parsed else json.dumps(scrubbed) + ending
    return scrub_text(content, known) + ending


@lru_cache(maxsize=64)
def _patterns(secrets: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """One pattern per spelling of each secret, the longest first so that no shorter spelling
    cuts into a longer one."""
    forms = {form for secret in secrets for form in _spellings(secret) if form}
    patterns = []
    for form in sorted(forms, key=len, reverse=True):
        escaped = re.escape(form)
        alone = len(form) < _ALONE_BELOW
        patterns.append(re.compile(_ALONE_BEFORE + escaped + _ALONE_AFTER if alone else escaped))
    return tuple(patterns)


def _spellings(secret: str) -> set[str]:
    """``secret`` as given, stripped, without any whitespace, and percent-encoded each way."""
    plain = {secret, secret.strip(), "".join(secret.split())}
    encoded = {quote(form, safe="") for form in plain} | {quote_plus(form) for form in plain}
    lowered = {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), form) for form in encoded}
    return plain | encoded | lowered


def _is_basic_credential(token: str) -> bool:
    """Whether ``token`` is base64 of ``user:password`` (not a word after "Basic")."""
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()


def _hide_basic_credentials(match: re.Match[str]) -> str:
    if _is_basic_credential(match.group("token")):
        return match.group("scheme") + REDACTED
    return match.group(0)


def _shown(match: re.Match[str]) -> bool:
    """A URL credential not yet replaced."""
    return not match.group(0).endswith(f"://{REDACTED}@")
