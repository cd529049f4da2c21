"""Streaming scenario, closed loop: ``POST /api/v1/run/{flow}?stream=true``, timed token by token.

Each user waits for its answer, then the think time (FLOWPROBE_LOAD_THINK_TIME or
--think-time, 0.5-1 s by default). Open loop (calls start at
FLOWPROBE_LOAD_ARRIVAL_RATE per second): ``streaming_open_loop.py``.
"""

from locust import events

from flowprobe.load import StreamingRunUser, attach
from flowprobe.load.config import think_time

events.init.add_listener(attach)


class StreamClosedLoop(StreamingRunUser):
    wait_time = think_time()  # FLOWPROBE_LOAD_THINK_TIME, 0.5-1 s by default
