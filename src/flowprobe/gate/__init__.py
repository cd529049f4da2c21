"""The gate: compare a load run with a baseline; a regression must exceed its threshold and the
noise of both runs (see :mod:`.compare`)."""

from __future__ import annotations

from flowprobe.gate.baseline import read_summary, save_baseline
from flowprobe.gate.compare import compare
from flowprobe.gate.result import Comparison, GateResult
from flowprobe.gate.thresholds import Threshold, Thresholds

__all__ = [
    "Comparison",
    "GateResult",
    "Threshold",
    "Thresholds",
    "compare",
    "read_summary",
    "save_baseline",
]
