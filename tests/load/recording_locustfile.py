"""A locustfile for the tests: the users, plus a listener that writes every request event.

Each event becomes one JSON line in the file named by FLOWPROBE_TEST_EVENTS, so a test in a
plain pytest process (no gevent) can see what the users fired.
"""

import json
import os

from locust import constant, events

from flowprobe.load import RunUser, StreamingRunUser, attach

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

    environment.events.request.add_listener(write)


class Streamer(StreamingRunUser):
    wait_time = constant(0.05)


class Caller(RunUser):
    wait_time = constant(0.05)
