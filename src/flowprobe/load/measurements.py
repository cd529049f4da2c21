"""flowprobe's own measurements, kept apart from locust's request statistics.

Time to first token, inter-token latency, lateness of an arrival... are not calls: counted as
locust request events they would swell locust's "Aggregated" totals (requests/s, failures/s) in
its console, CSV, HTML and web UI. They are recorded instead into a locust ``RequestStats`` of
their own (the same histogram, rounding and percentiles as locust's), which:

- a worker sends to its master with every stats report (locust's ``report_to_master``), and the
  master merges as locust merges its own (``worker_report``), so a distributed run sums them;
- the web UI shows on a "flowprobe metrics" tab (locust's extended tabs), and the console
  prints after locust's own tables at the end of a run;
- the coordinator writes every second as ``{--csv}_metrics.csv``, in the columns of locust's
  ``_stats.csv``, and each second appends to ``{--csv}_metrics_history.csv``.

Entries keep the request types ``METRIC`` and ``ARRIVAL`` (see :mod:`flowprobe.load.metrics`).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from locust import stats as locust_stats
from locust.runners import WorkerRunner
from locust.stats import (
    PERCENTILES_TO_REPORT,
    RequestStats,
    StatsCSV,
    StatsEntry,
    get_readable_percentiles,
)

_ATTRIBUTE = "flowprobe_measurements"
_MESSAGE_KEY = "flowprobe_metrics"
TAB = "flowprobe-metrics"


Listener = Callable[..., None]


class Measurements:
    """One process's measurements; each listener gets each one (kind, name, value, length)."""

    def __init__(self) -> None:
        self.stats = RequestStats()
        self.listeners: list[Listener] = []

    def record(self, kind: str, name: str, value: float, length: int = 0) -> None:
        """Count ``value`` (ms, or a count) under ``kind``/``name``; never in locust's totals."""
        # locust rounds a float time into its histogram as it did when these were request events;
        # its "Aggregated" entry mixes units and is never shown, but times the rates
        self.stats.log_request(kind, name, value, length)  # type: ignore[arg-type]
        for listener in self.listeners:
            listener(kind=kind, name=name, value=value, length=length)

    def record_all(self, kind: str, samples: Sequence[tuple[str, float, int]]) -> None:
        """Count the ``(name, value, length)`` samples of one call as :meth:`record` would one
        by one, reading the clock once: a stream's dozen measurements cost one update per entry.
        """
        now = time.time()
        stats = self.stats
        _log_all(stats.total, now, samples)
        by_name: dict[str, list[tuple[str, float, int]]] = {}
        for sample in samples:
            by_name.setdefault(sample[0], []).append(sample)
        for name, group in by_name.items():
            _log_all(stats.entries[(name, kind)], now, group)
        for listener in self.listeners:
            for name, value, length in samples:
                listener(kind=kind, name=name, value=value, length=length)

    def entries(self) -> list[StatsEntry]:
        """The entries that hold a sample, sorted by (name, kind)."""
        found = self.stats.entries
        return [found[key] for key in sorted(found) if found[key].num_requests]

    def reset(self) -> None:
        self.stats.reset_all()

    def clear(self) -> None:
        self.stats.clear_all()

    def serialize(self) -> dict[str, Any]:
        """This process's samples since the last call, for a master (the entries restart)."""
        return {
            "entries": self.stats.serialize_stats(),
            "total": self.stats.total.get_stripped_report(),
        }

    def merge(self, reported: dict[str, Any]) -> None:
        """Add a worker's report, as locust merges its own request entries."""
        self.stats.total.extend(StatsEntry.unserialize(reported["total"], self.stats))
        for data in reported["entries"]:
            entry = StatsEntry.unserialize(data, self.stats)
            key = (entry.name, entry.method)
            if key not in self.stats.entries:
                self.stats.entries[key] = StatsEntry(
                    self.stats, entry.name, entry.method, use_response_times_cache=True
                )
            self.stats.entries[key].extend(entry)

    def console_lines(self) -> list[str]:
        """The end-of-run table: count, mean, min, max, then the percentiles (locust's format)."""
        entries = self.entries()
        if not entries:
            return []
        lines = ["flowprobe metrics (ms; output_tokens: tokens per call)"]
        lines += [entry.to_string(current=False) for entry in entries]
        lines += ["flowprobe metric percentiles (approximated)"]
        lines += [entry.percentile() for entry in entries]
        return lines

    def rows(self) -> list[dict[str, Any]]:
        """One row per entry for the web UI's tab."""
        return [
            {
                "type": entry.method,
                "name": entry.name,
                "count": entry.num_requests,
                "mean": round(entry.avg_response_time, 1),
                "min": entry.min_response_time or 0,
                "max": entry.max_response_time,
                **{
                    f"p{round(p * 100)}": entry.get_response_time_percentile(p)
                    for p in (0.5, 0.95, 0.99)
                },
            }
            for entry in self.entries()
        ]

    def write_csv(self, path: Path) -> None:
        """The entries in the columns of locust's ``_stats.csv`` (no Aggregated row)."""
        writer = StatsCSV(SimpleNamespace(stats=self.stats), PERCENTILES_TO_REPORT)  # type: ignore[arg-type]
        partial = path.with_name(path.name + ".partial")
        with partial.open("w", encoding="utf-8", newline="") as out:
            rows = csv.writer(out)
            rows.writerow(writer.requests_csv_columns)
            for row in _rows_of(writer):
                if row[:2] != ["", "Aggregated"]:
                    rows.writerow(row)
        partial.replace(path)  # a reader never sees half a file

    def append_history(self, path: Path, user_count: int) -> None:
        """Each entry's current percentiles, in the columns of locust's ``_stats_history.csv``."""
        new = not path.exists()
        with path.open("a", encoding="utf-8", newline="") as out:
            rows = csv.writer(out)
            labels = get_readable_percentiles(PERCENTILES_TO_REPORT)
            if new:
                rows.writerow(["Timestamp", "User Count", "Type", "Name", "Requests/s", *labels])
            stamp = int(time.time())
            for entry in self.entries():
                shown = [
                    int(entry.get_current_response_time_percentile(p) or 0)
                    for p in PERCENTILES_TO_REPORT
                ]
                rate = entry.current_rps or 0
                rows.writerow([stamp, user_count, entry.method, entry.name, rate, *shown])


