"""Per-process state of a load run, kept on the locust environment (no module globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowprobe.load.arrivals import ArrivalSchedule
from flowprobe.load.config import RunSetup, load_run_setup

_ATTRIBUTE = "flowprobe_load"


@dataclass(slots=True)
class WorkerState:
    """The resolved settings, the arrival schedule and what the validity checks collect."""

    setup: RunSetup
    worker_index: int = 0
    cpu_samples: list[float] = field(default_factory=list)
    measuring_since: float | None = None
    failure_kinds_logged: set[str] = field(default_factory=set)
    _schedule: ArrivalSchedule | None = None

    def schedule(self) -> ArrivalSchedule:
        """This process's share of the arrival rate (the total divided by the workers)."""
        if self._schedule is None:
            config = self.setup.config
            self._schedule = ArrivalSchedule(
                rate=config.arrival_rate / config.workers,
                poisson=config.arrival == "poisson",
                tolerance=config.arrival_tolerance,
                seed=config.seed + self.worker_index,
            )
        return self._schedule


def worker_state(environment: Any) -> WorkerState:
    """The run's context, created from the environment variables on first use."""
    context: WorkerState | None = getattr(environment, _ATTRIBUTE, None)
    if context is None:
        runner = getattr(environment, "runner", None)
        context = WorkerState(
            load_run_setup(), worker_index=getattr(runner, "worker_index", 0) or 0
        )
        setattr(environment, _ATTRIBUTE, context)
    return context
