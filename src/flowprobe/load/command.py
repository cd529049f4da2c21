"""Command lines for headless locust runs, built in one place.

``flowprobe load``, the sweep, the benchmarks and flowprobe's own load tests all start locust
in a subprocess (``import locust`` patches the standard library through gevent, so it never
runs inside their process). They differ only in the options below. This module does not import
locust.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LOCUST = (sys.executable, "-m", "locust")


@dataclass(frozen=True, slots=True, kw_only=True)
class LocustRun:
    """One bounded headless locust run: which users, how many, for how long, what it writes."""

    locustfiles: Sequence[str | Path]
    user_classes: Sequence[str]
    users: int = 1
    spawn_rate: float | None = None  # default: every user at once
    run_time_s: float = 10.0
    csv_prefix: str | Path | None = None
    html: str | Path | None = None
    loglevel: str | None = None
    host: str | None = None
    stop_timeout_s: float | None = None
    full_history: bool = False  # every entry's percentiles each second in the history CSV
    processes: int | None = None  # locust's --processes: a master and this many workers

    def _common(self) -> list[str]:
        return ["-f", ",".join(str(f) for f in self.locustfiles)]

    def _outputs(self) -> list[str]:
        shown: list[str] = []
        if self.csv_prefix is not None:
            shown += ["--csv", str(self.csv_prefix)]
        if self.csv_prefix is not None and self.full_history:
            shown.append("--csv-full-history")
        if self.html is not None:
            shown += ["--html", str(self.html)]
        if self.loglevel is not None:
            shown += ["--loglevel", self.loglevel]
        if self.host is not None:
            shown += ["--host", self.host]
        if self.stop_timeout_s is not None:
            shown += ["--stop-timeout", _number(self.stop_timeout_s)]
        return shown

    def _load(self) -> list[str]:
        spawn_rate = self.users if self.spawn_rate is None else self.spawn_rate
        processes = [] if self.processes is None else ["--processes", str(self.processes)]
        return [
            *processes,
            *("--headless", "-u", str(self.users), "-r", _number(spawn_rate)),
            *("-t", f"{_number(self.run_time_s)}s", "--only-summary"),
        ]

    def command(self) -> list[str]:
        """A run in one process."""
        return [*LOCUST, *self._common(), *self._load(), *self._outputs(), *self.user_classes]

    def master_command(self, *, port: int, workers: int, wait_s: float = 20.0) -> list[str]:
        """The master of a distributed run on loopback; it waits for ``workers`` workers."""
        distributed = [
            *("--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)),
            *("--expect-workers", str(workers), "--expect-workers-max-wait", _number(wait_s)),
        ]
        return [
            *LOCUST,
            *self._common(),
            *distributed,
            *self._load(),
            *self._outputs(),
            *self.user_classes,
        ]

    def worker_command(self, *, port: int) -> list[str]:
        """A worker of a distributed run, for the master on 127.0.0.1:``port``."""
        distributed = ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
        return [*LOCUST, *self._common(), *distributed, *self.user_classes]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
