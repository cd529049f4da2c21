"""Contract drift between two recordings of the run API: what changed that clients read.

Read a cassette set with :func:`load_recording`, or replay its calls against a live target with
:func:`record_live`; :func:`compare` pairs the calls and returns a ranked :class:`DriftReport`
(see :mod:`.compare` for what is breaking and how changes are ranked).
"""

from __future__ import annotations

from flowprobe.drift.calls import Call, Recording, load_recording
from flowprobe.drift.compare import Pairing, compare, pair_calls
from flowprobe.drift.replay import record_live, replay_target
from flowprobe.drift.report import Change, DriftReport

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
    "replay_target",
]
