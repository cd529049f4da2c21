"""Locust users, metrics and run reports for Langflow's run API.

The users, shapes and report import locust, which patches the standard library through gevent:
they are loaded on first access, so settings and arrival schedules can be used (and tested)
without locust. flowprobe's other modules never import this subpackage.
"""

from __future__ import annotations

import importlib
from typing import Any

from flowprobe.load.arrivals import ArrivalSchedule, Claim
from flowprobe.load.config import LoadConfig, load_config, load_run_setup
from flowprobe.load.failures import RunFailure

__all__ = [
    "ArrivalSchedule",
    "Claim",
    "LoadConfig",
    "OpenLoopRunUser",
    "OpenLoopStreamingRunUser",
    "RunFailure",
    "RunUser",
    "StepShape",
    "StreamingRunUser",
    "attach",
    "build_summary",
    "load_config",
    "load_run_setup",
]

_LAZY = {
    "OpenLoopRunUser": "users",
    "OpenLoopStreamingRunUser": "users",
    "RunUser": "users",
    "StreamingRunUser": "users",
    "StepShape": "step_shape",
    "attach": "report",
    "build_summary": "report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"flowprobe.load.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'flowprobe.load' has no attribute {name!r}")
