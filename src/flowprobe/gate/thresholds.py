"""How much worse a run may get before ``flowprobe gate`` calls it a regression.

Each threshold is relative and absolute together, and a regression must exceed both: a 30 %
rise of a 15 ms inter-token latency (4.5 ms) is a wobble, not a regression. Names are the
gate's metric names (``time_to_first_token.p95``, ``requests_per_s``); a name without a
percentile (``time_to_first_token``) sets every percentile of that metric.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flowprobe.errors import SettingsError

LATENCY_METRICS = (
    "time_to_first_token",
    "time_to_first_byte",
    "inter_token_latency",
    "time_per_output_token",
    "end_to_end",
)
PERCENTILES = ("p50", "p90", "p95", "p99")
# Metrics where a drop, not a rise, is the regression.
LOWER_IS_WORSE = frozenset({"requests_per_s", "tokens_per_s"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Threshold:
    """A regression must be worse by more than ``relative`` (0.2 = 20 %) AND ``absolute``."""

    relative: float
    absolute: float

    def limit(self, baseline: float, *, lower_is_worse: bool = False) -> float:
        """The worst value that still passes, given the baseline's value."""
        if lower_is_worse:
            return min(baseline * (1 - self.relative), baseline - self.absolute)
        return max(baseline * (1 + self.relative), baseline + self.absolute)


def _latency_defaults() -> dict[str, Threshold]:
    fast = {"inter_token_latency", "time_per_output_token"}  # tens of ms: a smaller floor
    defaults = {}
    for metric in LATENCY_METRICS:
        floor = 10.0 if metric in fast else 50.0
        for percentile in PERCENTILES:
            tail = percentile == "p99"
            defaults[f"{metric}.{percentile}"] = Threshold(
                relative=0.3 if tail else 0.2, absolute=floor * 2 if tail else floor
            )
    return defaults


DEFAULTS: Mapping[str, Threshold] = {
    **_latency_defaults(),
    "requests_per_s": Threshold(relative=0.2, absolute=0.1),
    "tokens_per_s": Threshold(relative=0.2, absolute=1.0),
    "error_rate": Threshold(relative=0.5, absolute=0.01),
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every gated metric's threshold: the defaults, then overrides by metric or metric.pNN."""

    overrides: Mapping[str, Threshold] = field(default_factory=dict)

    def for_metric(self, name: str) -> Threshold:
        """The threshold of ``name``: its own override, its metric's, else the default."""
        metric = name.split(".", 1)[0]
        found = self.overrides.get(name) or self.overrides.get(metric) or DEFAULTS.get(name)
        if found is None:
            raise SettingsError(f"no threshold for {name!r}: give one with --threshold")
        return found

    def merged(self, more: Mapping[str, Threshold]) -> Thresholds:
        return replace(self, overrides={**self.overrides, **more})


def parse_threshold(name: str, value: Any) -> Threshold:
    """``{"relative": 0.2, "absolute": 50}``, or the text ``"20%,50"``."""
    given = value
    try:
        if isinstance(value, str):
            relative, _, absolute = value.partition(",")
            value = {"relative": float(relative.strip().rstrip("%")) / 100, "absolute": absolute}
        threshold = Threshold(relative=float(value["relative"]), absolute=float(value["absolute"]))
    except (TypeError, KeyError, ValueError):
        raise SettingsError(
            f"threshold {name!r} must be REL%,ABS (e.g. 20%,50) or "
            '{"relative": 0.2, "absolute": 50}, not ' + repr(given)
        ) from None
    if threshold.relative < 0 or threshold.absolute < 0:
        raise SettingsError(f"threshold {name!r} must not be negative")
    return threshold


def _known(name: str) -> str:
    metric = name.split(".", 1)[0]
    known = {k.split(".", 1)[0] for k in DEFAULTS}
    if name not in DEFAULTS and metric not in known:
        raise SettingsError(f"unknown metric {name!r} in thresholds; known: {sorted(known)}")
    return name


def read_thresholds(path: Path) -> Thresholds:
    """A JSON file ``{"time_to_first_token.p95": {"relative": 0.1, "absolute": 20}, ...}``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"thresholds file {path} cannot be read as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"thresholds file {path} must hold a JSON object")
    return Thresholds({_known(str(k)): parse_threshold(str(k), v) for k, v in data.items()})


def from_options(options: tuple[str, ...]) -> dict[str, Threshold]:
    """``--threshold NAME=REL%,ABS`` options, e.g. ``time_to_first_token.p95=10%,20``."""
    found = {}
    for option in options:
        name, sign, value = option.partition("=")
        if not sign:
            raise SettingsError(f"--threshold {option!r} must be NAME=REL%,ABS")
        name = _known(name.strip())
        found[name] = parse_threshold(name, value)
    return found
