"""``flowprobe upgrade-check``: is the next Langflow version safe for the clients of a flow?

Two targets in turn, on the same ports: the OLD version and the NEW one, each started by
whoever calls :func:`run_upgrade_check` (``start``) and stopped after (``stop``). On OLD the
contract suites run in record mode (their cassettes are what clients saw) and a load run
becomes the baseline. On NEW, ``flowprobe check`` runs against that baseline (suites, load,
gate), and OLD's recorded calls are made again to list what changed that clients read
(:mod:`flowprobe.drift`). One verdict: NEW's check reasons plus every breaking change; a
contract that already failed on OLD is named as such, not blamed on the upgrade.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from flowprobe import drift
from flowprobe.deploycheck.run import (
    CheckPlan,
    CheckResult,
    Reason,
    Say,
    call_suites,
    run_check,
)
from flowprobe.deploycheck.suites import SuiteFailure, read_junit
from flowprobe.errors import FlowprobeError
from flowprobe.gate.baseline import read_summary
from flowprobe.load.launch import LaunchPlan, launch
from flowprobe.load.summary import LoadSummary
from flowprobe.resources import locate
from flowprobe.settings import load_settings

Start = Callable[[str], Mapping[str, str]]  # version -> the target's settings (FLOWPROBE_*)
Stop = Callable[[], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class UpgradePlan:
    """From which version to which, what runs on each, and where the reports go."""

    old: str
    new: str
    out: Path = Path(".flowprobe/upgrade-check")
    suites: Path = field(default_factory=lambda: locate("suites"))
    markers: str | None = None
    keywords: str | None = None
    load: LaunchPlan | None = field(default_factory=lambda: LaunchPlan(run_time_s=20))
    max_calls: int = 200
    time_limit: float = 600.0

    def side(self, which: str) -> Path:
        return self.out / which

    @property
    def cassettes(self) -> Path:
        return self.side("old") / "cassettes"

    @property
    def old_junit(self) -> Path:
        return self.side("old") / "suites-junit.xml"


@dataclass(slots=True, kw_only=True)
class UpgradeResult:
    """What each side found, and the one verdict."""

    plan: UpgradePlan
    old_tests: dict[str, int] = field(default_factory=dict)
    old_failed: list[SuiteFailure] = field(default_factory=list)
    old_load: LoadSummary | None = None
    new: CheckResult | None = None
    drift: drift.DriftReport | None = None
    reasons: list[Reason] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons


def run_upgrade_check(
    plan: UpgradePlan, start: Start, stop: Stop, say: Say, progress: Say
) -> UpgradeResult:
    """OLD recorded and measured, then NEW checked against it; each target stopped after."""
    if plan.old == plan.new:
        raise FlowprobeError(f"--from and --to are both {plan.old}: nothing to compare")
    plan.out.mkdir(parents=True, exist_ok=True)
    result = UpgradeResult(plan=plan)
    baseline = _old_side(plan, start, stop, say, progress, result)
    say(f"[2/2] Langflow {plan.new}: the check against {plan.old}'s baseline, then drift")
    try:
        env = {**os.environ, **start(plan.new)}
        check_plan = CheckPlan(
            out=plan.side("new"),
            suites=plan.suites,
            markers=plan.markers,
            keywords=plan.keywords,
            load=None if plan.load is None else replace(plan.load, out=plan.side("new") / "load"),
            baseline=baseline,
        )
        result.new = run_check(check_plan, env, say, progress)
        result.drift = _drift(plan, env, say)
    finally:
        stop()
    _verdict(result)
    return result


def _old_side(
    plan: UpgradePlan, start: Start, stop: Stop, say: Say, progress: Say, result: UpgradeResult
) -> Path | None:
    """Record the suites on OLD and measure it; the load summary path when it is a baseline."""
    say(f"[1/2] Langflow {plan.old}: the suites recorded, then the baseline load run")
    old = plan.side("old")
    old.mkdir(parents=True, exist_ok=True)
    try:
        env = {**os.environ, **start(plan.old)}
        _record_suites(plan, env, say)
        result.old_tests, result.old_failed = read_junit(plan.old_junit)
        if plan.load is None:
            result.notes.append("no load run (--no-load): latency and throughput not compared")
            return None
        load = replace(plan.load, out=old / "load")
        load.summary.unlink(missing_ok=True)
        launch(load, env, say, progress)
        say("")
    finally:
        stop()
    if not load.summary.exists():
        result.notes.append(f"{plan.old}'s load run wrote no summary: no load comparison")
        return None
    summary = read_summary(load.summary, f"Langflow {plan.old}'s load summary")
    result.old_load = summary
    if not summary.valid:
        result.notes.append(
            f"{plan.old}'s load run is not valid ({'; '.join(summary.reasons)}): no load comparison"
        )
        return None
    return load.summary


def _record_suites(plan: UpgradePlan, env: Mapping[str, str], say: Say) -> None:
    recording = {"FLOWPROBE_CASSETTE_DIR": str(plan.cassettes)}
    call_suites(
        plan.suites,
        plan.old_junit,
        {**env, **recording},
        say,
        markers=plan.markers,
        keywords=plan.keywords,
        mode="record",
        extra=["-p", "no:randomly"],
        what=f"the contract suites, recorded on Langflow {plan.old},",
    )


def _drift(plan: UpgradePlan, env: Mapping[str, str], say: Say) -> drift.DriftReport:
    recording = drift.load_recording(plan.cassettes)
    target = drift.replay_target(load_settings(env=env))
    say(f"drift: {len(recording.calls)} run calls of {plan.old} made again on {plan.new}")
    live = drift.record_live(
        recording, target, max_calls=plan.max_calls, time_limit=plan.time_limit
    )
    return drift.compare(recording, live)


def _verdict(result: UpgradeResult) -> None:
    plan, new = result.plan, result.new
    assert new is not None
    failed_before = {failure.test for failure in result.old_failed}
    for reason in new.reasons:
        if reason.source == "contract" and set(reason.tests) <= failed_before:
            result.notes.append(
                f"already failing on {plan.old}, not brought by the upgrade: {reason.describe()}"
            )
            continue
        result.reasons.append(reason)
    if result.drift is not None:
        result.reasons += [
            Reason(
                source="drift",
                text=f"{change.kind} {change.path} in {change.where} "
                f"({change.old_type} -> {change.new_type}, {change.calls} calls)",
            )
            for change in result.drift.breaking_changes
        ]
    result.notes += new.notes
