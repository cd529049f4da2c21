"""Why a run call failed, as one exception type whose text is a stable kind.

Locust groups failures by their text, so the text is the kind alone (``truncated``,
``error_event``, ``http_500``, ...): the failures table and the summary count them by kind. The
kinds are those of :class:`flowprobe.checks.Violation`, the verdict the suites raise too.
"""

from __future__ import annotations

from flowprobe.checks.verdict import Violation


class RunFailure(Exception):
    """A failed run call; ``str()`` is its kind, ``detail`` says more for logs."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail

    def __repr__(self) -> str:
        return f"RunFailure({self.kind!r})"


def failure_of(violation: Violation) -> RunFailure:
    """The locust failure for a broken promise: its kind, and the whole violation as detail."""
    return RunFailure(violation.kind, str(violation))


def kind_of(error_text: str) -> str:
    """The kind in a locust error string such as ``RunFailure('truncated')``."""
    if error_text.startswith("RunFailure('") and error_text.endswith("')"):
        return error_text[len("RunFailure('") : -2]
    return error_text.split("(", 1)[0] or error_text
