"""A load run's summary as data: what ``flowprobe load`` writes and the gate and check read.

:meth:`LoadSummary.from_json` checks a decoded ``<scenario>_summary.json`` field by field and
raises :class:`~flowprobe.errors.SummaryFileError` naming the first thing wrong;
:meth:`LoadSummary.to_json` gives back the same JSON, key for key and in the same order, so a
summary or baseline read and written again is unchanged. Summaries written before format 2
(no ``format``, ``tokens``, histograms or ``settings.run``) read with those parts as ``None``.
This module does not import locust: the gate and ``flowprobe check`` read summaries without it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowprobe.errors import SummaryFileError

# 2: entries carry their histogram, the run its token total and its shape.
SUMMARY_FORMAT = 2
PERCENTILE_NAMES = ("p50", "p90", "p95", "p99")


class _Malformed(Exception):
    """What keeps a document from being a summary; :meth:`LoadSummary.from_json` words it."""


class _Fields:
    """Typed reads of one JSON object, each naming its JSON path when a value is wrong.

    Every key read must be present; ``nullable`` lets its value be ``null``. Keys that older
    summaries lack are read only when :meth:`has` finds them.
    """

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise _Malformed(f"{where.rstrip('.') or 'the document'} must be an object")
        self.data: Mapping[str, Any] = data
        self.where = where

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise _Malformed(f"no {self.where}{key}")
        return self.data[key]

    def _checked(self, key: str, fits: bool, value: Any, nullable: bool, kind: str) -> Any:
        if fits or (nullable and value is None):
            return value
        raise _Malformed(f"{self.where}{key} must be {kind}")

    def number(self, key: str, *, nullable: bool = False) -> Any:
        """An int or a float, kept as it was so that it is written back the same."""
        value = self._get(key)
        return self._checked(key, _is_number(value), value, nullable, "a number")

    def integer(self, key: str, *, nullable: bool = False) -> Any:
        value = self._get(key)
        fits = isinstance(value, int) and not isinstance(value, bool)
        return self._checked(key, fits, value, nullable, "a whole number")

    def flag(self, key: str) -> bool:
        value = self._get(key)
        return bool(self._checked(key, isinstance(value, bool), value, False, "true or false"))

    def text(self, key: str, *, nullable: bool = False) -> Any:
        value = self._get(key)
        return self._checked(key, isinstance(value, str), value, nullable, "a string")

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        fits = isinstance(value, list) and all(isinstance(item, str) for item in value)
        return tuple(self._checked(key, fits, value, False, "a list of strings"))

    def nested(self, key: str) -> _Fields:
        return _Fields(self._get(key), f"{self.where}{key}.")

    def nested_or_none(self, key: str) -> _Fields | None:
        """An object that may be ``null`` (``arrivals.lateness_ms`` in a closed-loop run)."""
        return None if self._get(key) is None else self.nested(key)

    def members(self, key: str) -> dict[str, _Fields]:
        """Each member of an object of objects, such as ``metrics_ms``."""
        inner = self.nested(key)
        return {str(name): inner.nested(str(name)) for name in inner.data}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
    def _read(cls, fields: _Fields) -> Metric:
        count, failures = fields.integer("count"), fields.integer("failures")
        shown = {name: fields.number(name) for name in PERCENTILE_NAMES}
        return cls(
            count=count,
            failures=failures,
            **shown,
            mean=fields.number("mean"),
            min=fields.number("min", nullable=True),
            max=fields.number("max"),
            histogram=_histogram(fields),
        )

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"count": self.count, "failures": self.failures}
        shown.update({name: self.percentile(name) for name in PERCENTILE_NAMES})
        shown.update(mean=self.mean, min=self.min, max=self.max)
        if self.histogram is not None:
            shown["histogram"] = {str(value): n for value, n in self.histogram.items()}
        return shown


def _histogram(fields: _Fields) -> dict[float, int] | None:
    if not fields.has("histogram"):
        return None
    found = fields.nested("histogram")
    counts: dict[float, int] = {}
    for key, count in found.data.items():
        try:
            value = _bucket(str(key))
        except ValueError:
            raise _Malformed(f"{found.where}{key} is not a number of milliseconds") from None
        if not isinstance(count, int) or isinstance(count, bool):
            raise _Malformed(f"{found.where}{key} must be a whole number")
        counts[value] = count
    return counts


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrivals:
    """Open-loop arrivals: slots started and missed, and how late the started ones were."""

    open_loop: bool
    started: int
    missed: int
    missed_ratio: float
    lateness_ms: Metric | None

    @classmethod
    def _read(cls, fields: _Fields) -> Arrivals:
        lateness = fields.nested_or_none("lateness_ms")
        return cls(
            open_loop=fields.flag("open_loop"),
            started=fields.integer("started"),
            missed=fields.integer("missed"),
            missed_ratio=fields.number("missed_ratio"),
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
    def _read(cls, fields: _Fields) -> GeneratorCpu:
        return cls(max=fields.number("max", nullable=True), samples=fields.integer("samples"))

    def to_json(self) -> dict[str, Any]:
        return {"max": self.max, "samples": self.samples}


@dataclass(frozen=True, slots=True, kw_only=True)
class Slo:
    """The p95 targets the run was held to, and whether it met them."""

    ttft_p95_ms: float
    e2e_p95_ms: float
    met: bool

    @classmethod
    def _read(cls, fields: _Fields) -> Slo:
        return cls(
            ttft_p95_ms=fields.number("ttft_p95_ms"),
            e2e_p95_ms=fields.number("e2e_p95_ms"),
            met=fields.flag("met"),
        )

    def to_json(self) -> dict[str, Any]:
        return {"ttft_p95_ms": self.ttft_p95_ms, "e2e_p95_ms": self.e2e_p95_ms, "met": self.met}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunShape:
    """How the load was generated: user classes, users, spawn rate, run time, locust shape."""

    user_classes: tuple[str, ...]
    users: int | None
    spawn_rate: float | None
    run_time_s: float | None
    shape: str | None

    @classmethod
    def _read(cls, fields: _Fields) -> RunShape:
        return cls(
            user_classes=fields.texts("user_classes"),
            users=fields.integer("users", nullable=True),
            spawn_rate=fields.number("spawn_rate", nullable=True),
            run_time_s=fields.number("run_time_s", nullable=True),
            shape=fields.text("shape", nullable=True),
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
    def _read(cls, fields: _Fields) -> Settings:
        return cls(
            target=fields.text("target"),
            # Copied, so that the caller's document and this summary never change each other.
            flowprobe=copy.deepcopy(dict(fields.nested("flowprobe").data)),
            load=copy.deepcopy(dict(fields.nested("load").data)),
            run=RunShape._read(fields.nested("run")) if fields.has("run") else None,
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


# Every key a summary has had since flowprobe first wrote one; format and tokens came with 2.
_REQUIRED = (
    "duration_s",
    "requests",
    "failures",
    "error_rate",
    "requests_per_s",
    "tokens_per_s",
    "goodput_per_s",
    "calls",
    "metrics_ms",
    "errors_by_kind",
    "arrivals",
    "generator_cpu_percent",
    "settings",
    "slo",
    "valid",
    "passed",
    "reasons",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSummary:
    """One load run: rates, every call and metric, errors, validity and the settings.

    ``valid`` is False when the run's timings cannot be trusted (an overloaded generator, missed
    arrivals); ``passed`` is False when it is invalid or failed its limits; ``reasons`` says
    why, one sentence each. ``calls`` is keyed ``"POST /api/v1/run/..."``, ``metrics_ms`` by
    metric name (see :mod:`flowprobe.load.metrics`).
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
        try:
            return cls._read(_Fields(document, ""))
        except _Malformed as problem:
            raise SummaryFileError(
                f"{source} is not a flowprobe load summary ({problem})"
            ) from None

    @classmethod
    def _read(cls, fields: _Fields) -> LoadSummary:
        missing = [key for key in _REQUIRED if not fields.has(key)]
        if missing:
            raise _Malformed("no " + ", ".join(missing))
        if fields.number("duration_s") <= 0:
            raise _Malformed("duration_s must be above 0")
        return cls(
            format=fields.integer("format") if fields.has("format") else None,
            duration_s=fields.number("duration_s"),
            requests=fields.integer("requests"),
            failures=fields.integer("failures"),
            error_rate=fields.number("error_rate"),
            requests_per_s=fields.number("requests_per_s"),
            tokens=fields.integer("tokens") if fields.has("tokens") else None,
            tokens_per_s=fields.number("tokens_per_s"),
            goodput_per_s=fields.number("goodput_per_s"),
            calls={name: Metric._read(f) for name, f in fields.members("calls").items()},
            metrics_ms={name: Metric._read(f) for name, f in fields.members("metrics_ms").items()},
            errors_by_kind=_counts(fields.nested("errors_by_kind")),
            arrivals=Arrivals._read(fields.nested("arrivals")),
            generator_cpu_percent=GeneratorCpu._read(fields.nested("generator_cpu_percent")),
            settings=Settings._read(fields.nested("settings")),
            slo=Slo._read(fields.nested("slo")),
            valid=fields.flag("valid"),
            passed=fields.flag("passed"),
            reasons=fields.texts("reasons"),
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
        return shown


def _counts(fields: _Fields) -> dict[str, int]:
    """``errors_by_kind``: a whole number per kind."""
    return {str(kind): fields.integer(str(kind)) for kind in fields.data}
