"""Load-run settings: what each virtual user sends and the limits that make a run valid.

Read from ``FLOWPROBE_LOAD_*`` environment variables (the ``flowprobe load`` command sets them
for its locust subprocess); the target itself comes from flowprobe's own settings
(``FLOWPROBE_BASE_URL``, ``FLOWPROBE_FLOW``, ``FLOWPROBE_API_KEY``), and so do the per-call
settings every flowprobe call honours: ``FLOWPROBE_TWEAKS`` (merged under the load tweaks) and
``FLOWPROBE_SESSION`` (used unless ``FLOWPROBE_LOAD_SESSION`` is set). This module does not
import locust, so settings can be checked before a run starts.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from flowprobe.errors import SettingsError
from flowprobe.load.inputs import ORDERS, parse_length_range
from flowprobe.redaction import REDACTED
from flowprobe.settings import BY_NAME, SESSION_FRESH, SESSION_NONE, Settings, load_settings
from flowprobe.target import Target
from flowprobe.wire.client import merge_tweaks

SESSION_MODES = ("per-user", "per-request", "none")
ARRIVALS = ("constant", "poisson")
ENV_PREFIX = "FLOWPROBE_LOAD_"
# Not a load setting: the switch that turns on the load tier of flowprobe's own tests.
_NOT_SETTINGS = frozenset({"FLOWPROBE_LOAD_TESTS"})


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object, e.g. {"Prompt-abc": {"template": "..."}}')
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError("must be a finite number >= 0")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise ValueError("must be a finite number above 0")
    return value


def _whole(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be a whole number >= 0")
    return value


def _steps(text: str) -> tuple[tuple[int, float], ...]:
    """``"2:10,4:10"``: 2 users for 10 s, then 4 users for 10 s."""
    steps = []
    for part in text.split(","):
        users, _, seconds = part.strip().partition(":")
        steps.append((_whole(users), _non_negative(seconds)))
    return tuple(steps)


_SECONDS = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|s)?")


def _seconds(text: str) -> float:
    """``0.5``, ``0.5s`` or ``500ms``, in seconds."""
    found = _SECONDS.fullmatch(text.strip().lower())
    if found is None:
        raise ValueError(f"{text.strip()!r} is not a time such as 0.5, 0.5s or 500ms")
    return float(found[1]) / (1000 if found[2] == "ms" else 1)


def think_time_range(text: str) -> tuple[float, float]:
    """``0.5-1.0`` (a wait drawn evenly between, as locust's ``between``), ``500ms-1s``, or one
    time (``1s``: always that long); at most 60 s."""
    low, dash, high = text.strip().partition("-")
    bounds = (_seconds(low), _seconds(high) if dash else _seconds(low))
    if bounds[0] > bounds[1]:
        raise ValueError(f"{text.strip()!r} starts above where it ends: write LOW-HIGH")
    if bounds[1] > 60:
        raise ValueError(f"{text.strip()!r} waits past 60 s between calls")
    return bounds


def _session(text: str) -> str:
    if text not in SESSION_MODES and not text.startswith("fixed:"):
        raise ValueError(f"must be one of {', '.join(SESSION_MODES)} or fixed:<session id>")
    return text


def _arrival(text: str) -> str:
    if text not in ARRIVALS:
        raise ValueError(f"must be one of {', '.join(ARRIVALS)}")
    return text


def _inputs_order(text: str) -> str:
    if text not in ORDERS:
        raise ValueError(f"must be one of {', '.join(ORDERS)}")
    return text


def _input_length(text: str) -> str:
    parse_length_range(text)
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadConfig:
    """Everything a load run needs besides the target; every field has a FLOWPROBE_LOAD_ env."""

    input: str = "hello"
    tweaks: dict[str, Any] = field(default_factory=dict)
    session: str = "per-user"
    validate_every: int = 10
    max_error_rate: float = 0.01
    max_cpu_percent: float = 90.0
    max_missed_ratio: float = 0.01
    warmup: float = 0.0
    arrival_rate: float = 1.0
    arrival: str = "constant"
    arrival_tolerance: float = 0.05
    workers: int = 1
    seed: int = 0
    steps: tuple[tuple[int, float], ...] = ((1, 5.0), (2, 5.0))
    think_time: tuple[float, float] = (0.5, 1.0)
    slo_ttft_p95_ms: float = 2000.0
    slo_e2e_p95_ms: float = 10000.0
    summary: str = ""
    inputs: str = ""
    inputs_order: str = "sample"
    input_length: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "input": str,
    "tweaks": _json_object,
    "session": _session,
    "validate_every": _whole,
    "max_error_rate": _non_negative,
    "max_cpu_percent": _non_negative,
    "max_missed_ratio": _non_negative,
    "warmup": _non_negative,
    "arrival_rate": _positive,
    "arrival": _arrival,
    "arrival_tolerance": _non_negative,
    "workers": _whole,
    "seed": _whole,
    "steps": _steps,
    "think_time": think_time_range,
    "slo_ttft_p95_ms": _non_negative,
    "slo_e2e_p95_ms": _non_negative,
    "summary": str,
    "inputs": str,
    "inputs_order": _inputs_order,
    "input_length": _input_length,
}


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def load_config(env: Mapping[str, str] | None = None) -> LoadConfig:
    """Read every ``FLOWPROBE_LOAD_*`` variable; a bad value is a :class:`SettingsError`."""
    env = os.environ if env is None else env
    known = {env_name(f.name) for f in fields(LoadConfig)} | _NOT_SETTINGS
    unknown = sorted(k for k in env if k.startswith(ENV_PREFIX) and k not in known)
    if unknown:
        raise SettingsError(f"unknown load settings {unknown}; known: {sorted(known)}")
    values: dict[str, Any] = {}
    for item in fields(LoadConfig):
        raw = env.get(env_name(item.name))
        if raw is None or raw == "":
            continue
        try:
            values[item.name] = _PARSERS[item.name](raw)
        except ValueError as exc:
            raise SettingsError(f"{env_name(item.name)}={raw!r} is not valid: {exc}") from None
    config = LoadConfig(**values)
    if config.workers < 1:
        raise SettingsError(f"{env_name('workers')} must be at least 1")
    return config


@dataclass(frozen=True, slots=True)
class RunSetup:
    """The resolved target, flowprobe settings and load settings of one run."""

    target: Target
    settings: Settings
    config: LoadConfig

    def call_tweaks(self) -> dict[str, Any]:
        """The tweaks each call sends: the ``tweaks`` setting under the load run's own."""
        return merge_tweaks(self.settings.get("tweaks") or {}, self.config.tweaks)

    def redacted(self) -> dict[str, Any]:
        """Every setting, for reports: the API key and the tweaks setting (which often holds
        keys) never appear."""
        shown = {
            k: (REDACTED if BY_NAME[k].secret and v else v)
            for k, v in self.settings.values.items()
            if k != "api_key"
        }
        shown["api_key"] = REDACTED if self.target.api_key else None
        # The same settings serve streaming and non-streaming users: no ?stream= shown.
        target = self.target.describe(stream=None)
        return {"target": target, "flowprobe": shown, "load": self.config.as_dict()}


def _session_from_settings(session: str) -> str:
    """flowprobe's ``session`` setting in the load users' terms."""
    return {SESSION_FRESH: "per-request", SESSION_NONE: "none"}.get(session, f"fixed:{session}")


def load_run_setup(env: Mapping[str, str] | None = None) -> RunSetup:
    """Resolve target and load settings from the environment (and pyproject.toml).

    A ``session`` setting the user gave applies unless ``FLOWPROBE_LOAD_SESSION`` is set; left
    at its default, the load users keep their own default (one session per user).
    """
    env = os.environ if env is None else env
    settings = load_settings(env=env)
    config = load_config(env)
    if not env.get(env_name("session")) and settings.describe("session") != "default":
        config = replace(config, session=_session_from_settings(str(settings.get("session"))))
    return RunSetup(Target.from_settings(settings), settings, config)


def think_time(env: Mapping[str, str] | None = None) -> Callable[[Any], float]:
    """A closed-loop user's ``wait_time``: FLOWPROBE_LOAD_THINK_TIME (default 0.5-1 s), drawn
    evenly between its bounds as locust's ``between`` does, without importing locust here."""
    low, high = load_config(env).think_time

    def wait_time(_user: Any) -> float:
        return low + random.random() * (high - low)  # pacing, not a secret

    return wait_time
