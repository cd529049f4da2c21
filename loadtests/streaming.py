"""Streaming scenario, closed loop: ``POST /api/v1/run/{flow}?stream=true``, timed token by token.

Each user waits for its answer, then 0.5-1 s. Open loop (calls start at
FLOWPROBE_LOAD_ARRIVAL_RATE per second): ``streaming_open_loop.py``.
"""

from locust import between, events

from flowprobe.load import StreamingRunUser, attach

events.init.add_listener(attach)


class StreamClosedLoop(StreamingRunUser):
    wait_time = between(0.5, 1.0)
