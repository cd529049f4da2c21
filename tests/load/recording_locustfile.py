"""A locustfile for the tests: the users, plus listeners that write every request event and
every flowprobe measurement.

Each becomes one JSON line in the file named by FLOWPROBE_TEST_EVENTS (a measurement with its
kind, METRIC or ARRIVAL, as its request type), so a test in a plain pytest process (no gevent)
can see what the users fired.
"""

import json
import os

from locust import constant, events

from flowprobe.load import RunUser, StreamingRunUser, attach
from flowprobe.load.measurements import measurements

events.init.add_listener(attach)


@events.init.add_listener
def _record_events(environment, **_):
    path = os.environ.get("FLOWPROBE_TEST_EVENTS")
    if not path:
        return
    out = open(path, "a", encoding="utf-8")  # noqa: SIM115  # open for the whole run

    def write(request_type, name, response_time, response_length, exception=None, **_):
        line = {
            "request_type": request_type,
            "name": name,
            "response_time": response_time,
            "response_length": response_length,
            "exception": None if exception is None else str(exception),
        }
        out.write(json.dumps(line) + "\n")
        out.flush()

    def write_measurement(kind, name, value, length):
        write(kind, name, value, length)

    environment.events.request.add_listener(write)
    measurements(environment).listeners.append(write_measurement)


class Streamer(StreamingRunUser):
    wait_time = constant(0.05)


class Caller(RunUser):
    wait_time = constant(0.05)


def _burn(user):
    """A generator starved of CPU: spin for 1 s in 10 ms slices, yielding to the hub between."""
    import time

    import gevent

    for _ in range(100):
        slice_ends = time.perf_counter() + 0.01
        while time.perf_counter() < slice_ends:
            pass
        gevent.sleep(0)
    return 0


class CpuBoundStreamer(StreamingRunUser):
    """A user whose waits burn the generator's CPU, so the run must be marked invalid."""

    wait_time = _burn
