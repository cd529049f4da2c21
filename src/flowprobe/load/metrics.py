"""Custom measurements of each call (see docs/metrics.md).

They are recorded apart from locust's request events (:mod:`flowprobe.load.measurements`), so
locust's totals count calls only. Times are in milliseconds; for ``output_tokens`` the value is
the token count, given as the length as well.
"""

from __future__ import annotations

from collections.abc import Sequence
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


Sample = tuple[str, float, int]  # (name, value, length) of one measurement


class Sink(Protocol):
    """Where measurements go: :class:`flowprobe.load.measurements.Measurements`."""

    def record(self, kind: str, name: str, value: float, length: int = 0) -> None: ...


def fire(sink: Sink, name: str, value: float, *, length: int = 0, kind: str = METRIC) -> None:
    """Record one measurement ``value`` (ms, or a count) under ``kind``/``name``."""
    sink.record(kind, name, value, length)


def fire_all(sink: Sink, samples: Sequence[Sample], *, kind: str = METRIC) -> None:
    """Record the measurements of one call, in order: at once where the sink can
    (``record_all``, one clock reading for all), else one by one."""
    record_all = getattr(sink, "record_all", None)
    if record_all is not None:
        record_all(kind, samples)
        return
    for name, value, length in samples:
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
    fire_all(
        events,
        stream_samples(
            started_at=started_at,
            token_times=token_times,
            ended_at=ended_at,
            first_byte_at=first_byte_at,
            slo_ttft_ms=slo_ttft_ms,
            slo_e2e_ms=slo_e2e_ms,
        ),
    )


def stream_samples(
    *,
    started_at: float,
    token_times: list[float],
    ended_at: float,
    first_byte_at: float | None,
    slo_ttft_ms: float,
    slo_e2e_ms: float,
) -> list[Sample]:
    """The measurements of one completed stream, in the order they are recorded."""
    end_to_end = (ended_at - started_at) * 1000
    samples: list[Sample] = [(END_TO_END, end_to_end, 0)]
    ttft = (token_times[0] - started_at) * 1000 if token_times else 0.0
    # A flow with no model streams no tokens: only its end-to-end SLO can apply.
    if ttft <= slo_ttft_ms and end_to_end <= slo_e2e_ms:
        samples.append((WITHIN_SLO, end_to_end, 0))
    if first_byte_at is not None:
        samples.append((TIME_TO_FIRST_BYTE, (first_byte_at - started_at) * 1000, 0))
    count = len(token_times)
    samples.append((OUTPUT_TOKENS, count, count))
    if not count:
        return samples
    samples.append((TIME_TO_FIRST_TOKEN, ttft, 0))
    samples += [
        (INTER_TOKEN_LATENCY, (after - before) * 1000, 0) for before, after in pairwise(token_times)
    ]
    if count > 1:
        per_token = (token_times[-1] - token_times[0]) * 1000 / (count - 1)
        samples.append((TIME_PER_OUTPUT_TOKEN, per_token, 0))
    return samples
