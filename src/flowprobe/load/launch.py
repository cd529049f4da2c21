"""Start one bounded headless load run in a locust subprocess and watch it to its end.

Used by ``flowprobe load`` and ``flowprobe check``. Settings travel to locust as
``FLOWPROBE_*`` environment variables and are checked by :mod:`flowprobe.load.preflight`
before locust starts; this module never imports locust.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from flowprobe.errors import SettingsError
from flowprobe.load.command import LocustRun
from flowprobe.resources import locate

SCENARIOS = {
    ("run", False): ("locustfile.py", "RunClosedLoop"),
    ("run", True): ("run_open_loop.py", "RunOpenLoop"),
    ("stream", False): ("streaming.py", "StreamClosedLoop"),
    ("stream", True): ("streaming_open_loop.py", "StreamOpenLoop"),
}
OVERRUN_GRACE_S = 40.0  # locust's own start-up, stop timeout and report writing
PROGRESS_TTY_EVERY_S = 1.0  # a terminal's line is rewritten in place
PROGRESS_LOG_EVERY_S = 10.0  # a log (CI) gets a new line, so fewer of them
# What a run writes next to its prefix; left from a previous run, they would be read as this one's.
OUTPUTS = (
    "_stats.csv",
    "_stats_history.csv",
    "_failures.csv",
    "_exceptions.csv",
    "_metrics.csv",
    "_metrics_history.csv",
    "_summary.json",
    ".html",
)
Say = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class LaunchPlan:
    """What to run: the scenario, its shape and where its outputs go."""

    scenario: str = "stream"
    open_loop: bool = False
    users: int = 2
    spawn_rate: float = 2.0
    run_time_s: int = 20
    steps: str | None = None
    processes: int | None = None  # locust's --processes: this many worker processes
    out: Path = Path(".flowprobe/load")

    @property
    def prefix(self) -> Path:
        return self.out / self.scenario

    @property
    def summary(self) -> Path:
        return Path(f"{self.prefix}_summary.json")

    @property
    def html(self) -> Path:
        return Path(f"{self.prefix}.html")

    @property
    def stats_csv(self) -> Path:
        return Path(f"{self.prefix}_stats.csv")

    @property
    def metrics_csv(self) -> Path:
        return Path(f"{self.prefix}_metrics.csv")

    def remove_stale_outputs(self) -> None:
        """Delete what an earlier run with the same prefix wrote."""
        for suffix in OUTPUTS:
            Path(f"{self.prefix}{suffix}").unlink(missing_ok=True)

    def bound_s(self) -> float:
        """How long locust may take in all before it is stopped."""
        steps_total = (
            sum(float(s.split(":")[1]) for s in self.steps.split(",")) if self.steps else 0
        )
        return max(self.run_time_s, steps_total) + OVERRUN_GRACE_S

    def command(self) -> list[str]:
        locustfile, user_class = SCENARIOS[(self.scenario, self.open_loop)]
        loadtests = locate("loadtests")
        files = [loadtests / locustfile] + ([loadtests / "steps.py"] if self.steps else [])
        return LocustRun(
            locustfiles=files,
            user_classes=[user_class],
            users=self.users,
            spawn_rate=self.spawn_rate,
            run_time_s=self.run_time_s,
            stop_timeout_s=10,
            csv_prefix=self.prefix,
            html=self.html,
            loglevel="WARNING",
            full_history=True,
            processes=self.processes,
        ).command()


def preflight(env: Mapping[str, str]) -> None:
    """Refuse bad load settings before anything starts (:class:`SettingsError`)."""
    check = subprocess.run(
        [sys.executable, "-m", "flowprobe.load.preflight"],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        raise SettingsError(check.stderr.strip().removeprefix("flowprobe load: bad settings: "))


def launch(
    plan: LaunchPlan,
    env: Mapping[str, str],
    say: Say,
    progress: Say,
    *,
    progress_every_s: float | None = None,
) -> int:
    """Run ``plan`` to its end (or its bound); locust's exit code, 1 if it overran.

    ``progress`` gets a line on the run so far every ``progress_every_s`` seconds: by default
    each second when stderr is a terminal (the line is rewritten in place), else every 10 s.
    """
    preflight(env)
    plan.out.mkdir(parents=True, exist_ok=True)
    plan.remove_stale_outputs()
    every_s = progress_every_s if progress_every_s is not None else progress_interval()
    command = plan.command()
    say("$ " + " ".join(command))
    process = subprocess.Popen(command, env=dict(env), stderr=subprocess.DEVNULL)
    started = time.monotonic()
    shown_at = -every_s
    try:
        while process.poll() is None:
            elapsed = time.monotonic() - started
            if elapsed > plan.bound_s():
                say(f"locust overran its {plan.bound_s():.0f} s bound; stopping it")
                process.terminate()
                process.wait(timeout=15)
                return 1
            if elapsed - shown_at >= every_s:
                shown_at = elapsed
                progress(progress_line(plan.stats_csv, elapsed, plan.metrics_csv))
            time.sleep(min(1.0, every_s))
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode


def progress_interval() -> float:
    """Seconds between progress lines: a terminal's line is rewritten, a log's lines add up."""
    return PROGRESS_TTY_EVERY_S if sys.stderr.isatty() else PROGRESS_LOG_EVERY_S


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except OSError:
        return []


def progress_line(stats_csv: Path, elapsed: float, metrics_csv: Path | None = None) -> str:
    """One line on the run so far, from locust's live CSV (the calls) and flowprobe's (the
    metrics); before either is written, a line that says so."""
    calls = [r for r in _rows(stats_csv) if r.get("Type") and r.get("Name") != "Aggregated"]
    measured = _rows(metrics_csv) if metrics_csv is not None else []
    ttft = next((r for r in measured if r.get("Name") == "time_to_first_token"), None)
    if not calls:
        return f"{elapsed:5.0f}s  requests 0 (waiting for the first answers)"
    shown = f"{elapsed:5.0f}s  requests {calls[0]['Request Count']}  failures "
    shown += f"{calls[0]['Failure Count']}  req/s {float(calls[0]['Requests/s']):.2f}"
    if ttft is not None:
        shown += f"  ttft p50 {ttft['50%']} ms"
    return shown
