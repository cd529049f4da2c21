"""Non-streaming scenario: ``POST /api/v1/run/{flow}?stream=false``.

Pick one class: ``RunClosedLoop`` (each user waits for its answer, then 0.5-1 s) or
``RunOpenLoop`` (calls start at FLOWPROBE_LOAD_ARRIVAL_RATE per second; -u is the pool).
"""

from locust import between, events

from flowprobe.load import OpenLoopRunUser, RunUser, attach

events.init.add_listener(attach)


class RunClosedLoop(RunUser):
    wait_time = between(0.5, 1.0)


class RunOpenLoop(OpenLoopRunUser):
    pass
