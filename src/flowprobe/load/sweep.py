"""A knee sweep: load runs at rising concurrency or arrival rate until goodput stops rising.

Each step is one ``flowprobe load`` run (:func:`flowprobe.load.launch.launch`), read back as a
:class:`~flowprobe.load.summary.LoadSummary`. The sweep stops on its own after a step that

- fails more calls than the error bound (``error rate``),
- is the second in a row where no call met the SLO (no goodput at all),
- is invalid (an overloaded load generator or missed arrivals: its figures cannot be trusted),
- brings goodput below ``drop`` times the best goodput so far (``goodput fell``), or
- is the second step in a row that raises goodput by less than :data:`PLATEAU_GAIN` over the
  best so far (``goodput stopped rising``).

The knee is the lowest step before that stop whose goodput is within :data:`PLATEAU_GAIN` of
the best goodput before it: where more load stopped buying goodput. A sweep that reaches its
last step without stopping found no knee: the target held everything it was offered. This
module does not import locust; matplotlib (the ``plot`` extra) is imported only to draw.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

from flowprobe.errors import SettingsError, SummaryFileError
from flowprobe.load import metrics
from flowprobe.load.launch import LaunchPlan, Say, launch
from flowprobe.load.summary import LoadSummary

MODES = ("users", "rate")
MAX_STEPS = 12
PLATEAU_GAIN = 1.05  # a step must raise the best goodput by 5 % to count as rising
PLATEAU_STEPS = 2  # steps in a row that do not before the sweep stops


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepPlan:
    """What to sweep: users (closed loop) or arrival rate (open loop), over which levels."""

    mode: str = "users"
    levels: tuple[float, ...] = (1, 2, 4, 8)
    step_s: int = 10
    pool: int = 8  # open loop: the users that take the arrivals
    drop: float = 0.9
    max_error_rate: float = 0.05
    launch: LaunchPlan = field(default_factory=LaunchPlan)

    def step_plan(self, index: int, level: float) -> LaunchPlan:
        """The load run of step ``index`` (from 1) at ``level``, in its own folder."""
        users = int(level) if self.mode == "users" else self.pool
        return replace(
            self.launch,
            open_loop=self.mode == "rate",
            users=users,
            spawn_rate=float(users),
            run_time_s=self.step_s,
            steps=None,
            out=self.launch.out / f"step-{index:02d}",
        )

    def step_env(self, level: float) -> dict[str, str]:
        """The load settings of one step, over the sweep's own."""
        env = {"FLOWPROBE_LOAD_MAX_ERROR_RATE": str(self.max_error_rate)}
        if self.mode == "rate":
            env["FLOWPROBE_LOAD_ARRIVAL_RATE"] = f"{level:g}"
        return env


def levels(
    mode: str,
    *,
    start: float,
    factor: float,
    maximum: float,
    listed: Sequence[float] | None = None,
) -> tuple[float, ...]:
    """The levels a sweep tries: ``listed`` as given, else ``start * factor**k`` up to
    ``maximum``. A :class:`SettingsError` for levels that cannot be swept."""
    if mode not in MODES:
        raise SettingsError(f"sweep mode {mode!r}: must be one of {', '.join(MODES)}")
    if listed:
        found = tuple(float(level) for level in listed)
    else:
        if not start > 0:
            raise SettingsError(f"sweep start {start:g}: must be above 0")
        if not factor > 1:
            raise SettingsError(f"sweep factor {factor:g}: must be above 1, or nothing rises")
        if maximum < start:
            raise SettingsError(f"sweep maximum {maximum:g} is below its start {start:g}")
        found = ()
        level = start
        while level <= maximum * (1 + 1e-9) and len(found) <= MAX_STEPS:
            found += (level,)
            level *= factor
    _check_levels(mode, found)
    return found


