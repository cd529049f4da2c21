"""The reports of ``flowprobe upgrade-check``: verdict text, JUnit XML, Markdown and HTML.

All four come from one :class:`~flowprobe.deploycheck.upgrade.UpgradeResult`. The Markdown and
HTML put the two versions side by side (suites, load figures), then NEW's gate table against
OLD's load and the drift table. The JUnit file holds NEW's check (its suites' cases, the load
run and the gated metrics) plus a ``flowprobe.upgrade.drift`` suite: one case per breaking
change, or one passing case when nothing clients read broke.
"""

from __future__ import annotations

from pathlib import Path

from junitparser import Failure, JUnitXml, TestCase, TestSuite

from flowprobe.deploycheck.report import _templates, load_figures, write_junit
from flowprobe.deploycheck.upgrade import UpgradeResult
from flowprobe.load import metrics
from flowprobe.load.summary import LoadSummary

_SIDE_METRICS = (metrics.TIME_TO_FIRST_TOKEN, metrics.INTER_TOKEN_LATENCY, metrics.END_TO_END)


def headline(result: UpgradeResult) -> str:
    plan = result.plan
    verdict = "PASS" if result.passed else "FAIL"
    return f"flowprobe upgrade-check {plan.old} -> {plan.new}: {verdict}"


def verdict_text(result: UpgradeResult) -> str:
    """The verdict, both sides in one line each, every reason, then the notes."""
    plan = result.plan
    lines = [headline(result)]
    lines += [f"  {version}: {text}" for version, text in _side_lines(result)]
    if result.drift is not None:
        lines.append(f"  drift {plan.old} -> {plan.new}: {result.drift.summary()}")
    lines += [f"  - {reason.describe()}" for reason in result.reasons]
    lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines)


def _side_lines(result: UpgradeResult) -> list[tuple[str, str]]:
    new = result.new
    sides = [(result.plan.old, result.old_tests, result.old_load)]
    if new is not None:
        sides.append((result.plan.new, new.tests, new.load_summary))
    return [(version, _side(tests, load)) for version, tests, load in sides]


def _side(tests: dict[str, int], load: LoadSummary | None) -> str:
    text = (
        f"suites {tests.get('passed', 0)} passed, {tests.get('failed', 0)} failed, "
        f"{tests.get('skipped', 0)} skipped"
    )
    if load is not None:
        text += f"; load {load.requests} calls, {load.requests_per_s:.2f}/s"
        for name in (metrics.TIME_TO_FIRST_TOKEN, metrics.END_TO_END):
            if name in load.metrics_ms:
                text += f", {name} p95 {load.metrics_ms[name].p95} ms"
    return text


def write_reports(result: UpgradeResult) -> dict[str, Path]:
    """Write junit.xml, summary.md and report.html in the plan's output folder."""
    out = result.plan.out
    paths = {
        "junit": out / "junit.xml",
        "markdown": out / "summary.md",
        "html": out / "report.html",
    }
    _write_junit(result, paths["junit"])
    paths["markdown"].write_text(markdown(result), encoding="utf-8")
    paths["html"].write_text(html_report(result), encoding="utf-8")
    return paths


def _write_junit(result: UpgradeResult, path: Path) -> None:
    xml = JUnitXml()
    if result.new is not None:
        write_junit(result.new, path)
        xml = JUnitXml.fromfile(str(path))
    suite = TestSuite("flowprobe.upgrade.drift")
    report = result.drift
    if report is not None:
        for change in report.breaking_changes:
            case = TestCase(f"{change.kind} {change.path}", classname="flowprobe.upgrade.drift")
            case.result = [Failure(f"{change.where}: {change.old_type} -> {change.new_type}")]
            suite.add_testcase(case)
        if not report.breaking:
            suite.add_testcase(
                TestCase("nothing clients read broke", classname="flowprobe.upgrade.drift")
            )
    suite.update_statistics()  # type: ignore[no-untyped-call]  # junitparser leaves it untyped
    xml.add_testsuite(suite)
    xml.write(str(path), pretty=True)


def side_by_side(result: UpgradeResult) -> list[tuple[str, str, str]]:
    """Rows of (what, OLD, NEW): suites' counts, load figures and the latency p50/p95."""
    new = result.new
    new_tests = new.tests if new else {}
    new_load = new.load_summary if new else None
    rows = [("contract suites", _counts(result.old_tests), _counts(new_tests))]
    rows.append(("load run", _figures(result.old_load), _figures(new_load)))
    for name in _SIDE_METRICS:
        old_cell, new_cell = _metric(result.old_load, name), _metric(new_load, name)
        if old_cell or new_cell:
            rows.append((f"{name} p50 / p95 (ms)", old_cell, new_cell))
    return rows


def _counts(tests: dict[str, int]) -> str:
    if not tests:
        return "not run"
    return (
        f"{tests.get('passed', 0)} passed, {tests.get('failed', 0)} failed, "
        f"{tests.get('skipped', 0)} skipped"
    )


def _figures(load: LoadSummary | None) -> str:
    return load_figures(load) if load is not None else "no load run"


def _metric(load: LoadSummary | None, name: str) -> str:
    if load is None or name not in load.metrics_ms:
        return ""
    entry = load.metrics_ms[name]
    return f"{entry.p50} / {entry.p95}"


def markdown(result: UpgradeResult) -> str:
    plan = result.plan
    lines = [f"## {'✅' if result.passed else '❌'} {headline(result)}", ""]
    lines += [f"- {reason.describe()}" for reason in result.reasons]
    lines += [""] if result.reasons else []
    lines += [f"| | Langflow {plan.old} | Langflow {plan.new} |", "| --- | --- | --- |"]
    lines += [f"| {what} | {old} | {new} |" for what, old, new in side_by_side(result)]
    lines.append("")
    if result.new is not None and result.new.gate is not None:
        lines += [f"### {plan.new}'s load against {plan.old}'s", "", result.new.gate.to_markdown()]
    if result.drift is not None:
        lines += [result.drift.to_markdown()]
    shown = set(result.new.gate.notes) if result.new and result.new.gate else set()
    lines += [f"> {note}" for note in result.notes if note not in shown]
    return "\n".join(lines) + "\n"


def html_report(result: UpgradeResult) -> str:
    new = result.new
    return (
        _templates()
        .get_template("upgrade.html.j2")
        .render(
            result=result,
            headline=headline(result),
            rows=side_by_side(result),
            gate=new.gate if new is not None else None,
            drift=result.drift,
        )
    )
