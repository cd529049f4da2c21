"""The reports of ``flowprobe check``: the verdict text, JUnit XML, Markdown and HTML.

Each is rendered from the check's data (:class:`~flowprobe.deploycheck.run.CheckResult`), never
from another report. The JUnit file holds the suites' own test cases plus a ``flowprobe.check``
suite with one case for the load run and one per gated metric, so a CI test view shows every
reason. The Markdown fits a CI step summary. The HTML comes from the jinja2 template
``templates/report.html.j2`` with autoescaping on, and embeds the load plots (matplotlib, the
``flowprobe[plot]`` extra) as images, so it is one self-contained file.
"""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
from junitparser import Failure, JUnitXml, TestCase, TestSuite

from flowprobe.deploycheck.run import CheckResult
from flowprobe.load import metrics
from flowprobe.load.summary import PERCENTILE_NAMES, LoadSummary, Metric

_LOAD_ROWS = (
    metrics.TIME_TO_FIRST_TOKEN,
    metrics.INTER_TOKEN_LATENCY,
    metrics.END_TO_END,
    metrics.OUTPUT_TOKENS,
)


def headline(result: CheckResult) -> str:
    """``flowprobe check: PASS (...)``: the verdict with the suites' counts and the load."""
    head = "flowprobe check: PASS" if result.passed else "flowprobe check: FAIL"
    counts = result.tests
    load = f"; load {_load_line(result.load_summary)})" if result.load_summary else ")"
    return (
        f"{head} ({counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed, "
        f"{counts.get('skipped', 0)} skipped in the contract suites{load}"
    )


def verdict_text(result: CheckResult) -> str:
    """One verdict, every reason under it, then the notes."""
    lines = [headline(result)]
    lines += [f"  - {reason.describe()}" for reason in result.reasons]
    lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines)


def _load_line(summary: LoadSummary) -> str:
    shown = f"{summary.requests} calls, {summary.requests_per_s:.2f}/s"
    for name in (metrics.TIME_TO_FIRST_TOKEN, metrics.END_TO_END):
        if name in summary.metrics_ms:
            shown += f", {name} p95 {summary.metrics_ms[name].p95} ms"
    return shown


def write_reports(result: CheckResult) -> dict[str, Path]:
    """Write junit.xml, summary.md and report.html in the plan's output folder."""
    out = result.plan.out
    paths = {
        "junit": out / "junit.xml",
        "markdown": out / "summary.md",
        "html": out / "report.html",
    }
    write_junit(result, paths["junit"])
    paths["markdown"].write_text(markdown(result), encoding="utf-8")
    paths["html"].write_text(html_report(result), encoding="utf-8")
    return paths


def write_junit(result: CheckResult, path: Path) -> None:
    """The suites' own cases, plus one case for the load run and one per gated metric."""
    xml = JUnitXml()
    suites_junit = result.plan.suites_junit
    if suites_junit.exists():
        for suite in JUnitXml.fromfile(str(suites_junit)):
            xml.add_testsuite(suite)
    check = TestSuite("flowprobe.check")
    if result.load_summary is not None:
        load_case = TestCase("load run", classname="flowprobe.check.load")
        if result.load_summary.reasons:
            load_case.result = [Failure("; ".join(result.load_summary.reasons))]
        check.add_testcase(load_case)
    gate = result.gate
    for comparison in gate.comparisons if gate else ():
        case = TestCase(comparison.label(), classname="flowprobe.check.gate")
        if gate is not None and comparison in gate.failures():
            case.result = [Failure(comparison.describe(gate.confidence))]
        check.add_testcase(case)
    check.update_statistics()  # type: ignore[no-untyped-call]  # junitparser leaves it untyped
    xml.add_testsuite(check)
    xml.write(str(path), pretty=True)


