"""One verdict, two outputs: a broken promise as data.

A :class:`Violation` names the promise a target broke, the JSON path, what was expected, what
came, and a stable failure ``kind``. The suites raise the first one as a
:class:`~flowprobe.errors.ContractViolation` (:func:`raise_first`); the load users count it by
its kind (``truncated``, ``http_500``, ...), the text locust groups failures by.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flowprobe import contracts
from flowprobe.errors import ContractViolation
from flowprobe.jsonpath import shorten

# The failure kinds: stable words, since locust and the load summary count failures by them.
TRUNCATED = "truncated"
ERROR_EVENT = "error_event"
MALFORMED = "malformed"
CONTRACT = "contract_violation"
CONNECTION = "connection"
NOT_JSON = "not_json"


def http_kind(status: int | None) -> str:
    """``http_500`` for an answer with that status; ``connection`` when none came (0)."""
    return CONNECTION if not status else f"http_{status}"


@dataclass(frozen=True, slots=True)
class Violation:
    """A promise the target broke: its title, where, what was expected and received, its kind."""

    title: str
    kind: str
    path: str = "$"
    expected: str = ""
    received: str = ""

    def __str__(self) -> str:
        """One line for a log: ``title at path: expected ..., received ...``."""
        said = [f"expected {self.expected}"] if self.expected else []
        said += [f"received {self.received}"] if self.received else []
        return f"{self.title} at {self.path}" + (": " + ", ".join(said) if said else "")

    def as_assertion(self) -> ContractViolation:
        """The test failure a suite raises for this violation."""
        return ContractViolation(
            self.title, path=self.path, expected=self.expected, received=self.received
        )


def violation(
    title: str, kind: str, *, path: str = "$", expected: str = "", received: Any = ""
) -> Violation:
    """A :class:`Violation` whose ``received`` is shortened to one line, as messages show it."""
    return Violation(title, kind, path, expected, shorten(received))


def from_contract(broken: contracts.Violation, title: str | None = None) -> Violation:
    """A contract schema violation as a check's, of kind ``contract_violation``."""
    return Violation(title or broken.title, CONTRACT, broken.path, broken.expected, broken.received)


def contract_violations(name: str, instance: Any) -> list[Violation]:
    """Every way ``instance`` breaks contract ``name``, as checks' violations."""
    return [from_contract(broken) for broken in contracts.iter_violations(name, instance)]


def status_violations(status: int, expected: int, promise: str, body: Any) -> list[Violation]:
    """``[]`` when the answer's status is ``expected``, else the broken ``promise``."""
    if status == expected:
        return []
    received = f"{status} {shorten(body)}"
    return [
        violation(
            promise,
            http_kind(status),
            path="HTTP status",
            expected=str(expected),
            received=received,
        )
    ]


def raise_first(violations: Iterable[Violation]) -> None:
    """Raise the first violation as a :class:`ContractViolation`; return when there is none."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    for found in violations:
        raise found.as_assertion()
