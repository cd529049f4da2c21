"""`flowprobe load` end to end against the fake Langflow, and what makes a run invalid."""

from __future__ import annotations

import csv
import json
from itertools import pairwise

from click.testing import CliRunner

from flowprobe.cli import cli


def test_bad_settings_are_refused_before_the_run(load_env, monkeypatch, tmp_path) -> None:
    for name, value in load_env("ok", FLOWPROBE_LOAD_SESSION="sometimes").items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["load", "-t", "2", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "FLOWPROBE_LOAD_SESSION" in result.output
    assert not (tmp_path / "out").exists()


def test_load_command_writes_csv_html_and_summary(load_env, monkeypatch, tmp_path) -> None:
    for name, value in load_env("ok").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FLOWPROBE_LOAD_SUMMARY")
    out = tmp_path / "out"
    out.mkdir()
    # an earlier run's numbers, which the first progress line must not show
    (out / "stream_stats.csv").write_text(
        "Type,Name,Request Count,Failure Count,Requests/s\nPOST,/x,987654,0,1.0\n"
    )
    result = CliRunner().invoke(cli, ["load", "-u", "2", "-t", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {path.name for path in out.iterdir()}
    assert {"stream_stats.csv", "stream.html", "stream_summary.json"} <= names
    assert {"stream_metrics.csv", "stream_metrics_history.csv"} <= names
    # no terminal here: plain progress lines, one every 10 s, no \r; the first is this run's
    assert "\r" not in result.output
    progress = [line for line in result.output.splitlines() if "requests " in line]
    assert progress[0] == "    0s  requests 0 (waiting for the first answers)", result.output
    seconds = [int(line.split("s")[0]) for line in progress]
    assert all(later - earlier >= 10 for earlier, later in pairwise(seconds)), result.output
    assert "987654" not in result.output
    # locust's own rows count the calls alone; flowprobe's metrics have their own file
    calls = {r["Name"]: r for r in csv.DictReader((out / "stream_stats.csv").open())}
    assert set(calls) == {"/api/v1/run/ok?stream=true", "Aggregated"}
    measured = {r["Name"]: r for r in csv.DictReader((out / "stream_metrics.csv").open())}
    assert {r["Type"] for r in measured.values()} == {"METRIC"}
    summary = json.loads((out / "stream_summary.json").read_text())
    assert summary["passed"]
    # locust rewrites its CSV each second: a call that ended while it stopped may be missing there
    assert 0 <= summary["requests"] - int(calls["Aggregated"]["Request Count"]) <= 2
    ttft = summary["metrics_ms"]["time_to_first_token"]
    assert ttft["count"] == summary["requests"]
    assert ttft["count"] == int(measured["time_to_first_token"]["Request Count"])
    assert ttft["p50"] == int(measured["time_to_first_token"]["50%"])
    assert summary["settings"]["flowprobe"]["api_key"] == "***"
    # What `flowprobe gate` bounds its verdicts with: every sample, the run's shape.
    for entry in summary["metrics_ms"].values():
        assert sum(entry["histogram"].values()) == entry["count"]
    tokens = summary["metrics_ms"]["output_tokens"]["histogram"]
    assert summary["tokens"] == sum(int(k) * v for k, v in tokens.items())
    assert summary["settings"]["run"]["users"] == 2
    assert summary["settings"]["run"]["user_classes"] == ["StreamClosedLoop"]
    for path in out.iterdir():
        assert "load-test-key" not in path.read_text(errors="replace"), path


def test_missed_arrivals_make_the_run_invalid(load_env, tmp_path) -> None:
    import subprocess

    from langflow_fake import ROOT

    from flowprobe.load.command import LocustRun

    env = load_env("ok", FLOWPROBE_LOAD_ARRIVAL_RATE="200")  # one user cannot keep up
    command = LocustRun(
        locustfiles=[ROOT / "loadtests" / "streaming_open_loop.py"],
        user_classes=["StreamOpenLoop"],
        run_time_s=2,
    ).command()
    done = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=40, check=False
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert done.returncode == 1
    assert summary["valid"] is False
    assert summary["arrivals"]["missed_ratio"] > 0.01
    assert any("arrivals were missed" in reason for reason in summary["reasons"])


# The limit is lowered from 90 % so that a busy shared machine, which may not give a spinning
# generator a whole core, still shows the spinning one over it and the light one under it.
CPU_LIMIT = "50"


def test_a_generator_short_of_cpu_makes_the_run_invalid(load_env, run_locust) -> None:
    env = load_env("ok", FLOWPROBE_LOAD_MAX_CPU_PERCENT=CPU_LIMIT)
    code, _, summary = run_locust(env, "CpuBoundStreamer", seconds=4)
    assert code == 1
    assert summary["valid"] is False
    assert summary["generator_cpu_percent"]["max"] > float(CPU_LIMIT)
    assert any("load generator CPU reached" in reason for reason in summary["reasons"])


def test_a_light_generator_keeps_the_run_valid(load_env, run_locust) -> None:
    env = load_env("ok", FLOWPROBE_LOAD_MAX_CPU_PERCENT=CPU_LIMIT)
    code, _, summary = run_locust(env, "Streamer", seconds=4)
    assert summary["generator_cpu_percent"]["samples"] >= 2
    assert summary["generator_cpu_percent"]["max"] < float(CPU_LIMIT)
    assert summary["valid"] is True, summary["reasons"]
    assert code == 0
