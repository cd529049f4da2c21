"""``flowprobe check``: go or no-go for a candidate deployment, with every reason.

Three steps against one target: the contract suites run live (pytest in a subprocess, JUnit
XML kept), then a short bounded load run (:mod:`flowprobe.load.launch`), then, when a baseline
is given, the gate (:mod:`flowprobe.gate.compare`) compares the run with it. Failed tests that
share a message, each reason that made the load run fail and each regressed metric become one
:class:`Reason` each, kept as data until a report renders it (:mod:`.report`).
A check that cannot run at all (no target, suites that do not start, a baseline made under
other settings) is a :class:`~flowprobe.errors.FlowprobeError`, not a failed check.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from flowprobe.deploycheck.suites import SuiteFailure, read_junit
from flowprobe.errors import FlowprobeError
from flowprobe.gate import GateResult, compare
from flowprobe.gate.baseline import read_summary
from flowprobe.load.launch import LaunchPlan, launch
from flowprobe.load.summary import LoadSummary
from flowprobe.load.thresholds import Threshold, judge_file
from flowprobe.resources import locate, shipped

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
    thresholds: tuple[Threshold, ...] = ()
    summary_json: Path | None = None

    @property
    def suites_junit(self) -> Path:
        return self.out / "suites-junit.xml"


Source = Literal["contract", "load", "gate", "drift"]
_LABELS: dict[Source, str] = {
    "contract": "contract",
    "load": "load",
    "gate": "load regression",
    "drift": "breaking drift",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """One reason the check fails: which step found it, what it says, the tests that showed it."""

    source: Source
    text: str
    tests: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``contract``, ``load`` or ``load regression``: the words the verdict starts with."""
        return _LABELS[self.source]

    def describe(self) -> str:
        """``contract: <why> (3 tests, first test_shape.case0)``: one line of the verdict."""
        if not self.tests:
            return f"{self.label}: {self.text}"
        first = self.tests[0]
        shown = first if len(self.tests) == 1 else f"{len(self.tests)} tests, first {first}"
        return f"{self.label}: {self.text} ({shown})"


@dataclass(slots=True, kw_only=True)
class CheckResult:
    """What each step found; the verdict is the list of reasons."""

    plan: CheckPlan
    tests: dict[str, int] = field(default_factory=dict)
    failed_tests: list[SuiteFailure] = field(default_factory=list)
    load_summary: LoadSummary | None = None
    gate: GateResult | None = None
    reasons: list[Reason] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons


def run_check(plan: CheckPlan, env: Mapping[str, str], say: Say, progress: Say) -> CheckResult:
    """Every step of the check against the target described by ``env``."""
    if not plan.suites.is_dir():
        shipped("suites", what="contract suites")  # names where a reinstall would put them
        raise FlowprobeError(f"the contract suites are not at {plan.suites}")
    if plan.baseline is not None:
        read_summary(plan.baseline, "--baseline")  # a bad baseline is refused before any run
    plan.out.mkdir(parents=True, exist_ok=True)
    result = CheckResult(plan=plan)
    _run_suites(plan, env, result, say)
    if plan.load is None:
        result.notes.append("no load run (--no-load): latency and throughput were not checked")
    else:
        _run_load(plan, plan.load, env, result, say, progress)
        _run_gate(plan, result)
    return result


def _run_suites(plan: CheckPlan, env: Mapping[str, str], result: CheckResult, say: Say) -> None:
    call_suites(
        plan.suites, plan.suites_junit, env, say, markers=plan.markers, keywords=plan.keywords
    )
    result.tests, result.failed_tests = read_junit(plan.suites_junit)
    if not result.tests.get("total"):
        raise FlowprobeError(f"no contract suite test was collected from {plan.suites}")
    result.reasons += contract_reasons(result.failed_tests)


def call_suites(
    suites: Path,
    junit: Path,
    env: Mapping[str, str],
    say: Say,
    *,
    markers: str | None = None,
    keywords: str | None = None,
    mode: str = "live",
    extra: Sequence[str] = (),
    what: str = "the contract suites",
) -> None:
    """pytest on ``suites`` in a subprocess, in ``mode``, its JUnit XML written to ``junit``;
    a :class:`FlowprobeError` when the suites could not run at all (not when tests failed)."""
    command = [sys.executable, "-m", "pytest", str(suites), "-q", "-p", "no:cacheprovider"]
    command += list(extra)
    # The current folder is the rootdir wherever the suites are installed: its [tool.flowprobe].
    command += ["--rootdir", str(Path.cwd())]
    command += ["--junitxml", str(junit), "-o", "junit_family=xunit2"]
    command += ["-m", markers] if markers else []
    command += ["-k", keywords] if keywords else []
    say(f"{what}: $ " + " ".join(command))
    # pytest's own lines are progress: they go to stderr, and stdout keeps the verdict alone.
    code = subprocess.call(command, env={**env, "FLOWPROBE_MODE": mode}, stdout=_stderr())
    if code not in _SUITES_RAN or not junit.exists():
        raise FlowprobeError(f"{what} could not run (pytest exit {code}); see the output above")


def contract_reasons(failed: list[SuiteFailure]) -> list[Reason]:
    """One reason per distinct failure message, with every test that failed with it."""
    by_message: dict[str, list[str]] = {}
    for outcome in failed:
        by_message.setdefault(outcome.message, []).append(outcome.test)
    return [
        Reason(source="contract", text=message, tests=tuple(tests))
        for message, tests in by_message.items()
    ]


def _stderr() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stderr has no descriptor
        return None


def _run_load(
    plan: CheckPlan,
    load: LaunchPlan,
    env: Mapping[str, str],
    result: CheckResult,
    say: Say,
    progress: Say,
) -> None:
    load.summary.unlink(missing_ok=True)  # never judge an earlier run's summary
    say(f"load run: {load.scenario}, {load.users} user(s), {load.run_time_s} s")
    launch(load, env, say, progress)
    say("")
    if not load.summary.exists():
        result.reasons.append(
            Reason(source="load", text=f"the run wrote no summary ({load.summary})")
        )
        return
    summary = judge_file(load.summary, plan.thresholds, also=plan.summary_json)
    result.load_summary = summary
    result.reasons += [Reason(source="load", text=reason) for reason in summary.reasons]


def _run_gate(plan: CheckPlan, result: CheckResult) -> None:
    summary, baseline = result.load_summary, plan.baseline
    if baseline is None:
        judged = (
            f"its validity and {len(plan.thresholds)} threshold(s)"
            if plan.thresholds
            else "its own validity only (no latency limit: give --threshold)"
        )
        result.notes.append(f"no --baseline: the load run was judged on {judged}")
        return
    if summary is None or not summary.valid:
        result.notes.append("the gate was skipped: the load run is not valid")
        return
    gate = compare(read_summary(baseline, "--baseline"), summary)
    result.gate = gate
    result.reasons += [Reason(source="gate", text=reason) for reason in gate.reasons()]
    result.notes += list(gate.notes)
