"""The contract suites' outcome, read from the JUnit XML pytest wrote for ``flowprobe check``.

A test that failed with a :class:`~flowprobe.errors.ContractViolation` carries its fields as
JUnit properties, written by the flowprobe pytest plugin (``flowprobe_violation_title``,
``_path``, ``_expected``, ``_received``): they are read as they are. Only a failure without
them (an error in a fixture, a plain assert) is described by its message's first lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Properties, Skipped, TestCase

from flowprobe.errors import VIOLATION_PROPERTY

# A failure message's first lines: the title, where, and what was expected.
_SHOWN_LINES = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedViolation:
    """A broken contract, as the flowprobe pytest plugin records it in the JUnit XML."""

    title: str
    path: str = "$"
    expected: str = ""
    received: str = ""

    def line(self) -> str:
        """The verdict's words: the title, where, and what was expected (else what came)."""
        # The first lines of the violation's own message as pytest reports it, so that a run
        # with the properties and one without them give the verdict the same words.
        parts = [f"ContractViolation: {self.title}", f"at: {self.path}"]
        parts += [f"expected: {self.expected}"] if self.expected else []
        parts += [f"received: {self.received}"] if self.received else []
        return _one_line(parts[:_SHOWN_LINES])


@dataclass(frozen=True, slots=True)
class SuiteFailure:
    """One suite test that did not pass: its id, why in one line, and the broken contract."""

    test: str
    message: str
    violation: RecordedViolation | None = None


def read_junit(path: Path) -> tuple[dict[str, int], list[SuiteFailure]]:
    """Counts by outcome, and the tests that failed or erred, from pytest's JUnit XML."""
    counts = {"total": 0, "passed": 0, "failed": 0, "skipped": 0}
    failed: list[SuiteFailure] = []
    for suite in JUnitXml.fromfile(str(path)):
        for case in suite:
            counts["total"] += 1
            problems = [r for r in case.result if isinstance(r, Failure | Error)]
            if problems:
                counts["failed"] += 1
                failed.append(_failure(case, problems[0]))
            elif any(isinstance(r, Skipped) for r in case.result):
                counts["skipped"] += 1
            else:
                counts["passed"] += 1
    return counts, failed


def _failure(case: TestCase, problem: Failure | Error) -> SuiteFailure:
    """The violation the plugin recorded, else (a fixture's error, a plain assert) the message."""
    name = f"{case.classname}.{case.name}".removeprefix("suites.")
    violation = violation_of(_properties(case))
    if violation is not None:
        return SuiteFailure(name, violation.line(), violation)
    message = (problem.message or "").strip().removeprefix("flowprobe.errors.")
    return SuiteFailure(name, _one_line(message.splitlines()[:_SHOWN_LINES]))


def _properties(case: TestCase) -> dict[str, str]:
    """A test case's properties; pytest repeats them once per phase, the first one counts."""
    found: dict[str, str] = {}
    # junitparser leaves iterchildren untyped.
    for group in case.iterchildren(Properties):  # type: ignore[no-untyped-call]
        for prop in group:
            found.setdefault(str(prop.name), str(prop.value or ""))
    return found


def violation_of(properties: Mapping[str, str]) -> RecordedViolation | None:
    """The broken contract in a failed test's ``flowprobe_violation_*`` properties, if any."""
    title = properties.get(VIOLATION_PROPERTY + "title")
    if title is None:
        return None
    return RecordedViolation(
        title=title,
        path=properties.get(VIOLATION_PROPERTY + "path") or "$",
        expected=properties.get(VIOLATION_PROPERTY + "expected", ""),
        received=properties.get(VIOLATION_PROPERTY + "received", ""),
    )


def _one_line(lines: list[str], limit: int = 400) -> str:
    """Lines joined by `` | ``, each with its runs of spaces made one, cut at ``limit``."""
    shown = " | ".join(" ".join(line.split()) for line in lines)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
