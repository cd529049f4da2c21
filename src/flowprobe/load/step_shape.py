"""Load shapes: a step shape read from FLOWPROBE_LOAD_STEPS (``users:seconds,...``)."""

from __future__ import annotations

from locust import LoadTestShape

from flowprobe.load.config import load_config


class StepShape(LoadTestShape):
    """Hold each step's user count for its seconds, then stop (the run is always bounded)."""

    abstract = True

    def tick(self) -> tuple[int, float] | None:
        elapsed = float(self.get_run_time())  # type: ignore[no-untyped-call]
        for users, seconds in load_config().steps:
            if elapsed < seconds:
                return users, float(max(users, 1))
            elapsed -= seconds
        return None
