"""Users for the benchmarks: a bare FastHttpUser baseline and the streaming user.

Listeners keep the raw (unrounded) time-to-first-token samples (a flowprobe measurement) and
call samples (locust request events), since locust's own percentiles round to 10 ms above
100 ms, and write their counts and medians to FLOWPROBE_BENCH_OUT when locust quits.
"""

import json
import os
import statistics

from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

from flowprobe.load import RunUser, StreamingRunUser, attach
from flowprobe.load.measurements import measurements

events.init.add_listener(attach)


@events.init.add_listener
def _keep_raw_ttft(environment, **_):
    samples = []
    calls = []

    def on_request(request_type, name, response_time, **_):
        if request_type == "POST":
            calls.append(response_time)

    def on_measurement(kind, name, value, length):
        if name == "time_to_first_token":
            samples.append(value)

    def on_quitting(environment, **_):
        out = os.environ.get("FLOWPROBE_BENCH_OUT")
        if out:
            median = statistics.median(samples) if samples else None
            call_median = statistics.median(calls) if calls else None
            with open(out, "w", encoding="utf-8") as file:
                json.dump(
                    {
                        "ttft_count": len(samples),
                        "ttft_p50_ms": median,
                        "call_count": len(calls),
                        "call_p50_ms": call_median,
                    },
                    file,
                )

    environment.events.request.add_listener(on_request)
    measurements(environment).listeners.append(on_measurement)
    environment.events.quitting.add_listener(on_quitting)


class BareStreamUser(FastHttpUser):
    """The same POST ?stream=true, body read whole, nothing parsed: the generator's floor."""

    wait_time = constant(0)

    def on_start(self):
        self.path = f"/api/v1/run/{os.environ['FLOWPROBE_FLOW']}?stream=true"

    @task
    def call(self):
        self.client.post(self.path, json={"input_value": "hello"}, name="bare")


class ParsingStreamUser(StreamingRunUser):
    wait_time = constant(0)


class PacedRunUser(RunUser):
    """The non-streaming user at the independent client's pace (one call, then 0.5-1 s)."""

    wait_time = between(0.5, 1.0)


class BusyRunUser(RunUser):
    """The non-streaming user with no think time: as many calls as the target answers (wrk's
    pace, for the side-by-side with wrk)."""

    wait_time = constant(0)


class PacedStreamUser(StreamingRunUser):
    """The streaming user at the independent client's pace (one call, then 0.5-1 s)."""

    wait_time = between(0.5, 1.0)
