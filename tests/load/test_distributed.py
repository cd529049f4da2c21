"""A master and two workers on loopback aggregate the custom metrics."""

from __future__ import annotations

import csv
import json
import socket
import subprocess

from langflow_fake import LOCUST, ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_master_aggregates_metrics_from_two_workers(load_env, tmp_path) -> None:
    env = load_env("ok", FLOWPROBE_LOAD_WORKERS="2")
    locustfile = str(ROOT / "loadtests" / "streaming.py")
    port = str(_free_port())
    prefix = tmp_path / "dist"
    master = subprocess.Popen(
        [
            *LOCUST,
            "-f",
            locustfile,
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            port,
            "--headless",
            "--expect-workers",
            "2",
            "--expect-workers-max-wait",
            "20",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "10s",
            "--csv",
            str(prefix),
            "--only-summary",
            "StreamClosedLoop",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = [
        subprocess.Popen(
            [
                *LOCUST,
                "-f",
                locustfile,
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                port,
                "StreamClosedLoop",
            ],
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
