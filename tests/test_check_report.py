"""flowprobe check's reading of the suites' JUnit XML, and the reports it writes."""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

import pytest

from flowprobe.deploycheck.report import html_report, markdown, verdict_text, write_reports
from flowprobe.deploycheck.run import CheckPlan, CheckResult, Reason, contract_reasons
from flowprobe.deploycheck.suites import RecordedViolation, SuiteFailure, read_junit
from flowprobe.errors import ContractViolation
from flowprobe.gate.baseline import read_summary
from flowprobe.gate.compare import compare
from flowprobe.load.launch import LaunchPlan

SUITE = """
import pytest
from flowprobe.errors import ContractViolation
from flowprobe.gate.baseline import read_summary
from flowprobe.gate.compare import compare
from flowprobe.load.launch import LaunchPlan

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
    reasons = contract_reasons(failed)
    assert reasons == [
        Reason(
            source="contract",
            text="at: $.outputs | expected: a list",
            tests=("test_shape.case0", "test_shape.case1", "test_shape.case2"),
        ),
        Reason(source="contract", text="the tweak persisted", tests=("test_tweaks.leak",)),
    ]
    assert [reason.describe() for reason in reasons] == [
        "contract: at: $.outputs | expected: a list (3 tests, first test_shape.case0)",
        "contract: the tweak persisted (test_tweaks.leak)",
    ]


def test_load_and_gate_reasons_keep_their_words() -> None:
    load = Reason(source="load", text="error rate 3.00% is above FLOWPROBE_LOAD_MAX_ERROR_RATE")
    gate = Reason(source="gate", text="p50 time_to_first_token 210 ms -> 790 ms")
    assert load.describe() == "load: error rate 3.00% is above FLOWPROBE_LOAD_MAX_ERROR_RATE"
    assert gate.describe() == "load regression: p50 time_to_first_token 210 ms -> 790 ms"


# -- failures read from the plugin's JUnit properties, and from the message when there are none

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5" failures="3" errors="1" skipped="0">
<testcase classname="suites.test_shape" name="test_text[uuid]">
  <properties>
    <property name="flowprobe_violation_title" value="the answer breaks the run-response contract"/>
    <property name="flowprobe_violation_path" value="$.outputs[0].outputs[0].results.message"/>
    <property name="flowprobe_violation_expected" value="a field 'text'"/>
    <property name="flowprobe_violation_received" value="{&quot;txt&quot;: &quot;hi&quot;}"/>
    <property name="flowprobe_violation_title" value="a later phase's copy"/>
  </properties>
  <failure message="the message is not read when properties are there">long traceback</failure>
</testcase>
<testcase classname="suites.test_stream" name="test_record">
  <properties>
    <property name="flowprobe_finding" value="some-finding: seen"/>
    <property name="flowprobe_violation_title" value="stream record 3 (end) has no answer"/>
    <property name="flowprobe_violation_path" value="$.data.result"/>
    <property name="flowprobe_violation_expected" value=""/>
    <property name="flowprobe_violation_received" value="null"/>
  </properties>
  <failure message="flowprobe.errors.ContractViolation: stream record 3 (end) has no answer"/>
</testcase>
<testcase classname="suites.test_auth" name="test_plain_assert">
  <properties><property name="flowprobe_finding" value="unrelated: a finding"/></properties>
  <failure message="AssertionError: 401 != 200&#10;  more   detail&#10;third&#10;4th">tb</failure>
</testcase>
<testcase classname="suites.test_upload" name="test_fixture_broke">
  <error message="failed on setup with &quot;ConnectionError: refused&quot;">tb</error>
</testcase>
<testcase classname="suites.test_shape" name="test_fine"/>
</testsuite></testsuites>
"""


@pytest.fixture
def written_junit(tmp_path: Path) -> Path:
    path = tmp_path / "suites-junit.xml"
    path.write_text(JUNIT, encoding="utf-8")
    return path


def test_a_violation_is_read_from_its_properties_not_its_message(written_junit: Path) -> None:
    counts, failed = read_junit(written_junit)
    assert counts == {"total": 5, "passed": 1, "failed": 4, "skipped": 0}
    text, record = failed[0], failed[1]
    assert text.test == "test_shape.test_text[uuid]"
    assert text.violation == RecordedViolation(
        title="the answer breaks the run-response contract",
        path="$.outputs[0].outputs[0].results.message",
        expected="a field 'text'",
        received='{"txt": "hi"}',
    )
    assert text.message == (
        "ContractViolation: the answer breaks the run-response contract"
        " | at: $.outputs[0].outputs[0].results.message | expected: a field 'text'"
    )
    # With nothing expected, what came takes its place, as in the violation's own message.
    assert record.violation is not None
    assert record.message == (
        "ContractViolation: stream record 3 (end) has no answer | at: $.data.result"
        " | received: null"
    )


def test_failures_without_a_violation_fall_back_to_the_message(written_junit: Path) -> None:
    _, failed = read_junit(written_junit)
    plain, fixture = failed[2], failed[3]
    assert plain.violation is None  # a finding's property is not a violation
    assert plain.message == "AssertionError: 401 != 200 | more detail | third"
    assert fixture.violation is None
    assert fixture.message == 'failed on setup with "ConnectionError: refused"'