def _log_all(entry: Any, now: float, samples: Sequence[tuple[str, float, int]]) -> None:
    """locust's ``StatsEntry.log`` of each sample, all logged at ``now``: the same
    counts, rate, rounding (``bucket_response_time``, looked up as locust does), minimum,
    maximum and sums, added in the same order (tests/load/test_measurements_batch.py holds the
    two equal)."""
    second = int(now)
    last = entry.last_request_timestamp
    if entry.use_response_times_cache and last and second > int(last):
        entry._cache_response_times(second - 1)
    entry.num_requests += len(samples)
    entry.num_reqs_per_sec[second] += len(samples)
    entry.last_request_timestamp = now
    bucket = locust_stats.bucket_response_time
    rounded = entry.response_times
    total, low, high = entry.total_response_time, entry.min_response_time, entry.max_response_time
    size = 0
    for _, value, length in samples:
        total += value
        # min() and max() as comparisons: the same values kept, without two calls a sample.
        if low is None or value < low:
            low = value
        if value > high:
            high = value
        rounded[bucket(value)] += 1
        size += length
    entry.total_response_time = total
    entry.min_response_time = low
    entry.max_response_time = high
    entry.total_content_length += size


class _Rows:
    def __init__(self) -> None:
        self.rows: list[list[Any]] = []

    def writerow(self, row: Iterable[Any]) -> None:
        self.rows.append(list(row))


def _rows_of(writer: StatsCSV) -> list[list[Any]]:
    collected = _Rows()
    writer._requests_data_rows(collected)  # locust's own row layout, without its header
    return collected.rows


def measurements(environment: Any) -> Measurements:
    """The environment's measurements, created on first use."""
    found: Measurements | None = getattr(environment, _ATTRIBUTE, None)
    if found is None:
        found = Measurements()
        setattr(environment, _ATTRIBUTE, found)
    return found


def attach_measurements(environment: Any) -> None:
    """Send, merge, clear and show the measurements; called once from ``attach``."""
    measured = measurements(environment)
    events = environment.events

    def on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
        data[_MESSAGE_KEY] = measured.serialize()

    def on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        if _MESSAGE_KEY in data:
            measured.merge(data[_MESSAGE_KEY])

    def on_test_start(**_: Any) -> None:
        measured.clear()  # locust clears its own stats when a test starts

    events.report_to_master.add_listener(on_report_to_master)
    events.worker_report.add_listener(on_worker_report)
    events.test_start.add_listener(on_test_start)
    if getattr(environment, "web_ui", None) is not None:
        _extend_web_ui(environment.web_ui, measured)


def is_worker(environment: Any) -> bool:
    return isinstance(getattr(environment, "runner", None), WorkerRunner)


def _extend_web_ui(web_ui: Any, measured: Measurements) -> None:
    """A "flowprobe metrics" tab, fed with each poll of ``/stats/requests`` (locust's
    documented way to extend its web UI: ``extendedTabs``, ``extendedTables``)."""
    columns = ["type", "name", "count", "mean", "min", "max", "p50", "p95", "p99"]
    web_ui.template_args["extendedTabs"] = [{"title": "flowprobe metrics", "key": TAB}]
    web_ui.template_args["extendedTables"] = [
        {"key": TAB, "structure": [{"key": c, "title": c} for c in columns]}
    ]

    def add_measurements(response: Any) -> Any:
        from flask import request

        if request.path != "/stats/requests" or not response.is_json:
            return response
        shown = {**response.json, "extended_stats": [{"key": TAB, "data": measured.rows()}]}
        response.set_data(json.dumps(shown))
        return response

    def flowprobe_metrics() -> Any:
        from flask import jsonify

        return jsonify(measured.rows())

    web_ui.app.after_request(add_measurements)
    web_ui.app.add_url_rule("/flowprobe/metrics", view_func=flowprobe_metrics)
