"""``flowprobe check``: go or no-go for a candidate deployment, with every reason.

Three steps against one target: the contract suites run live (pytest in a subprocess, JUnit
XML kept), then a short bounded load run (:mod:`flowprobe.load.launch`), then, when a baseline
is given, the gate (:mod:`flowprobe.gate.compare`) compares the run with it. Each failed test, each
reason that made the load run fail and each regressed metric becomes one line of the verdict.
A check that cannot run at all (no target, suites that do not start, a baseline made under
other settings) is a :class:`~flowprobe.errors.FlowprobeError`, not a failed check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped

from flowprobe.errors import FlowprobeError, SummaryFileError
from flowprobe.gate.baseline import read_summary
from flowprobe.gate.compare import GateResult, compare
from flowprobe.load.launch import LaunchPlan, launch
from flowprobe.load.summary import LoadSummary
from flowprobe.resources import locate

Say = Callable[[str], None]
# pytest's exit codes that mean the suites ran: all passed, or some failed.
_SUITES_RAN = (0, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckPlan:
    """What one check runs and where it writes its reports."""

    out: Path = Path(".flowprobe/check")
    suites: Path = field(default_factory=lambda: locate("suites"))
    markers: str | None = None
    keywords: str | None = None
    load: LaunchPlan | None = field(default_factory=lambda: LaunchPlan(run_time_s=20))
    baseline: Path | None = None

    @property
    def suites_junit(self) -> Path:
        return self.out / "suites-junit.xml"


@dataclass(frozen=True, slots=True)
class SuiteFailure:
    """One suite test that did not pass: its id, and the first lines of why."""

    test: str
    message: str


@dataclass(slots=True, kw_only=True)
class CheckResult:
    """What each step found; the verdict is the list of reasons."""

    plan: CheckPlan
    tests: dict[str, int] = field(default_factory=dict)
    failed_tests: list[SuiteFailure] = field(default_factory=list)
    load_summary: LoadSummary | None = None
    gate: GateResult | None = None
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons


def run_check(plan: CheckPlan, env: Mapping[str, str], say: Say, progress: Say) -> CheckResult:
    """Every step of the check against the target described by ``env``."""
    if not plan.suites.is_dir():
        raise FlowprobeError(
            f"the contract suites are not at {plan.suites}: flowprobe check runs them from a "
            "source checkout (pip install -e .)"
        )
    if plan.baseline is not None:
        read_summary(plan.baseline, "--baseline")  # a bad baseline is refused before any run
    plan.out.mkdir(parents=True, exist_ok=True)
    result = CheckResult(plan=plan)
    _run_suites(plan, env, result, say)
    if plan.load is None:
        result.notes.append("no load run (--no-load): latency and throughput were not checked")
    else:
        _run_load(plan.load, env, result, say, progress)
        _run_gate(plan.baseline, result)
    return result


def _run_suites(plan: CheckPlan, env: Mapping[str, str], result: CheckResult, say: Say) -> None:
    command = [sys.executable, "-m", "pytest", str(plan.suites), "-q", "-p", "no:cacheprovider"]
    command += ["--junitxml", str(plan.suites_junit), "-o", "junit_family=xunit2"]
    command += ["-m", plan.markers] if plan.markers else []
    command += ["-k", plan.keywords] if plan.keywords else []
    say("contract suites: $ " + " ".join(command))
    # pytest's own lines are progress: they go to stderr, and stdout keeps the verdict alone.
    code = subprocess.call(command, env={**env, "FLOWPROBE_MODE": "live"}, stdout=_stderr())
    if code not in _SUITES_RAN:
        raise FlowprobeError(
            f"the contract suites could not run (pytest exit {code}); see the output above"
        )
    result.tests, result.failed_tests = read_junit(plan.suites_junit)
    if not result.tests.get("total"):
        raise FlowprobeError(f"no contract suite test was collected from {plan.suites}")
    result.reasons += contract_reasons(result.failed_tests)


def contract_reasons(failed: list[SuiteFailure]) -> list[str]:
    """One reason per distinct failure message, naming its test, or how many tests share it."""
    by_message: dict[str, list[str]] = {}
    for outcome in failed:
        by_message.setdefault(outcome.message, []).append(outcome.test)
    reasons = []
    for message, tests in by_message.items():
        shown = tests[0] if len(tests) == 1 else f"{len(tests)} tests, first {tests[0]}"
        reasons.append(f"contract: {message} ({shown})")
    return reasons


def _stderr() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stderr has no descriptor
        return None


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
                name = f"{case.classname}.{case.name}".removeprefix("suites.")
                failed.append(SuiteFailure(name, _first_lines(problems[0].message or "")))
            elif any(isinstance(r, Skipped) for r in case.result):
                counts["skipped"] += 1
            else:
                counts["passed"] += 1
    return counts, failed


def _first_lines(message: str, lines: int = 3, limit: int = 400) -> str:
    message = message.strip().removeprefix("flowprobe.errors.")
    shown = " | ".join(" ".join(line.split()) for line in message.splitlines()[:lines])
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _run_load(
    load: LaunchPlan, env: Mapping[str, str], result: CheckResult, say: Say, progress: Say
) -> None:
    load.summary.unlink(missing_ok=True)  # never judge an earlier run's summary
    say(f"load run: {load.scenario}, {load.users} user(s), {load.run_time_s} s")
    launch(load, env, say, progress)
    say("")
    if not load.summary.exists():
        result.reasons.append(f"load: the run wrote no summary ({load.summary})")
        return
    summary = _read_load_summary(load.summary)
    result.load_summary = summary
    result.reasons += [f"load: {reason}" for reason in summary.reasons]


def _read_load_summary(path: Path) -> LoadSummary:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SummaryFileError(
            f"the load run's summary {path} is not readable JSON: {exc}"
        ) from None
    return LoadSummary.from_json(document, source=f"the load run's summary {path}")


def _run_gate(baseline: Path | None, result: CheckResult) -> None:
    summary = result.load_summary
    if baseline is None:
        result.notes.append("no --baseline: the load run was judged on its own validity only")
        return
    if summary is None or not summary.valid:
        result.notes.append("the gate was skipped: the load run is not valid")
        return
    gate = compare(read_summary(baseline, "--baseline"), summary)
    result.gate = gate
    result.reasons += [f"load regression: {reason}" for reason in gate.reasons()]
    result.notes += list(gate.notes)
