"""flowprobe's exceptions.

Two families, as a user sees them: a ``FlowprobeError`` means flowprobe could not do what was
asked (bad settings, unreachable target, broken stream) and is shown as one sentence with a
non-zero exit; a ``ContractViolation`` means the target broke a promise and is a test failure.
"""

from __future__ import annotations


class FlowprobeError(Exception):
    """Something flowprobe was asked to do could not be done; the message says what to change."""


class SettingsError(FlowprobeError):
    """A setting is missing or has a value flowprobe cannot use."""


class TargetError(FlowprobeError):
    """The target could not be reached or answered in a way flowprobe cannot read."""


# How a ContractViolation's fields travel in JUnit XML: the pytest plugin writes them as test
# properties named with this prefix, `flowprobe check` reads them back.
VIOLATION_PROPERTY = "flowprobe_violation_"
VIOLATION_FIELDS = ("title", "path", "expected", "received")


class ContractViolation(AssertionError):
    """The target's answer breaks a contract: the JSON path, what was expected, what came."""

    def __init__(
        self, title: str, *, path: str = "$", expected: str = "", received: str = ""
    ) -> None:
        self.title = title
        self.path = path
        self.expected = expected
        self.received = received
        lines = [title, f"  at:       {path}"]
        if expected:
            lines.append(f"  expected: {expected}")
        if received:
            lines.append(f"  received: {received}")
        super().__init__("\n".join(lines))


class SummaryFileError(FlowprobeError):
    """A load summary or baseline file is missing, not JSON, or not a flowprobe summary."""


class RunsNotComparable(FlowprobeError):
    """Two load runs were made under different settings, or the new one is not valid."""

    def __init__(self, message: str, differences: list[str] | None = None) -> None:
        self.differences = differences or []
        super().__init__(message)
