"""Contract drift between two recordings of the run API (see :mod:`.compare`)."""

from __future__ import annotations

from flowprobe.drift.compare import (
    Call,
    Change,
    DriftReport,
    Pairing,
    Recording,
    compare,
    load_recording,
    pair_calls,
    record_live,
    require_loopback,
)

__all__ = [
    "Call",
    "Change",
    "DriftReport",
    "Pairing",
    "Recording",
    "compare",
    "load_recording",
    "pair_calls",
    "record_live",
    "require_loopback",
]
