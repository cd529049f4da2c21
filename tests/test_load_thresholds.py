"""Absolute thresholds on one load run (``error_rate<1%``) and the end-of-run summary table."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowprobe.errors import SettingsError
from flowprobe.gate.baseline import read_summary
from flowprobe.load import thresholds
from flowprobe.load.summary import LoadSummary
from flowprobe.load.summary_table import render, verdict_line

DATA = Path(__file__).resolve().parent / "gate"


@cache
def healthy() -> LoadSummary:
    """A streaming run: 94 calls, 1 failure, time_to_first_token p95 1400 ms, p99 2400 ms."""
    return replace(read_summary(DATA / "healthy.json"), passed=True, reasons=())


def non_streaming() -> LoadSummary:
    summary = healthy()
    kept = {k: v for k, v in summary.metrics_ms.items() if k in ("end_to_end", "within_slo")}
    return replace(summary, metrics_ms=kept, tokens=0, tokens_per_s=0.0)


@pytest.mark.parametrize(
    ("text", "name", "comparison", "limit"),
    [
        ("time_to_first_token.p95<800ms", "time_to_first_token.p95", "<", 800.0),
        ("end_to_end.p99<=2s", "end_to_end.p99", "<=", 2000.0),
        ("end_to_end.p50 < 250", "end_to_end.p50", "<", 250.0),
        ("error_rate<1%", "error_rate", "<", 0.01),
        ("error_rate<=0.05", "error_rate", "<=", 0.05),
        ("calls_per_s>5", "calls_per_s", ">", 5.0),
        ("goodput_per_s>=1.5/s", "goodput_per_s", ">=", 1.5),
    ],
)
def test_thresholds_are_read_as_k6_writes_them(
    text: str, name: str, comparison: str, limit: float
) -> None:
    threshold = thresholds.parse(text)
    assert (threshold.name, threshold.comparison) == (name, comparison)
    assert threshold.limit == pytest.approx(limit)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ttft.p95<800ms", "unknown metric 'ttft'"),
        ("time_to_first_token.p97<800ms", "unknown percentile 'p97'"),
        ("time_to_first_token<800ms", "no percentile"),
        ("error_rate.p95<1%", "takes no percentile"),
        ("end_to_end.p95==800", "the operator '==' is not one of"),
        ("end_to_end.p95=800", "the operator '=' is not one of"),
        ("end_to_end.p95 800", "has no comparison"),
        ("end_to_end.p95<800us", "unknown unit 'us'"),
        ("end_to_end.p95<5m", "unknown unit 'm'"),
        ("error_rate<1ms", "unknown unit 'ms'"),
        ("calls_per_s>5%", "unknown unit '%'"),
        ("error_rate<150%", "at most 100%"),
        ("end_to_end.p95<fast", "is not a number"),
        ("", "has no comparison"),
    ],
)
def test_a_bad_threshold_is_refused_saying_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=r"^--threshold ") as caught:
        thresholds.parse(text)
    assert problem in str(caught.value)


_latency_names = st.sampled_from(thresholds.LATENCIES)
_percentiles = st.sampled_from(("p50", "p90", "p95", "p99"))
_operators = st.sampled_from(("<", "<=", ">", ">="))
_numbers = st.decimals(min_value=0, max_value=100000, places=3, allow_nan=False)


@settings(deadline=None)
@given(_latency_names, _percentiles, _operators, _numbers, st.sampled_from(("", "ms", "s")))
def test_any_written_latency_threshold_reads_back_in_milliseconds(
    metric, percentile, comparison, number, unit
) -> None:
    threshold = thresholds.parse(f"{metric}.{percentile}{comparison}{number}{unit}")
    assert (threshold.metric, threshold.percentile) == (metric, percentile)
    assert threshold.comparison == comparison
    scale = 1000 if unit == "s" else 1
    assert threshold.limit == pytest.approx(float(number) * scale)


@settings(deadline=None)
@given(st.text(max_size=40))
def test_no_text_makes_the_parser_fail_other_than_with_a_settings_error(text: str) -> None:
    problem = ""
    try:
        threshold = thresholds.parse(text)
    except SettingsError as exc:
        problem = str(exc)
    if problem:
        assert problem.startswith(f"--threshold {text!r}")
    else:
        assert threshold.comparison in thresholds.OPERATORS
        assert threshold.metric in thresholds.METRICS


@settings(deadline=None)
@given(_operators, _numbers)
def test_a_threshold_holds_exactly_when_its_comparison_does(comparison: str, limit) -> None:
    summary = healthy()
    measured = summary.metrics_ms["end_to_end"].p95
    threshold = thresholds.parse(f"end_to_end.p95{comparison}{limit}ms")
    limit = float(limit)
    expected = {"<": measured < limit, "<=": measured <= limit}.get(
        comparison, measured > limit if comparison == ">" else measured >= limit
    )
    assert threshold.judge(summary).passed is expected


def test_each_threshold_is_judged_with_its_measured_value() -> None:
    summary = thresholds.apply(
        healthy(),
        thresholds.parse_all(
            [
                "time_to_first_token.p95<800ms",
                "error_rate<5%",
                "calls_per_s>1",
                "end_to_end.p99<=2s",
            ]
        ),
    )
    outcomes = {o.expression: o for o in summary.thresholds or ()}
    assert outcomes["time_to_first_token.p95<800ms"].measured == 1400
    assert not outcomes["time_to_first_token.p95<800ms"].passed
    assert outcomes["error_rate<5%"].passed
    assert outcomes["calls_per_s>1"].passed
    assert outcomes["end_to_end.p99<=2s"].detail == "2900 ms, not <= 2000 ms"
    assert summary.passed is False
    assert summary.reasons == (
        "threshold time_to_first_token.p95<800ms broken: 1400 ms, not < 800 ms",
        "threshold end_to_end.p99<=2s broken: 2900 ms, not <= 2000 ms",
    )


def test_thresholds_that_all_hold_keep_the_run_passing() -> None:
    summary = thresholds.apply(healthy(), thresholds.parse_all(["end_to_end.p50<1s"]))
    assert summary.passed
    assert verdict_line(summary).startswith("PASS: valid, 1 threshold(s) held")


def test_a_threshold_on_a_metric_the_run_lacks_fails_with_that_reason() -> None:
    summary = thresholds.apply(
        non_streaming(),
        thresholds.parse_all(["time_to_first_token.p95<800ms", "tokens_per_s>1"]),
    )
    assert not summary.passed
    first, second = summary.thresholds or ()
    assert first.measured is None
    assert not first.passed
    assert "no data: the run measured no time_to_first_token" in first.detail
    assert second.measured is None
    assert "counted no tokens" in second.detail


def test_thresholds_travel_in_the_summary_json_and_back() -> None:
    summary = thresholds.apply(healthy(), thresholds.parse_all(["error_rate<1%"]))
    document = json.loads(json.dumps(summary.to_json()))
    assert document["thresholds"] == [
        {
            "expression": "error_rate<1%",
            "measured": 1 / 94,
            "passed": False,
            "detail": "1.06%, not < 1.00%",
        }
    ]
    assert LoadSummary.from_json(document) == summary
    assert "thresholds" not in healthy().to_json()  # none given: none written


def test_the_table_shows_every_figure_the_run_has() -> None:
    summary = thresholds.apply(healthy(), thresholds.parse_all(["time_to_first_token.p95<800ms"]))
    text = render(summary)
    rows = {line.split(" .")[0].strip(): line for line in text.splitlines() if " ." in line}
    assert rows["calls"].endswith(": 94  2.02/s")
    assert rows["failures"].endswith(": 1  1.06%")
    assert rows["connection"].endswith(": 1")
    assert "p50=290 ms" in rows["time_to_first_token"]
    assert "p95=1400 ms" in rows["time_to_first_token"]
    assert "p99=2900 ms" in rows["end_to_end"]
    assert rows["FAIL time_to_first_token.p95<800ms"].endswith(": 1400 ms, not < 800 ms")
    assert rows["verdict"].endswith(
        ": FAIL: threshold time_to_first_token.p95<800ms broken: 1400 ms, not < 800 ms"
    )
    # Aligned: every value starts in the same column.
    assert len({line.index(": ") for line in rows.values()}) == 1
    assert "load-test-key" not in text


def test_a_non_streaming_table_has_no_token_rows() -> None:
    text = render(non_streaming())
    assert "end_to_end" in text
    for absent in ("time_to_first_token", "inter_token_latency", "tokens ."):
        assert absent not in text


@pytest.mark.parametrize(
    ("text", "passed"),
    [
        ("end_to_end.p99<=2900ms", True),
        ("end_to_end.p99<2900ms", False),
        ("end_to_end.p99>=2.9s", True),
        ("end_to_end.p99>2.9s", False),
    ],
)
def test_a_limit_equal_to_the_measured_value_holds_only_for_or_equal(
    text: str, passed: bool
) -> None:
    assert thresholds.parse(text).judge(healthy()).passed is passed