def _check_levels(mode: str, found: tuple[float, ...]) -> None:
    if len(found) > MAX_STEPS:
        raise SettingsError(
            f"a sweep of more than {MAX_STEPS} steps: raise the factor or lower the maximum"
        )
    if any(not level > 0 for level in found):
        raise SettingsError("every sweep level must be above 0")
    if any(later <= earlier for earlier, later in pairwise(found)):
        raise SettingsError("sweep levels must rise from one step to the next")
    if mode == "users" and any(level != int(level) for level in found):
        raise SettingsError("a users sweep needs whole numbers of users (use --factor 2)")


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """One step's figures, from its load summary (latencies in ms, None when not measured)."""

    level: float
    calls: int
    calls_per_s: float
    goodput_per_s: float
    error_rate: float
    errors_by_kind: Mapping[str, int]
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    e2e_p50_ms: float | None
    e2e_p95_ms: float | None
    valid: bool
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_summary(cls, level: float, summary: LoadSummary) -> StepResult:
        ttft = summary.metrics_ms.get(metrics.TIME_TO_FIRST_TOKEN)
        e2e = summary.metrics_ms.get(metrics.END_TO_END)
        return cls(
            level=level,
            calls=summary.requests,
            calls_per_s=round(summary.requests_per_s, 3),
            goodput_per_s=round(summary.goodput_per_s, 3),
            error_rate=round(summary.error_rate, 4),
            errors_by_kind=dict(summary.errors_by_kind),
            ttft_p50_ms=None if ttft is None else ttft.p50,
            ttft_p95_ms=None if ttft is None else ttft.p95,
            e2e_p50_ms=None if e2e is None else e2e.p50,
            e2e_p95_ms=None if e2e is None else e2e.p95,
            valid=summary.valid,
            reasons=summary.reasons,
        )

    def to_json(self) -> dict[str, Any]:
        shown = asdict(self)
        shown["errors_by_kind"] = dict(self.errors_by_kind)
        shown["reasons"] = list(self.reasons)
        return shown


def stop_reason(
    steps: Sequence[StepResult], *, drop: float = 0.9, max_error_rate: float = 0.05
) -> str | None:
    """Why the sweep stops after the last of ``steps``; ``None`` to go on."""
    last = steps[-1]
    if last.error_rate > max_error_rate:
        return f"error rate {last.error_rate:.1%} is above {max_error_rate:.1%}"
    if not last.valid:
        return "the step is invalid: " + "; ".join(last.reasons)
    best = max(step.goodput_per_s for step in steps[:-1]) if len(steps) > 1 else None
    if best is None:
        return None
    if best == 0 and last.goodput_per_s == 0:
        return "no call met the SLO in two steps (FLOWPROBE_LOAD_SLO_TTFT_P95_MS, _E2E_P95_MS)"
    if last.goodput_per_s < drop * best:
        return f"goodput fell to {last.goodput_per_s:.2f}/s, below {drop:g} x the best {best:.2f}/s"
    if len(steps) > PLATEAU_STEPS and all(
        _flat(steps[: len(steps) - back], steps[len(steps) - back])
        for back in range(1, PLATEAU_STEPS + 1)
    ):
        return (
            f"goodput stopped rising: {PLATEAU_STEPS} steps in a row added less than "
            f"{PLATEAU_GAIN - 1:.0%} to the best {best:.2f}/s"
        )
    return None


def _flat(before: Sequence[StepResult], step: StepResult) -> bool:
    """Whether ``step`` raised goodput by less than PLATEAU_GAIN over the best ``before`` it."""
    best = max(earlier.goodput_per_s for earlier in before)
    return step.goodput_per_s < PLATEAU_GAIN * best


def knee(steps: Sequence[StepResult], stopped: str | None) -> StepResult | None:
    """The lowest step before the stop whose goodput is within :data:`PLATEAU_GAIN` of the best
    before the stop: where more load stopped buying goodput. ``None`` if the sweep never
    stopped, stopped at its first step, or never had goodput."""
    if stopped is None or len(steps) < 2:
        return None
    best = max(step.goodput_per_s for step in steps[:-1])
    if best <= 0:
        return None
    return next(step for step in steps[:-1] if step.goodput_per_s * PLATEAU_GAIN >= best)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepResult:
    """Every step run, why the sweep stopped, and the knee if one was found."""

    plan: SweepPlan
    steps: tuple[StepResult, ...]
    stopped: str | None
    knee: StepResult | None

    def verdict(self) -> str:
        unit = _unit(self.plan.mode)
        if self.knee is not None:
            return (
                f"knee: {self.knee.level:g} {unit}, goodput {self.knee.goodput_per_s:.2f} "
                f"calls/s within the SLO (stopped: {self.stopped})"
            )
        if self.stopped is None:
            top = self.steps[-1].level if self.steps else 0
            return f"no knee up to {top:g} {unit}: goodput still rose at the last step"
        return f"no knee: the sweep stopped at {self.steps[-1].level:g} {unit} ({self.stopped})"

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.plan.mode,
            "scenario": self.plan.launch.scenario,
            "step_s": self.plan.step_s,
            "pool": self.plan.pool if self.plan.mode == "rate" else None,
            "levels": list(self.plan.levels),
            "drop": self.plan.drop,
            "max_error_rate": self.plan.max_error_rate,
            "steps": [step.to_json() for step in self.steps],
            "stopped": self.stopped,
            "knee": None if self.knee is None else self.knee.to_json(),
            "verdict": self.verdict(),
        }


