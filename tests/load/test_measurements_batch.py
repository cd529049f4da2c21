"""A stream's measurements recorded at once count exactly as recorded one by one.

``Measurements.record_all`` updates locust's stats entries itself, once per entry and call,
rather than through ``StatsEntry.log`` per sample: this holds the two equal, field by field, in
a subprocess (the pytest process never imports locust), with the clock held still.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

_COMPARE = textwrap.dedent(
    """
    import json, sys
    from unittest import mock

    from flowprobe.load import metrics
    from flowprobe.load.measurements import Measurements

    clock = [1000.25]

    def state(measured, seen):
        entries = {"total": measured.stats.total}
        entries.update({f"{k[1]} {k[0]}": e for k, e in measured.stats.entries.items()})
        shown = {}
        for key, entry in entries.items():
            shown[key] = {
                **entry.serialize(),
                "response_times_cache": {
                    str(second): [dict(cached.response_times), cached.num_requests]
                    for second, cached in (entry.response_times_cache or {}).items()
                },
            }
        return {"entries": shown, "listened": seen}

    def stream(started):
        # Values on both sides of locust's rounding steps (100, 1000, 10000 ms), floats whose
        # sum depends on the order, a second stream in a later second (the cache fills).
        return metrics.stream_samples(
            started_at=started,
            token_times=[started + t for t in (0.0503, 0.0504, 0.1507, 1.2, 13.81, 13.9)],
            ended_at=started + 14.2,
            first_byte_at=started + 0.01,
            slo_ttft_ms=100.0,
            slo_e2e_ms=20000.0,
        )

    results = []
    with mock.patch("time.time", lambda: clock[0]):
        for batch in (False, True):
            clock[0] = 1000.25
            measured, seen = Measurements(), []
            measured.listeners.append(lambda **sample: seen.append(sample))
            for started in (10.0, 30.123):
                samples = stream(started)
                if batch:
                    measured.record_all("METRIC", samples)
                else:
                    for name, value, length in samples:
                        measured.record("METRIC", name, value, length)
                clock[0] += 2.5
            results.append(state(measured, seen))
    json.dump({"one_by_one": results[0], "at_once": results[1]}, sys.stdout)
    """
)


def _compare() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _COMPARE], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_stream_recorded_at_once_counts_as_recorded_one_by_one() -> None:
    found = _compare()
    one_by_one, at_once = found["one_by_one"], found["at_once"]
    # Every metric of a stream is there, the aggregate too, and the cache was filled.
    assert len(one_by_one["entries"]) == 8
    assert one_by_one["entries"]["total"]["response_times_cache"]
    assert one_by_one["entries"]["METRIC inter_token_latency"]["num_requests"] == 10
    assert at_once == one_by_one
