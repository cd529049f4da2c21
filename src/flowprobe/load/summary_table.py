"""The end-of-run summary a load tester reads at a glance, rendered from a
:class:`~flowprobe.load.summary.LoadSummary` (k6's end-of-test summary is the model).

One aligned line per figure: calls, failures by kind, calls/s, goodput, the latencies' p50,
p95 and p99 (those the run measured: a non-streaming run has no token metrics), validity, each
threshold with its measured value, and one verdict line. This module does not import locust.
"""

from __future__ import annotations

from flowprobe.load.summary import LoadSummary, Metric

LATENCIES = (
    "time_to_first_token",
    "inter_token_latency",
    "time_per_output_token",
    "end_to_end",
)
_WIDTH = 40  # the dotted label column


def _row(label: str, value: str, indent: int = 2) -> str:
    lead = " " * indent + label + " "
    return f"{lead:.<{_WIDTH}}: {value}"


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 or value == int(value) else f"{value:.1f} ms"


def _latency(entry: Metric) -> str:
    parts = (f"{name}={_ms(entry.percentile(name)):<9}" for name in ("p50", "p95", "p99"))
    return " ".join(parts) + f" n={entry.count}"


def verdict_line(summary: LoadSummary) -> str:
    """``PASS: ...`` or ``FAIL: <every reason>``: one line, the run's verdict with why."""
    if not summary.passed:
        return "FAIL: " + "; ".join(summary.reasons or ("the run failed",))
    held = len(summary.thresholds or ())
    why = f"valid, {held} threshold(s) held" if held else "valid, no threshold given"
    return f"PASS: {why}, error rate {summary.error_rate:.2%}"


def _shape(summary: LoadSummary) -> str:
    run = summary.settings.run
    arrival = "open loop" if summary.arrivals.open_loop else "closed loop"
    if run is None:
        return arrival
    users = f", {run.users} user(s)" if run.users is not None else ""
    shape = f", shape {run.shape}" if run.shape else ""
    asked = f" of a {run.run_time_s:g} s run" if run.run_time_s else ""
    return f"{arrival}{users}{shape}, {summary.duration_s:.1f} s measured{asked}"


def render(summary: LoadSummary) -> str:
    """The whole summary as aligned text lines (no trailing newline)."""
    lines = ["load summary", _row("target", summary.settings.target)]
    lines.append(_row("shape", _shape(summary)))
    lines.append(_row("calls", f"{summary.requests}  {summary.requests_per_s:.2f}/s"))
    lines.append(_row("failures", f"{summary.failures}  {summary.error_rate:.2%}"))
    for kind, count in sorted(summary.errors_by_kind.items(), key=lambda item: -item[1]):
        lines.append(_row(kind, str(count), indent=4))
    lines.append(_row("goodput", f"{summary.goodput_per_s:.2f}/s (calls within the SLO)"))
    if summary.tokens:
        lines.append(_row("tokens", f"{summary.tokens}  {summary.tokens_per_s:.2f}/s"))
    for name in LATENCIES:
        entry = summary.metrics_ms.get(name)
        if entry is not None and entry.count:
            lines.append(_row(name, _latency(entry)))
    lines.append(_row("validity", _validity(summary)))
    lines += ["  thresholds"] if summary.thresholds else []
    for outcome in summary.thresholds or ():
        mark = "pass" if outcome.passed else "FAIL"
        lines.append(_row(f"{mark} {outcome.expression}", outcome.detail, indent=4))
    lines.append(_row("verdict", verdict_line(summary)))
    return "\n".join(lines)


def _validity(summary: LoadSummary) -> str:
    cpu = summary.generator_cpu_percent.max
    shown = "n/a" if cpu is None else f"{cpu:.0f}%"
    word = "valid" if summary.valid else "INVALID (timings cannot be trusted)"
    missed = (
        f", missed arrivals {summary.arrivals.missed_ratio:.2%}"
        if summary.arrivals.open_loop
        else ""
    )
    return f"{word}: generator CPU max {shown}{missed}"
