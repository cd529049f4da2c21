"""Non-streaming scenario, open loop: calls start at FLOWPROBE_LOAD_ARRIVAL_RATE per second in
all (split across the workers of a distributed run); -u is the pool of users that make them."""

from locust import events

from flowprobe.load import OpenLoopRunUser, attach

events.init.add_listener(attach)


class RunOpenLoop(OpenLoopRunUser):
    pass
