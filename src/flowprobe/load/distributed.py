"""A distributed run (``--master`` with workers, or ``--processes N``): shares and last reports.

Each worker's share of the open-loop arrival rate is handed out by the master. At the start
of a run the master sends each connected worker its index and the number of workers with
locust's custom messages, before the spawn messages that start its users; a worker then takes
``rate / workers`` arrivals per second, so the run's total arrival rate is
FLOWPROBE_LOAD_ARRIVAL_RATE whatever the number of workers. FLOWPROBE_LOAD_WORKERS, if set above
1, must match the workers that connected: a run that would split its rate otherwise than the
user expects is refused.

At the end, locust's master sends its workers ``quit`` and waits only half a second for their
last stats report: a worker that takes longer to stop its users (a loaded machine) loses up to
its last 3 s of calls and metrics. So when the master stops, it first asks each worker to stop
its users and send its last report, and waits for them all (up to the stop timeout plus
``FLUSH_WAIT_S``): the totals then hold every call that completed.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from flowprobe.load.worker_state import WorkerState, worker_state

logger = logging.getLogger("flowprobe.load")
MESSAGE = "flowprobe_arrival_share"
FLUSH = "flowprobe_last_report"
FLUSHED = "flowprobe_last_report_sent"
FLUSH_WAIT_S = 10.0
_PENDING = "flowprobe_pending_share"


def attach_distributed(environment: Any) -> None:
    """A worker listens for its share and for the master's stop; a master hands shares out at
    each start and collects the last reports at each stop."""
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(MESSAGE, _take)
        runner.register_message(FLUSH, _send_last_report)
    elif runner is not None:
        environment.events.test_start.add_listener(lambda **_: _hand_out(environment))
    if isinstance(runner, MasterRunner):
        flushed: set[str] = set()
        runner.register_message(FLUSHED, lambda msg, **_: flushed.add(msg.node_id))
        environment.events.test_stopping.add_listener(
            lambda **_: _collect_last_reports(environment, flushed)
        )


def _send_last_report(environment: Any, **_: Any) -> None:
    """Stop this worker's users, then report what they did, as locust's own reports do."""
    runner = environment.runner
    runner.stop()
    data: dict[str, Any] = {}
    environment.events.report_to_master.fire(client_id=runner.client_id, data=data)
    runner.send_message("stats", data)
    runner.send_message(FLUSHED)


def _collect_last_reports(environment: Any, flushed: set[str]) -> None:
    runner = environment.runner
    working = {
        node.id for node in runner.clients.values() if node.state in (STATE_RUNNING, STATE_SPAWNING)
    }
    flushed.clear()
    for client_id in working:
        runner.send_message(FLUSH, None, client_id)
    deadline = time.monotonic() + float(environment.stop_timeout or 0) + FLUSH_WAIT_S
    while not working <= flushed and time.monotonic() < deadline:
        gevent.sleep(0.05)
    if not working <= flushed:
        logger.warning(
            "flowprobe: %d worker(s) sent no last report in time; their last seconds are missing",
            len(working - flushed),
        )


def _take(environment: Any, msg: Any, **_: Any) -> None:
    index, workers = int(msg.data["index"]), int(msg.data["workers"])
    context: WorkerState | None = getattr(environment, "flowprobe_load", None)
    if context is None:  # the users are not spawned yet: they take it when they are
        setattr(environment, _PENDING, (index, workers))
    else:
        context.share(index=index, workers=workers)


def _hand_out(environment: Any) -> None:
    runner = environment.runner
    workers = 1
    if isinstance(runner, MasterRunner):
        nodes = runner.clients.ready + runner.clients.spawning + runner.clients.running
        ids = sorted(node.id for node in nodes)
        workers = len(ids)
        for index, client_id in enumerate(ids):
            runner.send_message(MESSAGE, {"index": index, "workers": workers}, client_id)
    context = worker_state(environment)
    expected = context.setup.config.workers
    if expected > 1 and expected != workers:
        context.refused = (
            f"FLOWPROBE_LOAD_WORKERS={expected}, but this run has {workers} load process(es): "
            "the arrival rate is now split across the workers automatically; unset it"
        )
        logger.error("flowprobe: %s", context.refused)
        environment.process_exit_code = 2
        gevent.spawn(runner.quit)
