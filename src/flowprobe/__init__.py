"""flowprobe: contract tests and load tests for Langflow's run API."""

from __future__ import annotations

from flowprobe.client import AsyncRunClient, Deadlines, RunClient, RunResult, StreamedRun, run_body
from flowprobe.contracts import Violation, check, violations
from flowprobe.errors import ContractViolation, FlowprobeError, SettingsError, TargetError
from flowprobe.settings import Settings, load_settings
from flowprobe.stream import StreamEvent, StreamOutcome, StreamParser, StreamSummary, summarize
from flowprobe.target import Target

__version__ = "0.1.0"

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
