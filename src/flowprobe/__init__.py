"""flowprobe: contract tests and load tests for Langflow's run API."""

from __future__ import annotations

import importlib.metadata

from flowprobe.contracts.validation import Violation, check, violations
from flowprobe.errors import ContractViolation, FlowprobeError, SettingsError, TargetError
from flowprobe.settings import Settings, load_settings
from flowprobe.target import Target
from flowprobe.wire.client import (
    AsyncRunClient,
    Deadlines,
    RunClient,
    RunResult,
    StreamedRun,
    run_body,
)
from flowprobe.wire.stream import StreamEvent, StreamOutcome, StreamParser, StreamSummary, summarize

try:
    __version__ = importlib.metadata.version("flowprobe")
except importlib.metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "AsyncRunClient",
    "ContractViolation",
    "Deadlines",
    "FlowprobeError",
    "RunClient",
    "RunResult",
    "Settings",
    "SettingsError",
    "StreamEvent",
    "StreamOutcome",
    "StreamParser",
    "StreamSummary",
    "StreamedRun",
    "Target",
    "TargetError",
    "Violation",
    "check",
    "load_settings",
    "run_body",
    "summarize",
    "violations",
]
