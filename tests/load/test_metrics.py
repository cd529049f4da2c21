"""Which metrics one stream fires, and when it counts toward goodput (no locust needed)."""

from __future__ import annotations

from flowprobe.load import metrics


class Recorder:
    def __init__(self) -> None:
        self.fired: dict[str, list[float]] = {}

    def record(self, kind: str, name: str, value: float, length: int = 0) -> None:
        assert kind == metrics.METRIC
        self.fired.setdefault(name, []).append(value)


def test_a_stream_within_both_slos_counts_toward_goodput() -> None:
    events = Recorder()
    metrics.fire_stream_metrics(
        events,
        started_at=0.0,
        token_times=[0.1, 0.2, 0.4],
        ended_at=0.5,
        first_byte_at=0.05,
        slo_ttft_ms=200,
        slo_e2e_ms=600,
    )
    assert events.fired[metrics.WITHIN_SLO] == [500.0]
    assert events.fired[metrics.TIME_TO_FIRST_TOKEN] == [100.0]


def test_a_late_first_token_is_not_goodput() -> None:
    events = Recorder()
    metrics.fire_stream_metrics(
        events,
        started_at=0.0,
        token_times=[0.3],
        ended_at=0.5,
        first_byte_at=None,
        slo_ttft_ms=200,
        slo_e2e_ms=600,
    )
    assert metrics.WITHIN_SLO not in events.fired


def test_a_stream_with_no_tokens_is_judged_on_end_to_end_alone() -> None:
    events = Recorder()
    metrics.fire_stream_metrics(
        events,
        started_at=0.0,
        token_times=[],
        ended_at=0.1,
        first_byte_at=None,
        slo_ttft_ms=200,
        slo_e2e_ms=600,
    )
    assert events.fired[metrics.WITHIN_SLO] == [100.0]
    assert metrics.TIME_TO_FIRST_TOKEN not in events.fired
