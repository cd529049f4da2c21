"""The run's JSON summary and its validity, written by the master (or the only process).

:func:`attach` is called once from a locustfile's ``init`` listener; nothing is registered on
import. The summary is computed from locust's aggregated stats (the calls) and
flowprobe's aggregated measurements (the metrics), so it is the same in a local and in a
distributed run. Percentiles come from locust's histogram, which rounds to 1 ms under
100 ms, to 10 ms under 1 s and to 100 ms under 10 s. Each entry also carries that histogram
(rounded value -> count), and the run its token total and duration, so ``flowprobe gate`` can
bound each percentile and rate from the samples themselves.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import StatsError, console_logger

from flowprobe.load import metrics
from flowprobe.load.distributed import attach_distributed
from flowprobe.load.failures import kind_of
from flowprobe.load.measurements import attach_measurements, measurements
from flowprobe.load.summary import (
    SUMMARY_FORMAT,
    Arrivals,
    GeneratorCpu,
    LoadSummary,
    Metric,
    RunShape,
    Settings,
    Slo,
)
from flowprobe.load.worker_state import WorkerState, worker_state
from flowprobe.redaction import scrub_value
from flowprobe.wire.client import WEDGED

logger = logging.getLogger("flowprobe.load")
PERCENTILES = (0.5, 0.9, 0.95, 0.99)
CPU_SAMPLE_INTERVAL = 1.0


def attach(environment: Any, **_: Any) -> None:
    """Register the warm-up, CPU sampling and summary listeners on ``environment``, once.

    Shaped as an ``init`` listener: ``events.init.add_listener(attach)`` in a locustfile.
    """
    if getattr(environment, "flowprobe_attached", False):
        return
    environment.flowprobe_attached = True
    # gevent times a timer from the loop's cached clock, which locust's start-up (imports,
    # the locustfile) leaves seconds behind: -t would then end the run that much early.
    gevent.get_hub().loop.update_now()
    attach_measurements(environment)
    attach_distributed(environment)
    environment.events.quit.add_listener(lambda **_: _print_measurements(environment))
    environment.events.test_start.add_listener(_on_test_start)
    environment.events.quitting.add_listener(_on_quitting)


def _coordinator(environment: Any) -> bool:
    return environment.runner is not None and not isinstance(environment.runner, WorkerRunner)


def _on_test_start(environment: Any, **_: Any) -> None:
    if _coordinator(environment):
        gevent.spawn(_watch, environment, worker_state(environment))
        prefix = _csv_prefix(environment)
        if prefix is not None:
            gevent.spawn(_write_measurements, environment, prefix)


def _csv_prefix(environment: Any) -> str | None:
    return getattr(environment.parsed_options, "csv_prefix", None)


def _write_measurements(environment: Any, prefix: str) -> None:
    """Every second, as locust writes its CSV: ``_metrics.csv`` and ``_metrics_history.csv``."""
    measured = measurements(environment)
    history = Path(f"{prefix}_metrics_history.csv")
    history.unlink(missing_ok=True)
    while True:
        gevent.sleep(CPU_SAMPLE_INTERVAL)
        measured.write_csv(Path(f"{prefix}_metrics.csv"))
        measured.append_history(history, environment.runner.user_count)


def _watch(environment: Any, context: WorkerState) -> None:
    """After the warm-up, reset the stats once, then sample the generators' CPU."""
    warmup = context.setup.config.warmup
    if warmup > 0:
        gevent.sleep(warmup)
        environment.runner.stats.reset_all()
        measurements(environment).reset()
        logger.info("flowprobe: warm-up of %ss over; stats reset", warmup)
    context.measuring_since = time.time()
    meter = _CpuMeter(environment.runner)
    while True:
        gevent.sleep(CPU_SAMPLE_INTERVAL)
        context.cpu_samples.append(meter.sample())


class _CpuMeter:
    """The generator's CPU in percent of one core, every second.

    In one process, this process is measured directly with psutil (locust's own reading is only
    refreshed every 10 s, which a short run never sees). A master reads what its workers report
    in their heartbeats, which locust refreshes every 10 s on each worker.
    """

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.process = psutil.Process()
        self.process.cpu_percent()  # the first reading only starts the interval

    def sample(self) -> float:
        if isinstance(self.runner, MasterRunner):
            return max((float(w.cpu_usage) for w in self.runner.clients.values()), default=0.0)
        return float(self.process.cpu_percent())


