"""flowprobe check's reading of the suites' JUnit XML, and the reports it writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flowprobe.deploycheck.report import markdown, verdict_text, write_reports
from flowprobe.deploycheck.run import (
    CheckPlan,
    CheckResult,
    SuiteFailure,
    contract_reasons,
    read_junit,
)

SUITE = """
import pytest
from flowprobe.errors import ContractViolation

def test_shape_holds():
    pass

def test_text_is_read_by_clients():
    raise ContractViolation(
        "answer breaks run-response",
        path="$.outputs[0].outputs[0].results.message.text",
        expected="a string",
        received="missing",
    )

@pytest.mark.skip(reason="needs a model")
def test_tokens():
    pass
"""


@pytest.fixture
def suites_junit(tmp_path: Path) -> Path:
    """JUnit XML written by a real pytest run of a small suite: one pass, fail and skip."""
    (tmp_path / "test_suite.py").write_text(SUITE, encoding="utf-8")
    junit = tmp_path / "out" / "suites-junit.xml"
    subprocess.run(
        [
            *(sys.executable, "-m", "pytest", str(tmp_path / "test_suite.py"), "-q"),
            *("-p", "no:cacheprovider", "--junitxml", str(junit), "-o", "junit_family=xunit2"),
        ],
        capture_output=True,
        check=False,
        cwd=tmp_path,
    )
    return junit


def test_failed_tests_are_read_with_the_path_they_name(suites_junit: Path) -> None:
    counts, failed = read_junit(suites_junit)
    assert counts == {"total": 3, "passed": 1, "failed": 1, "skipped": 1}
    assert [t.test for t in failed] == ["test_suite.test_text_is_read_by_clients"]
    assert failed[0].message.startswith("ContractViolation: answer breaks run-response")
    assert "$.outputs[0].outputs[0].results.message.text" in failed[0].message


def _result(suites_junit: Path) -> CheckResult:
    plan = CheckPlan(out=suites_junit.parent, load=None)
    counts, failed = read_junit(suites_junit)
    result = CheckResult(plan=plan, tests=counts, failed_tests=failed)
    result.reasons += contract_reasons(failed)
    return result


def test_the_verdict_names_every_reason(suites_junit: Path) -> None:
    text = verdict_text(_result(suites_junit))
    assert text.startswith("flowprobe check: FAIL (1 passed, 1 failed, 1 skipped")
    assert "results.message.text" in text.splitlines()[1]


def test_reports_carry_the_suites_and_the_verdict(suites_junit: Path) -> None:
    result = _result(suites_junit)
    paths = write_reports(result)
    junit = paths["junit"].read_text(encoding="utf-8")
    assert "test_text_is_read_by_clients" in junit
    assert 'name="flowprobe.check"' in junit
    assert "❌" in markdown(result)
    assert "results.message.text" in paths["html"].read_text(encoding="utf-8")


def test_failures_with_the_same_message_make_one_reason() -> None:
    failed = [
        SuiteFailure(f"test_shape.case{i}", "at: $.outputs | expected: a list") for i in range(3)
    ]
    failed.append(SuiteFailure("test_tweaks.leak", "the tweak persisted"))
    assert contract_reasons(failed) == [
        "contract: at: $.outputs | expected: a list (3 tests, first test_shape.case0)",
        "contract: the tweak persisted (test_tweaks.leak)",
    ]


HISTORY = """Timestamp,User Count,Type,Name,Requests/s,Failures/s,95%,Total Request Count
100,2,METRIC,time_to_first_token,0.000000,0.000000,0,2
101,2,METRIC,time_to_first_token,1.5,0.000000,860,3
102,2,POST,/api/v1/run/f?stream=true,1.2,0.000000,990,4
"""


def test_history_points_skip_the_empty_window_and_keep_the_run_clock(tmp_path: Path) -> None:
    from flowprobe.deploycheck.report import series_points

    history = tmp_path / "stream_stats_history.csv"
    history.write_text(HISTORY, encoding="utf-8")
    assert series_points(history, "time_to_first_token", "95%") == [(1.0, 860.0)]
    assert series_points(history, "/api/v1/run/f?stream=true", "Requests/s") == [(2.0, 1.2)]
