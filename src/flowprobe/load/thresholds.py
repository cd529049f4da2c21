"""Absolute pass/fail thresholds on one load run, written as k6 users write them.

``time_to_first_token.p95<800ms``, ``end_to_end.p99<=2s``, ``error_rate<1%``,
``calls_per_s>5``: a metric (a latency with its percentile, or a rate), an operator
(``<``, ``<=``, ``>``, ``>=``) and a value with its unit (``ms`` or ``s`` for a latency, a bare
number being milliseconds; ``%`` or a bare fraction for the error rate; a bare number per second
for a rate). :func:`parse` turns the text into a :class:`Threshold` or raises a
:class:`~flowprobe.errors.SettingsError` that says what is wrong; :func:`apply` judges a
:class:`~flowprobe.load.summary.LoadSummary` against them. A threshold on a metric the run has
no data for (time to first token in a non-streaming run) fails with that reason.

These are limits on one run; a regression against a stored baseline is :mod:`flowprobe.gate`'s.
This module does not import locust.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from flowprobe.errors import SettingsError, SummaryFileError
from flowprobe.load.summary import PERCENTILE_NAMES, LoadSummary, ThresholdOutcome

LATENCIES = (
    "time_to_first_token",
    "inter_token_latency",
    "time_per_output_token",
    "time_to_first_byte",
    "end_to_end",
)
RATES = ("calls_per_s", "goodput_per_s", "tokens_per_s")
ERROR_RATE = "error_rate"
METRICS = (*LATENCIES, ERROR_RATE, *RATES)
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_EXAMPLES = "e.g. time_to_first_token.p95<800ms, end_to_end.p99<=2s, error_rate<1%, calls_per_s>5"
_COMPARISON = re.compile(r"<=|>=|==|!=|<|>|=")
_VALUE = re.compile(r"(?P<number>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>[a-z%/]*)")
_TO_MS = {"": 1.0, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class Threshold:
    """One parsed threshold: ``limit`` is in ms for a latency, a fraction for the error rate
    and per second for a rate, whatever unit it was written in."""

    expression: str
    metric: str
    percentile: str | None
    comparison: str
    limit: float

    @property
    def name(self) -> str:
        """``time_to_first_token.p95`` or ``error_rate``."""
        return self.metric if self.percentile is None else f"{self.metric}.{self.percentile}"

    def holds(self, measured: float) -> bool:
        return OPERATORS[self.comparison](measured, self.limit)

    def judge(self, summary: LoadSummary) -> ThresholdOutcome:
        """Whether ``summary`` meets this threshold, with the value measured."""
        measured, missing = measure(self, summary)
        if measured is None:
            return ThresholdOutcome(
                expression=self.expression, measured=None, passed=False, detail=missing
            )
        passed = self.holds(measured)
        shown = show(self.metric, measured)
        if not passed:
            shown += f", not {self.comparison} {show(self.metric, self.limit)}"
        return ThresholdOutcome(
            expression=self.expression, measured=measured, passed=passed, detail=shown
        )


def parse(text: str, *, source: str = "--threshold") -> Threshold:
    """``NAME OP VALUE`` as a :class:`Threshold`; a :class:`SettingsError` naming ``source``
    and what is wrong otherwise."""
    expression = "".join(str(text).split())
    found = _COMPARISON.search(expression)
    if not expression or found is None:
        raise SettingsError(f"{source} {text!r} has no comparison: write NAME<VALUE, {_EXAMPLES}")
    comparison = found.group()
    if comparison not in OPERATORS:
        raise SettingsError(
            f"{source} {text!r}: the operator {comparison!r} is not one of <, <=, >, >= "
            "(a threshold is a limit, not an exact value)"
        )
    metric, percentile = _name(expression[: found.start()], text, source)
    limit = _limit(metric, expression[found.end() :], text, source)
    return Threshold(
        expression=expression,
        metric=metric,
        percentile=percentile,
        comparison=comparison,
        limit=limit,
    )


def parse_all(texts: Iterable[str], *, source: str = "--threshold") -> tuple[Threshold, ...]:
    """Every threshold in ``texts``, parsed before anything runs."""
    return tuple(parse(text, source=source) for text in texts)


def _name(name: str, text: str, source: str) -> tuple[str, str | None]:
    metric, dot, percentile = name.partition(".")
    if metric not in METRICS:
        raise SettingsError(
            f"{source} {text!r}: unknown metric {metric!r}; known: {', '.join(METRICS)}"
        )
    if metric in LATENCIES and percentile not in PERCENTILE_NAMES:
        wanted = ", ".join(PERCENTILE_NAMES)
        got = f"unknown percentile {percentile!r}" if dot else "no percentile"
        raise SettingsError(
            f"{source} {text!r}: {got}; a latency takes one of {wanted}, e.g. {metric}.p95<800ms"
        )
    if metric not in LATENCIES and dot:
        raise SettingsError(f"{source} {text!r}: {metric} is one figure and takes no percentile")
    return metric, percentile or None


def _limit(metric: str, value: str, text: str, source: str) -> float:
    found = _VALUE.fullmatch(value)
    if found is None:
        raise SettingsError(
            f"{source} {text!r}: {value!r} is not a number with a unit, {_EXAMPLES}"
        )
    number, unit = float(found["number"]), found["unit"]
    if metric in LATENCIES:
        if unit not in _TO_MS:
            raise SettingsError(
                f"{source} {text!r}: unknown unit {unit!r}; a latency takes ms or s"
            )
        return number * _TO_MS[unit]
    if metric == ERROR_RATE:
        if unit not in ("", "%"):
            raise SettingsError(
                f"{source} {text!r}: unknown unit {unit!r}; the error rate takes % or a fraction"
            )
        limit = number / 100 if unit == "%" else number
        if limit > 1:
            raise SettingsError(f"{source} {text!r}: an error rate is at most 100% (1.0)")
        return limit
    if unit not in ("", "/s"):
        raise SettingsError(
            f"{source} {text!r}: unknown unit {unit!r}; {metric} is a number per second"
        )
    return number


def measure(threshold: Threshold, summary: LoadSummary) -> tuple[float | None, str]:
    """The figure ``threshold`` limits, from ``summary``; ``None`` and why when the run has
    none."""
    metric = threshold.metric
    if not summary.requests:
        return None, "no data: no call completed"
    if metric in LATENCIES:
        entry = summary.metrics_ms.get(metric)
        if entry is None or entry.count == 0:
            why = " (a non-streaming run has no tokens)" if "token" in metric else ""
            return None, f"no data: the run measured no {metric}{why}"
        return float(entry.percentile(threshold.percentile or "p50")), ""
    if metric == ERROR_RATE:
        return summary.error_rate, ""
    if metric == "tokens_per_s" and not summary.tokens:
        return None, "no data: the run counted no tokens (a non-streaming run has none)"
    rates = {
        "calls_per_s": summary.requests_per_s,
        "goodput_per_s": summary.goodput_per_s,
        "tokens_per_s": summary.tokens_per_s,
    }
    return rates[metric], ""


def show(metric: str, value: float) -> str:
    """``812 ms``, ``1.50%`` or ``5.20/s``: a measured value in its metric's unit."""
    if metric in LATENCIES:
        return f"{value:.0f} ms" if value >= 10 or value == int(value) else f"{value:.1f} ms"
    if metric == ERROR_RATE:
        return f"{value:.2%}"
    return f"{value:.2f}/s"


def apply(summary: LoadSummary, thresholds: Iterable[Threshold]) -> LoadSummary:
    """``summary`` with each threshold's outcome; a broken one fails it, with the reason."""
    outcomes = tuple(threshold.judge(summary) for threshold in thresholds)
    broken = [f"threshold {o.expression} broken: {o.detail}" for o in outcomes if not o.passed]
    reasons = (*summary.reasons, *broken)
    return replace(
        summary, thresholds=outcomes, passed=summary.passed and not broken, reasons=reasons
    )


def judge_file(
    path: Path, thresholds: Iterable[Threshold], *, also: Path | None = None
) -> LoadSummary:
    """The summary a run wrote at ``path``, judged against ``thresholds`` and written back
    there (and to ``also`` when given), so that the file holds what the end-of-run table
    shows."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SummaryFileError(f"the load run wrote no summary ({path})") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SummaryFileError(
            f"the load run's summary {path} is not readable JSON: {exc}"
        ) from None
    summary = apply(
        LoadSummary.from_json(document, source=f"the load run's summary {path}"), thresholds
    )
    text = json.dumps(summary.to_json(), indent=2) + "\n"
    for target in (path, also):
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return summary
