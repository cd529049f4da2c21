"""Why a run call failed, as one exception type whose text is a stable kind.

Locust groups failures by their text, so the text is the kind alone (``truncated``,
``error_event``, ``http_500``, ...): the failures table and the summary count them by kind.
"""

from __future__ import annotations

TRUNCATED = "truncated"
ERROR_EVENT = "error_event"
MALFORMED = "malformed"
CONTRACT = "contract_violation"
CONNECTION = "connection"
NOT_JSON = "not_json"


class RunFailure(Exception):
    """A failed run call; ``str()`` is its kind, ``detail`` says more for logs."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail

    def __repr__(self) -> str:
        return f"RunFailure({self.kind!r})"


def http_status(status: int) -> RunFailure:
    return RunFailure(f"http_{status}")


def kind_of(error_text: str) -> str:
    """The kind in a locust error string such as ``RunFailure('truncated')``."""
    if error_text.startswith("RunFailure('") and error_text.endswith("')"):
        return error_text[len("RunFailure('") : -2]
    return error_text.split("(", 1)[0] or error_text