def _on_quitting(environment: Any, **_: Any) -> None:
    if not _coordinator(environment):
        return
    context = worker_state(environment)
    if context.refused:
        environment.process_exit_code = 2
        return
    measured = measurements(environment)
    summary = build_summary(
        environment.runner.stats, context, shape=run_shape(environment), measured=measured.stats
    )
    prefix = _csv_prefix(environment)
    if prefix is not None:
        measured.write_csv(Path(f"{prefix}_metrics.csv"))
    environment.process_exit_code = 0 if summary.passed else 1
    for reason in summary.reasons:
        logger.error("flowprobe: %s", reason)
    path = _summary_path(environment, context)
    if path is not None:
        text = json.dumps(summary.to_json(), indent=2, default=str) + "\n"
        path.write_text(text, encoding="utf-8")
        logger.info("flowprobe: summary written to %s", path)


def _print_measurements(environment: Any) -> None:
    """flowprobe's metrics under locust's own end-of-run tables (which count calls only)."""
    if _coordinator(environment):
        for line in measurements(environment).console_lines():
            console_logger.info(line)
        console_logger.info("")


def _summary_path(environment: Any, context: WorkerState) -> Path | None:
    if context.setup.config.summary:
        return Path(context.setup.config.summary)
    prefix = _csv_prefix(environment)
    return Path(f"{prefix}_summary.json") if prefix else None


def run_shape(environment: Any) -> RunShape:
    """How the load was generated (user classes, users, spawn rate, run time), for comparisons."""
    options = environment.parsed_options
    shape = environment.shape_class
    return RunShape(
        user_classes=tuple(sorted(c.__name__ for c in environment.user_classes)),
        users=getattr(options, "num_users", None),
        spawn_rate=getattr(options, "spawn_rate", None),
        run_time_s=getattr(options, "run_time", None),
        shape=type(shape).__name__ if shape is not None else None,
    )


def _metric(entry: Any) -> Metric:
    shown = {f"p{round(p * 100)}": entry.get_response_time_percentile(p) for p in PERCENTILES}
    return Metric(
        count=entry.num_requests,
        failures=entry.num_failures,
        **shown,
        mean=round(entry.avg_response_time, 3),
        min=entry.min_response_time,
        max=entry.max_response_time,
        histogram=dict(sorted(entry.response_times.items())),
    )


def build_summary(
    stats: Any, context: WorkerState, *, shape: RunShape | None = None, measured: Any = None
) -> LoadSummary:
    """Percentiles of every metric, rates, errors by kind, validity and the settings.

    ``stats`` are locust's (the calls), ``measured`` flowprobe's metrics (a ``RequestStats``
    of ``METRIC`` and ``ARRIVAL`` entries, see :mod:`flowprobe.load.measurements`). ``shape``
    is how the load was generated (see :func:`run_shape`); it joins the settings.
    """
    config = context.setup.config
    duration = max((stats.last_request_timestamp or time.time()) - stats.start_time, 1e-9)
    entries = {(e.method, e.name): e for e in stats.entries.values()}
    if measured is not None:
        entries |= {(e.method, e.name): e for e in measured.entries.values()}
    calls = [
        e for (method, _), e in entries.items() if method not in (metrics.METRIC, metrics.ARRIVAL)
    ]
    requests = sum(e.num_requests for e in calls)
    failures = sum(e.num_failures for e in calls)
    tokens = entries.get((metrics.METRIC, metrics.OUTPUT_TOKENS))
    within_slo = entries.get((metrics.METRIC, metrics.WITHIN_SLO))
    measured = {n: _metric(e) for (m, n), e in entries.items() if m == metrics.METRIC}
    cpu = GeneratorCpu(max=max(context.cpu_samples, default=None), samples=len(context.cpu_samples))
    arrivals = _arrivals(entries)
    invalid = _invalid_reasons(cpu, arrivals, context)
    error_rate = failures / requests if requests else 0.0
    reasons = invalid + _failed_reasons(requests, error_rate, context)
    if wedged_calls := _errors_by_kind(stats.errors.values()).get("target_wedged"):
        reasons.insert(0, f"{WEDGED}: the run was stopped early ({wedged_calls} such answers)")
    return LoadSummary(
        format=SUMMARY_FORMAT,
        duration_s=round(duration, 3),
        requests=requests,
        failures=failures,
        error_rate=error_rate,
        requests_per_s=requests / duration,
        tokens=tokens.total_content_length if tokens else 0,
        tokens_per_s=(tokens.total_content_length / duration) if tokens else 0.0,
        goodput_per_s=(within_slo.num_requests / duration) if within_slo else 0.0,
        calls={f"{m} {n}": _metric(e) for (m, n), e in entries.items() if e in calls},
        metrics_ms=measured,
        errors_by_kind=_errors_by_kind(stats.errors.values()),
        arrivals=arrivals,
        generator_cpu_percent=cpu,
        settings=_settings(context, shape),
        slo=_slo(measured, config.slo_ttft_p95_ms, config.slo_e2e_p95_ms),
        valid=not invalid,
        passed=not reasons,
        reasons=tuple(reasons),
    )


