"""Plain `locust` on the shipped locustfiles: one default class, -H, the web UI's metrics tab."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request

import pytest
from langflow_fake import ROOT

from flowprobe.load.command import LOCUST

LOADTESTS = ROOT / "loadtests"


@pytest.mark.parametrize(
    ("locustfile", "classes"),
    [
        ("streaming.py", ["StreamClosedLoop"]),
        ("locustfile.py", ["RunClosedLoop"]),
        ("streaming_open_loop.py", ["StreamOpenLoop"]),
        ("run_open_loop.py", ["RunOpenLoop"]),
    ],
)
def test_each_locustfile_offers_one_class(locustfile, classes) -> None:
    listed = subprocess.run(
        [*LOCUST, "-f", str(LOADTESTS / locustfile), "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert listed.stdout.split()[2:] == classes, listed.stdout  # after "Available Users:"


def _plain_run(env, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *LOCUST,
            "-f",
            str(LOADTESTS / "streaming.py"),
            "--headless",
            "-u",
            "1",
            "-t",
            "3s",
            *options,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_host_given_to_locust_wins_over_the_environment(load_env, fake_langflow, tmp_path):
    env = load_env("ok", FLOWPROBE_BASE_URL="http://127.0.0.1:9")  # discard port: refused
    done = _plain_run(env, "-H", fake_langflow.base_url)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert done.returncode == 0, done.stderr[-3000:]
    assert summary["requests"] > 0
    assert summary["failures"] == 0
    assert summary["settings"]["target"].startswith(fake_langflow.base_url)
    # and the class run is the file's default one, with no class named
    assert summary["settings"]["run"]["user_classes"] == ["StreamClosedLoop"]


def test_a_stale_workers_setting_is_refused(load_env, tmp_path) -> None:
    done = _plain_run(load_env("ok", FLOWPROBE_LOAD_WORKERS="2"))
    assert done.returncode == 2
    assert "FLOWPROBE_LOAD_WORKERS=2, but this run has 1 load process" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "summary.json").exists()


def _free_port() -> int:
    for port in range(8100, 9000):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 8100-8999")


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310  # loopback only
        return json.loads(answer.read())


def test_web_ui_counts_calls_and_shows_metrics_on_their_tab(load_env) -> None:
    port = _free_port()
    command = [
        *LOCUST,
        *("-f", str(LOADTESTS / "streaming.py"), "--web-host", "127.0.0.1"),
        *("--web-port", str(port), "--autostart", "-u", "1", "-t", "8s", "--autoquit", "0"),
    ]
    process = subprocess.Popen(
        command, env=load_env("ok"), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        stats: dict = {}
        for _ in range(40):  # up to 20 s
            time.sleep(0.5)
            try:
                stats = _get(f"http://127.0.0.1:{port}/stats/requests")
            except OSError:
                continue
            if stats.get("total_rps", 0) and stats["stats"][0]["num_requests"] >= 3:
                break
        calls = [s for s in stats["stats"] if s["name"] != "Aggregated"]
        assert [s["method"] for s in calls] == ["POST"]
        total = next(s for s in stats["stats"] if s["name"] == "Aggregated")
        # locust's totals: calls only (each stream's five metrics are not requests)
        assert stats["total_rps"] <= 4
        assert total["num_requests"] == calls[0]["num_requests"]
        tab = {e["key"]: e["data"] for e in stats["extended_stats"]}["flowprobe-metrics"]
        rows = {row["name"]: row for row in tab}
        assert rows["time_to_first_token"]["count"] >= 1
        assert 25 <= rows["time_to_first_token"]["p50"] < 250  # the fake's 30 ms
        assert _get(f"http://127.0.0.1:{port}/flowprobe/metrics") != []
    finally:
        process.terminate()
        process.wait(timeout=30)
