"""A master and two workers on loopback aggregate the custom metrics."""

from __future__ import annotations

import csv
import json
import socket
import subprocess

from langflow_fake import ROOT

from flowprobe.load.command import LocustRun


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_master_aggregates_metrics_from_two_workers(load_env, tmp_path) -> None:
    env = load_env("ok", FLOWPROBE_LOAD_WORKERS="2")
    port = _free_port()
    run = LocustRun(
        locustfiles=[ROOT / "loadtests" / "streaming.py"],
        user_classes=["StreamClosedLoop"],
        users=2,
        run_time_s=10,
        csv_prefix=tmp_path / "dist",
    )
    master = subprocess.Popen(
        run.master_command(port=port, workers=2),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = [
        subprocess.Popen(
            run.worker_command(port=port),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        _, stderr = master.communicate(timeout=60)
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
    assert master.returncode == 0, stderr[-3000:]
    rows = {r["Name"]: r for r in csv.DictReader((tmp_path / "dist_stats.csv").open())}
    assert int(rows["time_to_first_token"]["Request Count"]) > 10
    assert int(rows["inter_token_latency"]["Request Count"]) > 40
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["metrics_ms"]["time_to_first_token"]["count"] > 10
    assert summary["passed"], summary["reasons"]