def _settings(context: WorkerState, shape: RunShape | None) -> Settings:
    # Secret-looking tweak values (an api_key inside tweaks) never reach the file.
    shown = scrub_value(context.setup.redacted())
    return Settings(
        target=shown["target"], flowprobe=shown["flowprobe"], load=shown["load"], run=shape
    )


def _failed_reasons(requests: int, error_rate: float, context: WorkerState) -> list[str]:
    config = context.setup.config
    reasons = []
    if requests == 0:
        timeout = context.setup.settings.get("timeout")
        reasons.append(
            f"no call completed: the target answered nothing within the run "
            f"(each call may wait up to FLOWPROBE_TIMEOUT={timeout} s)"
        )
    if error_rate > config.max_error_rate:
        reasons.append(
            f"error rate {error_rate:.2%} is above FLOWPROBE_LOAD_MAX_ERROR_RATE "
            f"{config.max_error_rate:.2%}"
        )
    return reasons


def _errors_by_kind(errors: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for error in errors:
        kind = kind_of(StatsError.parse_error(error.error))
        counts[kind] = counts.get(kind, 0) + error.occurrences
    return counts


def _arrivals(entries: dict[tuple[str, str], Any]) -> Arrivals:
    started = entries.get((metrics.ARRIVAL, metrics.ARRIVAL_LATENESS))
    missed = entries.get((metrics.ARRIVAL, metrics.MISSED_ARRIVAL))
    started_count = started.num_requests if started else 0
    missed_count = missed.num_requests if missed else 0
    offered = started_count + missed_count
    return Arrivals(
        open_loop=offered > 0,
        started=started_count,
        missed=missed_count,
        missed_ratio=missed_count / offered if offered else 0.0,
        lateness_ms=_metric(started) if started else None,
    )


def _slo(measured: dict[str, Metric], ttft_ms: float, e2e_ms: float) -> Slo:
    ttft, e2e = measured.get(metrics.TIME_TO_FIRST_TOKEN), measured.get(metrics.END_TO_END)
    return Slo(
        ttft_p95_ms=ttft_ms,
        e2e_p95_ms=e2e_ms,
        met=(ttft is None or ttft.p95 <= ttft_ms) and (e2e is not None and e2e.p95 <= e2e_ms),
    )


def _invalid_reasons(cpu: GeneratorCpu, arrivals: Arrivals, context: WorkerState) -> list[str]:
    config = context.setup.config
    reasons = []
    if cpu.max is not None and cpu.max > config.max_cpu_percent:
        reasons.append(
            f"run invalid: load generator CPU reached {cpu.max:.0f}% (limit "
            f"FLOWPROBE_LOAD_MAX_CPU_PERCENT={config.max_cpu_percent:.0f}%); its timings are skewed"
        )
    missed = arrivals.missed_ratio
    if missed > config.max_missed_ratio:
        reasons.append(
            f"run invalid: {missed:.2%} of arrivals were missed (limit "
            f"FLOWPROBE_LOAD_MAX_MISSED_RATIO={config.max_missed_ratio:.2%}); add users to the pool"
        )
    return reasons
