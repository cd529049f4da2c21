"""flowprobe upgrade-check: the order of its steps, its one verdict, and its reports."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flowprobe.cli import cli
from flowprobe.deploycheck import upgrade
from flowprobe.deploycheck.run import CheckPlan, CheckResult, Reason
from flowprobe.deploycheck.suites import SuiteFailure
from flowprobe.deploycheck.upgrade import UpgradePlan, UpgradeResult, run_upgrade_check
from flowprobe.deploycheck.upgrade_report import markdown, verdict_text, write_reports
from flowprobe.drift.report import Change, DriftReport
from flowprobe.errors import FlowprobeError

JUNIT = """<?xml version="1.0"?>
<testsuites><testsuite name="pytest" tests="2">
<testcase classname="suites.test_shape" name="test_a"/>
<testcase classname="suites.test_shape" name="test_b"><failure message="boom">x</failure></testcase>
</testsuite></testsuites>
"""


def _status_change(old: int, new: int) -> Change:
    return Change.of_status("POST /api/v1/run/flow?stream=false", old, new)


def _drift(*changes: Change) -> DriftReport:
    return DriftReport(old="old", new="new", paired=3, changes=changes)


def _result(tmp_path: Path, new_reasons: list[Reason], old_failed: list[str]) -> UpgradeResult:
    plan = UpgradePlan(old="1.12.8", new="1.13.0", out=tmp_path, load=None)
    new = CheckResult(plan=CheckPlan(out=tmp_path / "new", load=None), reasons=new_reasons)
    new.tests = {"total": 2, "passed": 1, "failed": 1, "skipped": 0}
    return UpgradeResult(
        plan=plan,
        old_tests={"total": 2, "passed": 1, "failed": 1, "skipped": 0},
        old_failed=[SuiteFailure(test=t, message="boom") for t in old_failed],
        new=new,
    )


def test_a_failure_already_there_before_the_upgrade_is_a_note_not_a_reason(
    tmp_path: Path,
) -> None:
    reason = Reason(source="contract", text="boom", tests=("suites.test_shape.test_b",))
    result = _result(tmp_path, [reason], old_failed=["suites.test_shape.test_b"])
    upgrade._verdict(result)
    assert result.passed
    assert any("already failing on 1.12.8" in note for note in result.notes)


def test_a_failure_new_with_the_upgrade_fails_it(tmp_path: Path) -> None:
    reason = Reason(source="contract", text="boom", tests=("suites.test_shape.test_b",))
    result = _result(tmp_path, [reason], old_failed=[])
    upgrade._verdict(result)
    assert not result.passed
    assert result.reasons == [reason]


def test_breaking_drift_fails_the_upgrade_and_harmless_drift_does_not(tmp_path: Path) -> None:
    harmless = _result(tmp_path, [], old_failed=[])
    harmless.drift = _drift(_status_change(500, 200))
    upgrade._verdict(harmless)
    assert harmless.passed

    breaking = _result(tmp_path, [], old_failed=[])
    breaking.drift = _drift(_status_change(200, 500))
    upgrade._verdict(breaking)
    assert not breaking.passed
    assert breaking.reasons[0].label == "breaking drift"
    assert "200 -> 500" in breaking.reasons[0].describe()


def test_the_reports_show_both_versions_side_by_side_and_escape_the_targets_text(
    tmp_path: Path,
) -> None:
    result = _result(tmp_path, [], old_failed=[])
    result.drift = _drift(_status_change(200, 500))
    result.notes.append("<script>alert(1)</script>")
    upgrade._verdict(result)
    text = verdict_text(result)
    assert text.startswith("flowprobe upgrade-check 1.12.8 -> 1.13.0: FAIL")
    assert "1.12.8: suites 1 passed, 1 failed" in text
    assert "| contract suites | 1 passed, 1 failed, 0 skipped |" in markdown(result)
    paths = write_reports(result)
    page = paths["html"].read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert html.escape("<script>alert(1)</script>") in page
    junit = paths["junit"].read_text(encoding="utf-8")
    assert "flowprobe.upgrade.drift" in junit
    assert "<failure" in junit


def test_old_is_recorded_and_stopped_before_new_starts_with_old_as_its_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []
    plan = UpgradePlan(old="1.12.8", new="1.13.0", out=tmp_path)
    assert plan.load is not None

    def record(plan: UpgradePlan, env: Any, say: Any) -> None:
        steps.append(f"record on {env['FLOWPROBE_BASE_URL']}")
        plan.old_junit.write_text(JUNIT, encoding="utf-8")

    def launch(load: Any, env: Any, say: Any, progress: Any) -> int:
        steps.append(f"load on {env['FLOWPROBE_BASE_URL']}")
        source = Path(__file__).parent.parent / "loadtests" / "baselines"
        baseline = sorted(source.glob("*.json"))[0]
        load.summary.parent.mkdir(parents=True, exist_ok=True)
        load.summary.write_bytes(baseline.read_bytes())
        return 0

    def check(check_plan: CheckPlan, env: Any, say: Any, progress: Any) -> CheckResult:
        steps.append(f"check on {env['FLOWPROBE_BASE_URL']} against {check_plan.baseline}")
        return CheckResult(plan=check_plan, tests={"total": 1, "passed": 1})

    def drift(plan: UpgradePlan, env: Any, say: Any) -> DriftReport:
        steps.append(f"drift on {env['FLOWPROBE_BASE_URL']}")
        return _drift()

    monkeypatch.setattr(upgrade, "_record_suites", record)
    monkeypatch.setattr(upgrade, "launch", launch)
    monkeypatch.setattr(upgrade, "read_summary", lambda path, what: _valid_summary(path))
    monkeypatch.setattr(upgrade, "run_check", check)
    monkeypatch.setattr(upgrade, "_drift", drift)
    urls = {"1.12.8": "http://127.0.0.1:1", "1.13.0": "http://127.0.0.1:2"}

    def start(version: str) -> dict[str, str]:
        steps.append(f"start {version}")
        return {"FLOWPROBE_BASE_URL": urls[version]}

    result = run_upgrade_check(plan, start, lambda: steps.append("stop"), print, print)
    baseline = upgrade.replace(plan.load, out=tmp_path / "old" / "load").summary
    assert steps == [
        "start 1.12.8",
        "record on http://127.0.0.1:1",
        "load on http://127.0.0.1:1",
        "stop",
        "start 1.13.0",
        f"check on http://127.0.0.1:2 against {baseline}",
        "drift on http://127.0.0.1:2",
        "stop",
    ]
    assert result.old_tests["failed"] == 1


def _valid_summary(path: Path) -> Any:
    class Summary:
        valid = True
        reasons: tuple[str, ...] = ()

    return Summary()


def test_the_new_target_is_stopped_even_when_its_check_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[str] = []
    plan = UpgradePlan(old="1.12.8", new="1.13.0", out=tmp_path, load=None)

    def record(plan: UpgradePlan, env: Any, say: Any) -> None:
        plan.old_junit.write_text(JUNIT, encoding="utf-8")

    def check(*args: Any) -> CheckResult:
        raise FlowprobeError("the contract suites could not run")

    monkeypatch.setattr(upgrade, "_record_suites", record)
    monkeypatch.setattr(upgrade, "run_check", check)
    with pytest.raises(FlowprobeError):
        run_upgrade_check(
            plan,
            lambda v: steps.append(f"start {v}") or {},
            lambda: steps.append("stop"),
            print,
            print,
        )
    assert steps == ["start 1.12.8", "stop", "start 1.13.0", "stop"]


def test_the_same_version_twice_is_refused_before_anything_starts(tmp_path: Path) -> None:
    answer = CliRunner().invoke(
        cli, ["upgrade-check", "--from", "1.13.0", "--to", "1.13.0", "--out", str(tmp_path)]
    )
    assert answer.exit_code == 2
    assert "nothing to compare" in answer.output


def test_the_suites_run_in_the_mode_asked_and_a_run_that_cannot_start_is_an_error(
    tmp_path: Path,
) -> None:
    from flowprobe.deploycheck.run import call_suites

    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "test_mode.py").write_text(
        "import os\n\ndef test_mode():\n    assert os.environ['FLOWPROBE_MODE'] == 'record'\n"
    )
    junit = tmp_path / "junit.xml"
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    call_suites(suites, junit, env, lambda _: None, mode="record")
    assert 'failures="0"' in junit.read_text(encoding="utf-8")
    junit.unlink()
    with pytest.raises(FlowprobeError, match=r"the suites could not run \(pytest exit 4\)"):
        call_suites(tmp_path / "absent", junit, env, lambda _: None, what="the suites")
