"""Streaming scenario: ``POST /api/v1/run/{flow}?stream=true``, timed token by token.

Pick one class: ``StreamClosedLoop`` or ``StreamOpenLoop`` (see locustfile.py).
"""

from locust import between, events

from flowprobe.load import OpenLoopStreamingRunUser, StreamingRunUser, attach

events.init.add_listener(attach)


class StreamClosedLoop(StreamingRunUser):
    wait_time = between(0.5, 1.0)


class StreamOpenLoop(OpenLoopStreamingRunUser):
    pass
