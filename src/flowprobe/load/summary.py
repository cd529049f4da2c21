"""A load run's summary as data: what ``flowprobe load`` writes and the gate and check read.

:meth:`LoadSummary.from_json` checks a decoded ``<scenario>_summary.json`` against its JSON
Schema (``summary.schema.json``) and raises :class:`~flowprobe.errors.SummaryFileError` naming
the field that is wrong;
:meth:`LoadSummary.to_json` gives back the same JSON, key for key and in the same order, so a
summary or baseline read and written again is unchanged. Summaries written before format 2
(no ``format``, ``tokens``, histograms or ``settings.run``) read with those parts as ``None``.
This module does not import locust: the gate and ``flowprobe check`` read summaries without it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from flowprobe.errors import SummaryFileError
from flowprobe.load.inputs import by_input_length

# 2: entries carry their histogram, the run its token total and its shape.
SUMMARY_FORMAT = 2
PERCENTILE_NAMES = ("p50", "p90", "p95", "p99")


Json = Mapping[str, Any]
_TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "string": "a string",
    "object": "an object",
    "array": "a list of strings",  # every list a summary holds but its threshold outcomes
}


@cache
def _validator() -> Draft202012Validator:
    """The summary's JSON Schema (``summary.schema.json``, shipped beside this module)."""
    text = resources.files("flowprobe.load").joinpath("summary.schema.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def _problem(document: Any) -> str | None:
    """The most relevant way ``document`` is no summary, in words; None when it is one."""
    error = best_match(_validator().iter_errors(document))
    return None if error is None else _words(error)


def _words(error: ValidationError) -> str:
    steps = list(error.absolute_path)
    if steps and isinstance(steps[-1], int):  # an item of a list: the list is what is wrong
        items = "threshold outcomes" if steps[0] == "thresholds" else "strings"
        return f"{'.'.join(map(str, steps[:-1]))} must be a list of {items}"
    where = ".".join(map(str, steps))
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return "no " + ", ".join(f"{where}.{key}" if where else key for key in missing)
    if "propertyNames" in error.schema_path:
        return f"{where}.{error.instance} is not a number of milliseconds"
    if error.validator == "exclusiveMinimum":
        return f"{where} must be above {error.validator_value}"
    if error.validator == "type":
        wanted = error.validator_value
        kinds = wanted if isinstance(wanted, list) else [wanted]
        shown = [_TYPE_WORDS[kind] for kind in kinds if kind != "null"]
        if where == "thresholds":
            shown = ["a list of threshold outcomes"]
        return f"{where or 'the document'} must be {' or '.join(shown)}"
    return f"{where or 'the document'}: {error.message}"


def _bucket(text: str) -> float:
    """A histogram key: ``"480"`` reads as the int 480 so that it is written back as ``"480"``."""
    try:
        return int(text)
    except ValueError:
        return float(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One call or measurement: sample count, failures and the figures of its samples.

    Values are milliseconds (a token count for ``output_tokens``). ``min`` is ``None`` when
    locust kept no sample (an entry emptied by the warm-up); ``histogram`` (locust's rounded
    value -> count) is ``None`` in a summary written before format 2.
    """

    count: int
    failures: int
    p50: float
    p90: float
    p95: float
    p99: float
    mean: float
    min: float | None
    max: float
    histogram: Mapping[float, int] | None = None

    def percentile(self, name: str) -> float:
        """``p50``, ``p90``, ``p95`` or ``p99`` by name."""
        if name not in PERCENTILE_NAMES:
            raise KeyError(name)
        value: float = getattr(self, name)
        return value

    @classmethod
    def _read(cls, data: Json) -> Metric:
        histogram = data.get("histogram")
        return cls(
            count=data["count"],
            failures=data["failures"],
            **{name: data[name] for name in PERCENTILE_NAMES},
            mean=data["mean"],
            min=data["min"],
            max=data["max"],
            histogram=None
            if histogram is None
            else {_bucket(key): count for key, count in histogram.items()},
        )

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"count": self.count, "failures": self.failures}
        shown.update({name: self.percentile(name) for name in PERCENTILE_NAMES})
        shown.update(mean=self.mean, min=self.min, max=self.max)
        if self.histogram is not None:
            shown["histogram"] = {str(value): n for value, n in self.histogram.items()}
        return shown


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrivals:
    """Open-loop arrivals: slots started and missed, and how late the started ones were."""

    open_loop: bool
    started: int
    missed: int
    missed_ratio: float
    lateness_ms: Metric | None

    @classmethod
    def _read(cls, data: Json) -> Arrivals:
        lateness = data["lateness_ms"]
        return cls(
            open_loop=data["open_loop"],
            started=data["started"],
            missed=data["missed"],
            missed_ratio=data["missed_ratio"],
            lateness_ms=None if lateness is None else Metric._read(lateness),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "open_loop": self.open_loop,
            "started": self.started,
            "missed": self.missed,
            "missed_ratio": self.missed_ratio,
            "lateness_ms": None if self.lateness_ms is None else self.lateness_ms.to_json(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratorCpu:
    """The load generator's highest CPU reading (percent of one core) and how many were taken."""

    max: float | None
    samples: int

    @classmethod
    def _read(cls, data: Json) -> GeneratorCpu:
        return cls(max=data["max"], samples=data["samples"])

    def to_json(self) -> dict[str, Any]:
        return {"max": self.max, "samples": self.samples}


@dataclass(frozen=True, slots=True, kw_only=True)
class Slo:
    """The p95 targets the run was held to, and whether it met them."""

    ttft_p95_ms: float
    e2e_p95_ms: float
    met: bool

    @classmethod
    def _read(cls, data: Json) -> Slo:
        return cls(ttft_p95_ms=data["ttft_p95_ms"], e2e_p95_ms=data["e2e_p95_ms"], met=data["met"])

    def to_json(self) -> dict[str, Any]:
        return {"ttft_p95_ms": self.ttft_p95_ms, "e2e_p95_ms": self.e2e_p95_ms, "met": self.met}


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdOutcome:
    """One absolute threshold the run was held to (``error_rate<1%``), the value measured
    (``None`` when the run has no data for it) and whether it held."""

    expression: str
    measured: float | None
    passed: bool
    detail: str

    @classmethod
    def _read(cls, data: Json) -> ThresholdOutcome:
        return cls(
            expression=data["expression"],
            measured=data["measured"],
            passed=data["passed"],
            detail=data["detail"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            "measured": self.measured,
            "passed": self.passed,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RunShape:
    """How the load was generated: user classes, users, spawn rate, run time, locust shape."""

    user_classes: tuple[str, ...]
    users: int | None
    spawn_rate: float | None
    run_time_s: float | None
    shape: str | None

    @classmethod
    def _read(cls, data: Json) -> RunShape:
        return cls(
            user_classes=tuple(data["user_classes"]),
            users=data["users"],
            spawn_rate=data["spawn_rate"],
            run_time_s=data["run_time_s"],
            shape=data["shape"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "user_classes": list(self.user_classes),
            "users": self.users,
            "spawn_rate": self.spawn_rate,
            "run_time_s": self.run_time_s,
            "shape": self.shape,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The settings a run was made under, secrets shown as ``***``.

    ``flowprobe`` and ``load`` hold each setting by name as it was recorded (their names change
    between flowprobe versions, so they stay mappings); ``run`` is ``None`` before format 2.
    """

    target: str
    flowprobe: Mapping[str, Any]
    load: Mapping[str, Any]
    run: RunShape | None = None

    @classmethod
    def _read(cls, data: Json) -> Settings:
        return cls(
            target=data["target"],
            # Copied, so that the caller's document and this summary never change each other.
            flowprobe=copy.deepcopy(dict(data["flowprobe"])),
            load=copy.deepcopy(dict(data["load"])),
            run=RunShape._read(data["run"]) if "run" in data else None,
        )

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "target": self.target,
            "flowprobe": copy.deepcopy(dict(self.flowprobe)),
            "load": copy.deepcopy(dict(self.load)),
        }
        if self.run is not None:
            shown["run"] = self.run.to_json()
        return shown


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSummary:
    """One load run: rates, every call and metric, errors, validity and the settings.

    ``valid`` is False when the run's timings cannot be trusted (an overloaded generator, missed
    arrivals); ``passed`` is False when it is invalid or failed its limits; ``reasons`` says
    why, one sentence each (a broken threshold among them). ``thresholds`` is ``None`` when
    the run was held to none (and in every summary written before they existed). ``calls`` is
    keyed ``"POST /api/v1/run/..."``, ``metrics_ms`` by metric name (see
    :mod:`flowprobe.load.metrics`).
    """

    format: int | None = SUMMARY_FORMAT
    duration_s: float
    requests: int
    failures: int
    error_rate: float
    requests_per_s: float
    tokens: int | None
    tokens_per_s: float
    goodput_per_s: float
    calls: Mapping[str, Metric]
    metrics_ms: Mapping[str, Metric]
    errors_by_kind: Mapping[str, int]
    arrivals: Arrivals
    generator_cpu_percent: GeneratorCpu
    settings: Settings
    slo: Slo
    valid: bool
    passed: bool
    reasons: tuple[str, ...]
    thresholds: tuple[ThresholdOutcome, ...] | None = None

    def by_input_length(self) -> dict[str, dict[str, Metric]]:
        """TTFT and end-to-end by input length bucket (``<100``, ...), for runs with an input
        source (see :mod:`flowprobe.load.inputs`); empty otherwise."""
        return by_input_length(self.metrics_ms)

    def rate(self, name: str) -> float:
        """``requests_per_s`` or ``tokens_per_s`` by name."""
        rates = {"requests_per_s": self.requests_per_s, "tokens_per_s": self.tokens_per_s}
        return rates[name]

    @classmethod
    def from_json(cls, document: Any, *, source: str = "the load summary") -> LoadSummary:
        """The summary in a decoded JSON ``document``.

        Raises :class:`~flowprobe.errors.SummaryFileError` naming ``source`` and the first
        field that is missing or of the wrong type.
        """
        problem = _problem(document)
        if problem is not None:
            raise SummaryFileError(f"{source} is not a flowprobe load summary ({problem})")
        return cls._read(document)

    @classmethod
    def _read(cls, data: Json) -> LoadSummary:
        return cls(
            format=data.get("format"),
            duration_s=data["duration_s"],
            requests=data["requests"],
            failures=data["failures"],
            error_rate=data["error_rate"],
            requests_per_s=data["requests_per_s"],
            tokens=data.get("tokens"),
            tokens_per_s=data["tokens_per_s"],
            goodput_per_s=data["goodput_per_s"],
            calls={name: Metric._read(entry) for name, entry in data["calls"].items()},
            metrics_ms={name: Metric._read(entry) for name, entry in data["metrics_ms"].items()},
            errors_by_kind=dict(data["errors_by_kind"]),
            arrivals=Arrivals._read(data["arrivals"]),
            generator_cpu_percent=GeneratorCpu._read(data["generator_cpu_percent"]),
            settings=Settings._read(data["settings"]),
            slo=Slo._read(data["slo"]),
            valid=data["valid"],
            passed=data["passed"],
            reasons=tuple(data["reasons"]),
            thresholds=None
            if "thresholds" not in data
            else tuple(ThresholdOutcome._read(entry) for entry in data["thresholds"]),
        )

    def to_json(self) -> dict[str, Any]:
        """The summary as ``flowprobe load`` writes it (``json.dumps`` it as it is)."""
        shown: dict[str, Any] = {} if self.format is None else {"format": self.format}
        shown.update(
            duration_s=self.duration_s,
            requests=self.requests,
            failures=self.failures,
            error_rate=self.error_rate,
            requests_per_s=self.requests_per_s,
        )
        shown.update({} if self.tokens is None else {"tokens": self.tokens})
        shown.update(
            tokens_per_s=self.tokens_per_s,
            goodput_per_s=self.goodput_per_s,
            calls={name: entry.to_json() for name, entry in self.calls.items()},
            metrics_ms={name: entry.to_json() for name, entry in self.metrics_ms.items()},
            errors_by_kind=dict(self.errors_by_kind),
            arrivals=self.arrivals.to_json(),
            generator_cpu_percent=self.generator_cpu_percent.to_json(),
            settings=self.settings.to_json(),
            slo=self.slo.to_json(),
            valid=self.valid,
            passed=self.passed,
            reasons=list(self.reasons),
        )
        if self.thresholds is not None:
            shown["thresholds"] = [outcome.to_json() for outcome in self.thresholds]
        return shown