def test_a_violation_reads_the_same_from_its_properties_and_its_message(tmp_path: Path) -> None:
    """Whether or not the plugin recorded the properties, the verdict's words are the same."""
    violation = ContractViolation(
        "the answer breaks the run-response contract",
        path="$.outputs[0].outputs[0].results.message",
        expected="a field 'text'",
        received='{"txt": "hi"}',
    )
    # As pytest writes it: escaped, with the message's newlines kept as character references.
    message = html.escape(f"flowprobe.errors.ContractViolation: {violation}", quote=True)
    message = message.replace("\n", "&#10;")
    properties = "".join(
        f'<property name="flowprobe_violation_{name}" value="{html.escape(value, quote=True)}"/>'
        for name, value in (
            ("title", violation.title),
            ("path", violation.path),
            ("expected", violation.expected),
            ("received", violation.received),
        )
    )
    path = tmp_path / "suites-junit.xml"
    path.write_text(
        "<testsuites><testsuite name='pytest'>"
        f"<testcase classname='suites.a' name='with'><properties>{properties}</properties>"
        f"<failure message='ignored'/></testcase>"
        f"<testcase classname='suites.b' name='without'><failure message='{message}'/></testcase>"
        "</testsuite></testsuites>",
        encoding="utf-8",
    )
    _, failed = read_junit(path)
    assert failed[0].message == failed[1].message
    assert [reason.tests for reason in contract_reasons(failed)] == [("a.with", "b.without")]


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


# -- the HTML page, rendered from the data


GATE_DATA = Path(__file__).resolve().parent / "gate"


def _gated(tmp_path: Path, load: LaunchPlan | None = None) -> CheckResult:
    """A check whose load run is tests/gate/slowed.json, gated against tests/gate/baseline.json."""
    run = read_summary(GATE_DATA / "slowed.json")
    gate = compare(read_summary(GATE_DATA / "baseline.json"), run)
    result = CheckResult(
        plan=CheckPlan(out=tmp_path, load=load),
        tests={"total": 2, "passed": 1, "failed": 1, "skipped": 0},
        failed_tests=[SuiteFailure("test_x.test_<b>bold</b>", "plain & <simple>")],
        load_summary=run,
        gate=gate,
    )
    result.reasons += contract_reasons(result.failed_tests)
    result.reasons += [Reason(source="gate", text=reason) for reason in gate.reasons()]
    result.notes += list(gate.notes)
    return result


def test_the_page_shows_the_verdict_reasons_load_and_gate_tables(tmp_path: Path) -> None:
    result = _gated(tmp_path)
    page = html_report(result)
    first_line = verdict_text(result).splitlines()[0]
    assert first_line.startswith("flowprobe check: FAIL (1 passed, 1 failed, 0 skipped in the")
    assert f"❌ {first_line}</h2>" in html.unescape(page)
    assert result.load_summary is not None
    ttft = result.load_summary.metrics_ms["time_to_first_token"]
    row = "".join(f"<td>{ttft.percentile(p)}</td>" for p in ("p50", "p90", "p95", "p99"))
    assert f"<tr><td>time_to_first_token</td>{row}<td>{ttft.count}</td></tr>" in page
    assert result.gate is not None
    failed = result.gate.failures()[0]
    assert f"<td>{failed.label()}</td>" in page
    assert page.count("<td>regression</td>") == len(result.gate.failures())
    for reason in result.reasons[1:]:
        assert html.escape(reason.text, quote=True) in page
    assert "<strong>load regression</strong>" in page
    assert "Load over time" not in page  # no load plan: nothing to plot


def test_the_page_escapes_what_the_suites_and_target_wrote(tmp_path: Path) -> None:
    page = html_report(_gated(tmp_path))
    assert "<b>bold</b>" not in page
    assert "test_x.test_&lt;b&gt;bold&lt;/b&gt;" in page
    assert "plain &amp; &lt;simple&gt;" in page


def test_the_page_shows_each_violation_field(written_junit: Path) -> None:
    counts, failed = read_junit(written_junit)
    result = CheckResult(plan=CheckPlan(out=written_junit.parent, load=None), tests=counts)
    result.failed_tests, result.reasons = failed, contract_reasons(failed)
    page = html_report(result)
    assert "at: <code>$.outputs[0].outputs[0].results.message</code>" in page
    assert "received: {&#34;txt&#34;: &#34;hi&#34;}" in page
    assert "AssertionError: 401 != 200 | more detail | third" in page


def test_the_page_embeds_the_load_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    load = LaunchPlan(out=tmp_path / "load")
    load.out.mkdir()
    Path(f"{load.prefix}_stats_history.csv").write_text(HISTORY, encoding="utf-8")
    page = html_report(_gated(tmp_path, load))
    assert "<h3>Load over time</h3>" in page
    assert 'src="data:image/png;base64,iVBOR' in page  # a PNG's signature, base64


def test_the_page_says_when_there_is_no_history_to_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    page = html_report(_gated(tmp_path, LaunchPlan(out=tmp_path / "load")))
    assert "No load history was written" in page


def test_the_markdown_and_the_verdict_carry_the_same_reasons(tmp_path: Path) -> None:
    result = _gated(tmp_path)
    text, summary = verdict_text(result), markdown(result)
    for reason in result.reasons:
        assert f"  - {reason.describe()}" in text
        assert f"- {reason.describe()}" in summary
    assert "| time_to_first_token |" in summary
    assert "### Against the baseline" in summary
