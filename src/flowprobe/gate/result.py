"""The gate's verdicts: one :class:`Comparison` per metric, and the :class:`GateResult` of a run.

Rendered three ways from the same data: text for a terminal, Markdown for a pull request or a
CI summary, JSON for tools (``flowprobe check`` reuses all three).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from flowprobe.gate.thresholds import LOWER_IS_WORSE, Threshold

FAILING = ("regression", "missing")
_ORDER = ("regression", "missing", "unproven", "pass")


def _sure(confidence: float) -> str:
    """A confidence as a percentage that never rounds up to a certainty."""
    if confidence <= 0:
        return "< 25 %"  # not even one-sided bounds at 50 % each (see flowprobe.gate.noise)
    shown = math.floor(confidence * 1000) / 10
    return "> 99.9 %" if shown >= 99.9 else f"{shown:g} %"


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """One metric of the run against the baseline.

    ``verdict``: ``pass`` (within the threshold), ``regression`` (beyond the threshold with at
    least the required confidence), ``unproven`` (beyond it, but within run-to-run noise) or
    ``missing`` (measured in the baseline, not in the run). ``confidence`` is how sure it is
    that the run is worse than the threshold allows (0 when the samples do not suggest it);
    ``limit`` is the worst value that passes; ``exact`` is False when samples were rebuilt from
    an older summary's percentiles; ``samples`` counts (baseline, run).
    """

    name: str
    unit: str
    baseline: float
    new: float | None
    threshold: Threshold
    limit: float
    verdict: str
    confidence: float
    exact: bool = True
    samples: tuple[int, int] = (0, 0)
    note: str = ""

    @classmethod
    def missing(
        cls, name: str, unit: str, baseline: float, threshold: Threshold, limit: float
    ) -> Comparison:
        return cls(
            name=name,
            unit=unit,
            baseline=baseline,
            new=None,
            threshold=threshold,
            limit=limit,
            verdict="missing",
            confidence=1.0,
        )

    @property
    def lower_is_worse(self) -> bool:
        return self.name in LOWER_IS_WORSE

    @property
    def change(self) -> float | None:
        """Relative change from the baseline (0.59 = +59 %), None if undefined."""
        if self.new is None or not self.baseline:
            return None
        return self.new / self.baseline - 1

    def label(self) -> str:
        """``p95 time_to_first_token`` for a percentile, the name itself otherwise."""
        metric, _, percentile = self.name.partition(".")
        return f"{percentile} {metric}" if percentile else metric

    def show(self, value: float | None) -> str:
        if value is None:
            return "not measured"
        if self.name == "error_rate":
            return f"{value:.2%}"
        if self.unit == "ms":
            return f"{value:.0f} ms"
        return f"{value:.2f}{self.unit}"

    def threshold_text(self) -> str:
        sign = "-" if self.lower_is_worse else "+"
        absolute = (
            f"{self.threshold.absolute * 100:g} percentage points"
            if self.name == "error_rate"
            else f"{self.threshold.absolute:g} {self.unit}".replace(" /s", "/s")
        )
        return f"{sign}{self.threshold.relative * 100:g} % and {sign}{absolute}"

    def confidence_text(self) -> str:
        """How sure the regression is, as a percentage that never rounds up to a certainty."""
        return _sure(self.confidence)

    def change_text(self) -> str:
        change = self.change
        return "n/a" if change is None else f"{change * 100:+.0f} %"

    def outcome(self, level: float) -> str:
        if self.verdict == "regression":
            return f"regression with {_sure(self.confidence)} confidence"
        if self.verdict == "missing":
            return "regression: measured in the baseline but not in this run"
        if self.verdict == "unproven":
            why = f"; {self.note}" if self.note else ""
            return (
                f"beyond the threshold but within run-to-run noise (a regression only "
                f"{_sure(self.confidence)} sure, {level * 100:g} % required{why})"
            )
        return "within the threshold"

    def describe(self, level: float) -> str:
        """``p95 time_to_first_token 412 ms -> 655 ms (+59 %, threshold +20 % and +50 ms);
        regression with 97 % confidence``."""
        return (
            f"{self.label()} {self.show(self.baseline)} -> {self.show(self.new)} "
            f"({self.change_text()}, threshold {self.threshold_text()}); {self.outcome(level)}"
        )

    def to_dict(self) -> dict[str, Any]:
        shown = asdict(self)
        shown.update(change=self.change, samples=list(self.samples))
        return shown


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    """All comparisons of one run with its baseline; ``passed`` unless one failed."""

    comparisons: tuple[Comparison, ...]
    confidence: float
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not any(c.verdict in FAILING for c in self.comparisons)

    def failures(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.verdict in FAILING]

    def reasons(self) -> list[str]:
        """One sentence per failure, naming the metric, both values and the threshold."""
        return [c.describe(self.confidence) for c in self.failures()]

    def headline(self) -> str:
        failed = len(self.failures())
        counted = (
            f"{len(self.comparisons)} metrics compared at {self.confidence * 100:g} % confidence"
        )
        return (
            f"gate FAILED: {failed} regression(s); {counted}"
            if failed
            else f"gate passed: {counted}"
        )

    def to_text(self) -> str:
        """A terminal report: the headline, failures first, then every other metric."""
        ordered = sorted(self.comparisons, key=lambda c: _ORDER.index(c.verdict))
        lines = [self.headline()]
        lines += [f"  {c.verdict.upper():<10} {c.describe(self.confidence)}" for c in ordered]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """A Markdown table of every comparison, headed by the verdict."""
        lines = [
            f"**{self.headline()}**",
            "",
            "| metric | baseline | new | change | threshold | verdict | confidence |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for c in self.comparisons:
            lines.append(
                f"| {c.label()} | {c.show(c.baseline)} | {c.show(c.new)} | {c.change_text()} | "
                f"{c.threshold_text()} | {c.verdict} | {c.confidence_text()} |"
            )
        lines += ["", *(f"- {note}" for note in self.notes)] if self.notes else []
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "confidence_required": self.confidence,
            "reasons": self.reasons(),
            "notes": list(self.notes),
            "comparisons": [c.to_dict() for c in self.comparisons],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"
