"""Custom measurements of each call (see docs/metrics.md).

They are recorded apart from locust's request events (:mod:`flowprobe.load.measurements`), so
locust's totals count calls only. Times are in milliseconds; for ``output_tokens`` the value is
the token count, given as the length as well.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Protocol

# Metric names, not secrets (bandit sees "TOKEN" in them).
METRIC = "METRIC"
ARRIVAL = "ARRIVAL"

TIME_TO_FIRST_TOKEN = "time_to_first_token"  # noqa: S105
INTER_TOKEN_LATENCY = "inter_token_latency"  # noqa: S105
TIME_PER_OUTPUT_TOKEN = "time_per_output_token"  # noqa: S105
END_TO_END = "end_to_end"
OUTPUT_TOKENS = "output_tokens"
TIME_TO_FIRST_BYTE = "time_to_first_byte"
WITHIN_SLO = "within_slo"
ARRIVAL_LATENESS = "lateness"
MISSED_ARRIVAL = "missed"


class Sink(Protocol):
    """Where measurements go: :class:`flowprobe.load.measurements.Measurements`."""

    def record(self, kind: str, name: str, value: float, length: int = 0) -> None: ...


def fire(sink: Sink, name: str, value: float, *, length: int = 0, kind: str = METRIC) -> None:
    """Record one measurement ``value`` (ms, or a count) under ``kind``/``name``."""
    sink.record(kind, name, value, length)


def fire_stream_metrics(
    events: Sink,
    *,
    started_at: float,
    token_times: list[float],
    ended_at: float,
    first_byte_at: float | None,
    slo_ttft_ms: float = float("inf"),
    slo_e2e_ms: float = float("inf"),
) -> None:
    """Every metric of one completed stream; stamps are ``time.perf_counter()`` seconds."""
    end_to_end = (ended_at - started_at) * 1000
    fire(events, END_TO_END, end_to_end)
    ttft = (token_times[0] - started_at) * 1000 if token_times else 0.0
    # A flow with no model streams no tokens: only its end-to-end SLO can apply.
    if ttft <= slo_ttft_ms and end_to_end <= slo_e2e_ms:
        fire(events, WITHIN_SLO, end_to_end)
    if first_byte_at is not None:
        fire(events, TIME_TO_FIRST_BYTE, (first_byte_at - started_at) * 1000)
    count = len(token_times)
    fire(events, OUTPUT_TOKENS, count, length=count)
    if not count:
        return
    fire(events, TIME_TO_FIRST_TOKEN, ttft)
    for before, after in pairwise(token_times):
        fire(events, INTER_TOKEN_LATENCY, (after - before) * 1000)
    if count > 1:
        fire(events, TIME_PER_OUTPUT_TOKEN, (token_times[-1] - token_times[0]) * 1000 / (count - 1))
