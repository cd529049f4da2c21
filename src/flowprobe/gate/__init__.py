"""The gate: compare a load run with a baseline (see :mod:`.compare`)."""

from __future__ import annotations

from flowprobe.gate.compare import Comparison, GateResult, Threshold, Thresholds, compare

__all__ = ["Comparison", "GateResult", "Threshold", "Thresholds", "compare"]
