"""Non-streaming scenario, closed loop: ``POST /api/v1/run/{flow}?stream=false``.

Each user waits for its answer, then 0.5-1 s. Open loop (calls start at
FLOWPROBE_LOAD_ARRIVAL_RATE per second): ``run_open_loop.py``.
"""

from locust import between, events

from flowprobe.load import RunUser, attach

events.init.add_listener(attach)


class RunClosedLoop(RunUser):
    wait_time = between(0.5, 1.0)
