"""Per-process state of a load run, kept on the locust environment (no module globals)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from flowprobe.load.arrivals import ArrivalSchedule
from flowprobe.load.config import RunSetup, load_run_setup

_ATTRIBUTE = "flowprobe_load"


@dataclass(slots=True)
class WorkerState:
    """The resolved settings, the arrival schedule and what the validity checks collect.

    ``worker_index`` and ``workers`` say which share of the arrival rate this process takes:
    a master tells each of its workers at the start of a run (see
    :mod:`flowprobe.load.distributed`); a run in one process takes all of it.
    """

    setup: RunSetup
    worker_index: int = 0
    workers: int = 1
    cpu_samples: list[float] = field(default_factory=list)
    measuring_since: float | None = None
    failure_kinds_logged: set[str] = field(default_factory=set)
    refused: str | None = None  # why the run was stopped at its start
    _schedule: ArrivalSchedule | None = None

    def share(self, *, index: int, workers: int) -> None:
        """Take share ``index`` of ``workers`` equal shares of the arrival rate from now on."""
        self.worker_index, self.workers = index, max(workers, 1)
        self._schedule = None

    def schedule(self) -> ArrivalSchedule:
        """This process's share of the arrival rate (the total divided by the workers)."""
        if self._schedule is None:
            config = self.setup.config
            self._schedule = ArrivalSchedule(
                rate=config.arrival_rate / self.workers,
                poisson=config.arrival == "poisson",
                tolerance=config.arrival_tolerance,
                seed=config.seed + self.worker_index,
            )
        return self._schedule


def worker_state(environment: Any) -> WorkerState:
    """The run's context, created from the environment variables on first use.

    A host given to locust (``-H``/``--host``, or the web UI's host field) wins over
    FLOWPROBE_BASE_URL, as a command-line option wins over an environment variable.
    """
    context: WorkerState | None = getattr(environment, _ATTRIBUTE, None)
    if context is None:
        env = dict(os.environ)
        host = getattr(environment, "host", None)
        if host:
            env["FLOWPROBE_BASE_URL"] = host
        runner = getattr(environment, "runner", None)
        context = WorkerState(
            load_run_setup(env), worker_index=getattr(runner, "worker_index", 0) or 0
        )
        pending = getattr(environment, "flowprobe_pending_share", None)
        if pending is not None:
            context.share(index=pending[0], workers=pending[1])
        setattr(environment, _ATTRIBUTE, context)
    return context
