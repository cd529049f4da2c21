"""Streaming scenario: ``POST /api/v1/run/{flow}?stream=true``, timed token by token.

Pick one class: ``StreamClosedLoop`` or ``StreamOpenLoop`` (see locustfile.py).
"""

from locust import events

from flowprobe.load import OpenLoopStreamingRunUser, StreamingRunUser, attach
from flowprobe.load.config import think_time

events.init.add_listener(attach)


class StreamClosedLoop(StreamingRunUser):
    wait_time = think_time()  # FLOWPROBE_LOAD_THINK_TIME, 0.5-1 s by default


class StreamOpenLoop(OpenLoopStreamingRunUser):
    pass