def _unit(mode: str) -> str:
    return "users" if mode == "users" else "arrivals/s"


RunStep = Callable[[LaunchPlan, Mapping[str, str]], int]


def run_sweep(
    plan: SweepPlan,
    env: Mapping[str, str],
    say: Say,
    progress: Say,
    run_step: RunStep | None = None,
) -> SweepResult:
    """Run the steps in order until one stops the sweep; ``run_step`` runs one load run
    (default: :func:`launch`), and each step's summary is read from its folder."""
    started = time.monotonic()
    steps: list[StepResult] = []
    stopped = None
    for index, level in enumerate(plan.levels, start=1):
        elapsed = time.monotonic() - started
        say(
            f"sweep step {index}/{len(plan.levels)}: {level:g} {_unit(plan.mode)} for "
            f"{plan.step_s} s (elapsed {elapsed:.0f} s)"
        )
        step = plan.step_plan(index, level)
        step_env = {**env, **plan.step_env(level)}
        if run_step is None:
            launch(step, step_env, say, progress)
        else:
            run_step(step, step_env)
        say("")
        try:
            steps.append(StepResult.from_summary(level, _read_summary(step.summary)))
        except SummaryFileError as exc:
            stopped = f"step {index} wrote no summary ({exc})"
            break
        stopped = stop_reason(steps, drop=plan.drop, max_error_rate=plan.max_error_rate)
        if stopped is not None:
            break
    return SweepResult(plan=plan, steps=tuple(steps), stopped=stopped, knee=knee(steps, stopped))


def _read_summary(path: Path) -> LoadSummary:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SummaryFileError(f"{path}: {exc}") from None
    return LoadSummary.from_json(document, source=str(path))


def table(result: SweepResult) -> list[str]:
    """The steps as a text table, one line each, then the verdict."""
    level = "users" if result.plan.mode == "users" else "rate/s"
    lines = [
        f"{level:>7} {'calls':>6} {'calls/s':>8} {'goodput/s':>9} {'ttft p50':>9} "
        f"{'ttft p95':>9} {'e2e p50':>8} {'e2e p95':>8} {'errors':>7}"
    ]
    for step in result.steps:
        mark = "  <- knee" if step is result.knee else ""
        lines.append(
            f"{step.level:>7g} {step.calls:>6} {step.calls_per_s:>8.2f} {step.goodput_per_s:>9.2f}"
            f" {_ms(step.ttft_p50_ms):>9} {_ms(step.ttft_p95_ms):>9} {_ms(step.e2e_p50_ms):>8}"
            f" {_ms(step.e2e_p95_ms):>8} {step.error_rate:>7.1%}{mark}"
        )
    lines.append(result.verdict())
    return lines


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


PLOT_MISSING = "no plot: matplotlib is missing; install it with pip install 'flowprobe[plot]'"


def write_plot(result: SweepResult, path: Path) -> str:
    """Throughput and latency against the level, knee marked, as a PNG at ``path``; what was
    done, in one line (a missing matplotlib is said, not raised)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return PLOT_MISSING
    x = [step.level for step in result.steps]
    figure, (rates, latency) = pyplot.subplots(2, 1, sharex=True, figsize=(7, 6))
    rates.plot(x, [s.calls_per_s for s in result.steps], "o-", label="calls/s")
    rates.plot(x, [s.goodput_per_s for s in result.steps], "s--", label="goodput/s")
    rates.set_ylabel("per second")
    for name in ("ttft_p95_ms", "e2e_p95_ms"):
        values = [getattr(s, name) for s in result.steps]
        if any(v is not None for v in values):
            shown = [float("nan") if v is None else v for v in values]
            latency.plot(x, shown, "o-", label=name.removesuffix("_ms").replace("_", " "))
    latency.set_ylabel("ms")
    latency.set_xlabel(_unit(result.plan.mode))
    for axes in (rates, latency):
        if result.knee is not None:
            axes.axvline(result.knee.level, color="red", linestyle=":", label="knee")
        axes.legend()
        axes.grid(alpha=0.3)
    title = f"flowprobe sweep ({result.plan.launch.scenario}): {result.verdict()}"
    figure.suptitle("\n".join(textwrap.wrap(title, 80)[:3]), fontsize=10)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return f"plot: {path}"