def markdown(result: CheckResult) -> str:
    """The verdict and its reasons, the suites' counts, the load figures, the gate's table."""
    lines = [f"## {'✅' if result.passed else '❌'} {headline(result)}", ""]
    lines += [f"- {reason.describe()}" for reason in result.reasons]
    lines += [""] if result.reasons else []
    if result.load_summary is not None:
        lines += _load_table(result.load_summary)
    if result.gate is not None:
        lines += ["### Against the baseline", "", result.gate.to_markdown()]
    lines += [f"> {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def load_figures(summary: LoadSummary) -> str:
    """Calls, rates, error rate and validity in one line."""
    return (
        f"{summary.requests} calls, {summary.requests_per_s:.2f} calls/s, "
        f"{summary.tokens_per_s:.1f} tokens/s, error rate {summary.error_rate:.2%}, "
        f"valid: {summary.valid}"
    )


def load_rows(summary: LoadSummary) -> list[tuple[str, Metric]]:
    """The metrics the reports tabulate, in their order, where the run measured them."""
    return [(name, summary.metrics_ms[name]) for name in _LOAD_ROWS if name in summary.metrics_ms]


def _load_table(summary: LoadSummary) -> list[str]:
    rows = [
        "### Load run",
        "",
        load_figures(summary),
        "",
        "| metric | p50 | p90 | p95 | p99 | count |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in load_rows(summary):
        cells = " | ".join(str(entry.percentile(p)) for p in PERCENTILE_NAMES)
        rows.append(f"| {name} | {cells} | {entry.count} |")
    return [*rows, ""]


@cache
def _templates() -> jinja2.Environment:
    # Autoescaping on for every template: test names, messages and settings are the target's
    # or the user's text, never markup.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("flowprobe.deploycheck", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def html_report(result: CheckResult) -> str:
    """One self-contained page: the verdict, reasons, load figures, gate table and plots."""
    summary = result.load_summary
    return (
        _templates()
        .get_template("report.html.j2")
        .render(
            result=result,
            headline=headline(result),
            load_figures=load_figures(summary) if summary else "",
            load_rows=load_rows(summary) if summary else [],
            percentiles=PERCENTILE_NAMES,
            plot=_plot(result),
        )
    )


@dataclass(frozen=True, slots=True)
class LoadPlot:
    """The load over time as a base64 PNG, or why there is none (``matplotlib``, ``history``)."""

    png: str = ""
    missing: str = ""


def _plot(result: CheckResult) -> LoadPlot | None:
    load = result.plan.load
    if load is None or result.load_summary is None:
        return None
    # locust's history holds the calls; flowprobe's metrics (TTFT, end-to-end) have their own
    history = Path(f"{load.prefix}_stats_history.csv")
    measured = Path(f"{load.prefix}_metrics_history.csv")
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return LoadPlot(missing="matplotlib")
    series = [(path, *pair) for path in (history, measured) for pair in _history(path).items()]
    if not series:
        return LoadPlot(missing="history")
    figure, (latency, throughput) = pyplot.subplots(2, 1, figsize=(8, 6), sharex=True)
    for path, name, column in series:
        target = throughput if column == "Requests/s" else latency
        times, values = zip(*series_points(path, name, column), strict=True)
        target.plot(times, values, label=f"{name} {column}")
    latency.set_ylabel("ms")
    throughput.set_ylabel("calls/s")
    throughput.set_xlabel("seconds into the run")
    for axis in (latency, throughput):
        axis.legend(fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    pyplot.close(figure)
    return LoadPlot(png=base64.b64encode(buffer.getvalue()).decode())


def _history(path: Path) -> dict[str, str]:
    """Which (entry, column) pairs to plot, if the history file has them."""
    try:
        names = {row["Name"] for row in csv.DictReader(path.open(encoding="utf-8"))}
    except OSError:
        return {}
    wanted = {metrics.TIME_TO_FIRST_TOKEN: "95%", metrics.END_TO_END: "95%"}
    found = {name: column for name, column in wanted.items() if name in names}
    calls = sorted(n for n in names if n.startswith("/api/"))
    if calls:
        found[calls[0]] = "Requests/s"
    return found


def series_points(path: Path, name: str, column: str) -> list[tuple[float, float]]:
    """(seconds since the run's first row, value) for one entry's column of locust's history."""
    points: list[tuple[float, float]] = []
    start: float | None = None
    for row in csv.DictReader(path.open(encoding="utf-8")):
        stamp = float(row["Timestamp"])
        start = stamp if start is None else start
        if row["Name"] != name or row[column] in ("N/A", ""):
            continue
        if column != "Requests/s" and float(row[column]) == 0:
            continue  # locust writes 0 before its current window holds a sample
        points.append((stamp - start, float(row[column])))
    return points or [(0.0, 0.0)]
