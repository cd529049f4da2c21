"""The locust command lines that every headless run is started with."""

from __future__ import annotations

import sys

from flowprobe.load.command import LocustRun


def test_a_run_in_one_process_is_headless_bounded_and_names_its_users() -> None:
    run = LocustRun(
        locustfiles=["a.py", "steps.py"],
        user_classes=["StreamOpenLoop"],
        users=4,
        run_time_s=20,
        csv_prefix="out/stream",
        html="out/stream.html",
    )
    assert run.command() == [
        *(sys.executable, "-m", "locust", "-f", "a.py,steps.py"),
        *("--headless", "-u", "4", "-r", "4", "-t", "20s", "--only-summary"),
        *("--csv", "out/stream", "--html", "out/stream.html"),
        "StreamOpenLoop",
    ]


def test_spawn_rate_and_fractions_are_kept() -> None:
    command = LocustRun(
        locustfiles=["a.py"], user_classes=["U"], users=3, spawn_rate=0.5, run_time_s=2.5
    ).command()
    assert command[command.index("-r") + 1] == "0.5"
    assert command[command.index("-t") + 1] == "2.5s"


def test_master_and_workers_meet_on_loopback() -> None:
    run = LocustRun(locustfiles=["a.py"], user_classes=["U"], users=2, run_time_s=10)
    master = run.master_command(port=5557, workers=2)
    worker = run.worker_command(port=5557)
    assert master[master.index("--master-bind-host") + 1] == "127.0.0.1"
    assert master[master.index("--expect-workers") + 1] == "2"
    assert "--headless" in master
    assert "-t" in master
    assert worker[worker.index("--master-host") + 1] == "127.0.0.1"
    assert "-t" not in worker
    assert worker[-1] == "U"
