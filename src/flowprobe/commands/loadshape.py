"""The load-shape options ``flowprobe load`` and ``flowprobe check`` share, defined once.

``@load_shape_options`` adds them to a command and hands the command one :class:`LoadShape`
(as ``shape=``) instead of a dozen arguments; :meth:`LoadShape.refuse_ignored` refuses every
option that would not apply, with the reason, before anything runs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from flowprobe.commands.common import Duration, F, run_time_option, users_option
from flowprobe.errors import SettingsError
from flowprobe.load.config import env_name, think_time_range
from flowprobe.load.launch import LaunchPlan
from flowprobe.load.thresholds import Threshold, parse_all
from flowprobe.settings import load_settings

_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--open-loop", is_flag=True, help="start calls at --rate per second (-u is the pool)"
    ),
    click.option(
        "--rate", type=click.FloatRange(min=0, min_open=True), default=None, help="arrivals/s"
    ),
    users_option,
    click.option("-r", "--spawn-rate", type=click.FloatRange(min=0, min_open=True), default=2.0),
    run_time_option,
    click.option("--steps", default=None, help="step shape users:seconds,... instead of -u/-t"),
    click.option(
        "--input", "input_value", default=None, help="the input_value sent [default: hello]"
    ),
    click.option("--tweaks", default=None, help="tweaks as a JSON object"),
    click.option(
        "--warmup", type=Duration(0, 3600), default=None, help="left out at the start: 10, 10s, 1m"
    ),
    click.option(
        "--think-time",
        "--wait",
        "think_time",
        default=None,
        metavar="LOW-HIGH",
        help="closed loop: each user's pause after an answer, e.g. 0.5-1.0, 500ms-2s, 0 "
        "[default: 0.5-1.0]",
    ),
    click.option(
        "--threshold",
        "thresholds",
        multiple=True,
        metavar="EXPR",
        help="a limit the run must meet, e.g. 'time_to_first_token.p95<800ms', "
        "'error_rate<1%', 'calls_per_s>5' (repeatable) [default: thresholds in "
        "FLOWPROBE_THRESHOLDS or [tool.flowprobe]]",
    ),
    click.option(
        "--summary-json",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="also write the judged summary (thresholds and verdict included) to this file",
    ),
]
_NAMES = (
    "open_loop",
    "rate",
    "users",
    "spawn_rate",
    "run_time",
    "steps",
    "input_value",
    "tweaks",
    "warmup",
    "think_time",
    "thresholds",
    "summary_json",
)
_FLAGS = {
    "open_loop": "--open-loop",
    "rate": "--rate",
    "users": "-u",
    "spawn_rate": "-r",
    "run_time": "-t",
    "steps": "--steps",
    "input_value": "--input",
    "tweaks": "--tweaks",
    "warmup": "--warmup",
    "think_time": "--think-time",
    "thresholds": "--threshold",
    "summary_json": "--summary-json",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadShape:
    """How a load run is generated and judged, as given on the command line."""

    open_loop: bool
    rate: float | None
    users: int
    spawn_rate: float
    run_time: int
    steps: str | None
    input_value: str | None
    tweaks: str | None
    warmup: float | None
    think_time: str | None
    thresholds: tuple[str, ...]
    summary_json: Path | None
    given: frozenset[str] = frozenset()

    def flags_given(self) -> list[str]:
        """The options the user set, as written (``-u``, ``--threshold``)."""
        return [_FLAGS[name] for name in _NAMES if name in self.given]

    def settings(self) -> dict[str, str | None]:
        """The options that travel to locust as ``FLOWPROBE_LOAD_*`` variables."""
        return {
            "arrival_rate": None if self.rate is None else str(self.rate),
            "steps": self.steps,
            "input": self.input_value,
            "tweaks": self.tweaks,
            "warmup": None if self.warmup is None else str(self.warmup),
            "think_time": self.think_time,
        }

    def environment(self) -> dict[str, str]:
        return {env_name(k): v for k, v in self.settings().items() if v}

    def plan(self, scenario: str, out: Path) -> LaunchPlan:
        return LaunchPlan(
            scenario=scenario,
            open_loop=self.open_loop,
            users=self.users,
            spawn_rate=self.spawn_rate,
            run_time_s=self.run_time,
            steps=self.steps,
            out=out,
        )

    def refuse_ignored(self, env: Mapping[str, str] | None = None) -> None:
        """Every option either applies or is refused with the reason: none is silently
        ignored."""
        env = os.environ if env is None else env
        if self.rate is not None and not self.open_loop:
            raise click.UsageError("--rate applies only to an open-loop run: add --open-loop")
        if self.warmup is not None and self.steps is None and self.warmup >= self.run_time:
            raise click.UsageError(
                f"--warmup {self.warmup:g} s leaves nothing of a {self.run_time} s run (-t) "
                "to measure"
            )
        self._refuse_bad_steps()
        self._refuse_bad_think_time(env)

    def _refuse_bad_steps(self) -> None:
        if self.steps is None:
            return
        for part in self.steps.split(","):
            users, _, seconds = part.strip().partition(":")
            if not (users.isdigit() and int(users) >= 1 and _positive_number(seconds)):
                raise click.UsageError(
                    f"--steps {self.steps!r}: each step is USERS:SECONDS with at least 1 user "
                    f"and more than 0 seconds (got {part.strip()!r})"
                )

    def _refuse_bad_think_time(self, env: Mapping[str, str]) -> None:
        from_env = env.get(env_name("think_time"))
        if self.open_loop and (self.think_time is not None or from_env):
            where = "--think-time" if self.think_time is not None else env_name("think_time")
            raise click.UsageError(
                f"{where} applies only to a closed-loop run: an open-loop run starts calls at "
                "--rate whatever the answers, so no user pauses between them"
            )
        if self.think_time is not None:
            try:
                think_time_range(self.think_time)
            except ValueError as exc:
                raise click.UsageError(f"--think-time {exc}") from None

    def judged_by(self, env: Mapping[str, str]) -> tuple[Threshold, ...]:
        """The thresholds: ``--threshold`` options, else the ``thresholds`` setting
        (FLOWPROBE_THRESHOLDS, else ``thresholds = [...]`` in ``[tool.flowprobe]``)."""
        if self.thresholds:
            return parse_all(self.thresholds, source="--threshold")
        settings = load_settings(env=env)
        texts = settings.get("thresholds") or ()
        source = {
            "environment": "FLOWPROBE_THRESHOLDS",
            "pyproject.toml [tool.flowprobe]": "thresholds in [tool.flowprobe]",
        }.get(settings.describe("thresholds"), "thresholds")
        return parse_all(texts, source=source)


def _positive_number(text: str) -> bool:
    try:
        return 0 < float(text) < float("inf")
    except ValueError:
        return False


def load_shape_options(func: F) -> F:
    """Add the load-shape options to a command; it receives them as one ``shape=LoadShape``."""

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        values = {name: kwargs.pop(name) for name in _NAMES}
        given = frozenset(
            name
            for name in _NAMES
            if ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
        )
        return func(*args, shape=LoadShape(**values, given=given), **kwargs)

    for option in reversed(_OPTIONS):
        command = option(command)
    return command  # type: ignore[return-value]


def refuse_no_load(shape: LoadShape, also: list[str] | None = None) -> None:
    """``--no-load`` with a load option (or one of ``also``): the option would not apply."""
    given = [*shape.flags_given(), *(also or [])]
    if given:
        raise SettingsError(
            f"--no-load runs no load, so {', '.join(given)} would not apply: drop "
            f"{'it' if len(given) == 1 else 'them'} or --no-load"
        )
