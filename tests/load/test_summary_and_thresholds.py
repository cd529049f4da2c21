"""A real short `flowprobe load` and `flowprobe check` against the fake Langflow: the
end-of-run summary on stdout, thresholds judged with their measured values (exit 1 when one
breaks), the judged summary in JSON, and the think time reaching the closed-loop users."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from langflow_fake import ROOT

from flowprobe.cli import cli
from flowprobe.deploycheck import run
from flowprobe.load.summary import LoadSummary


@pytest.fixture
def target(load_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name, value in load_env("ok").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FLOWPROBE_LOAD_SUMMARY")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def rows(stdout: str) -> dict[str, str]:
    """The summary's lines by label: ``{"calls": "42  2.10/s", ...}``."""
    found = {}
    for line in stdout.splitlines():
        label, dots, value = line.partition(" .")
        if dots:
            found[label.strip()] = value.lstrip(".").removeprefix(": ").strip()
    return found


def test_load_prints_the_summary_and_fails_on_a_broken_threshold(target: Path) -> None:
    out, copy = target / "out", target / "ci" / "load-summary.json"
    done = invoke(
        *("load", "-u", "2", "-t", "3", "--out", str(out), "--summary-json", str(copy)),
        *("--threshold", "end_to_end.p50<10s", "--threshold", "time_to_first_token.p95<1ms"),
    )
    assert done.exit_code == 1, done.output
    shown = rows(done.stdout)
    summary = LoadSummary.from_json(json.loads((out / "stream_summary.json").read_text()))
    assert shown["calls"] == f"{summary.requests}  {summary.requests_per_s:.2f}/s"
    assert summary.requests > 0
    assert shown["failures"] == "0  0.00%"
    assert "p95=" in shown["time_to_first_token"]
    assert "p99=" in shown["end_to_end"]
    assert shown["pass end_to_end.p50<10s"].endswith(" ms")
    assert shown["FAIL time_to_first_token.p95<1ms"].endswith(", not < 1 ms")
    assert shown["verdict"].startswith("FAIL: threshold time_to_first_token.p95<1ms broken")
    assert [o.passed for o in summary.thresholds or ()] == [True, False]
    assert json.loads(copy.read_text()) == summary.to_json()
    for text in (done.stdout, copy.read_text()):
        assert "load-test-key" not in text


def test_a_non_streaming_run_fails_a_token_threshold_for_want_of_data(target: Path) -> None:
    done = invoke(
        *("load", "--scenario", "run", "-u", "1", "-t", "2", "--out", str(target / "out")),
        *("--threshold", "time_to_first_token.p95<800ms", "--think-time", "0.1"),
    )
    assert done.exit_code == 1, done.output
    shown = rows(done.stdout)
    assert "time_to_first_token" not in shown
    assert "end_to_end" in shown
    assert shown["FAIL time_to_first_token.p95<800ms"].startswith(
        "no data: the run measured no time_to_first_token"
    )


def test_thresholds_from_pyproject_that_hold_pass_and_a_long_think_time_paces_the_user(
    target: Path,
) -> None:
    (target / "pyproject.toml").write_text(
        '[tool.flowprobe]\nthresholds = ["error_rate<1%", "end_to_end.p95<5s"]\n'
    )
    done = invoke("load", "-u", "1", "-t", "3", "--out", str(target / "out"), "--wait", "2s")
    assert done.exit_code == 0, done.output
    assert rows(done.stdout)["verdict"].startswith("PASS: valid, 2 threshold(s) held")
    summary = LoadSummary.from_json(
        json.loads((target / "out" / "stream_summary.json").read_text())
    )
    assert summary.settings.load["think_time"] == [2.0, 2.0]
    assert 1 <= summary.requests <= 2  # a 2 s pause after each ~50 ms answer, in 3 s


@pytest.mark.parametrize(
    ("locustfile", "closed", "open_file", "opened"),
    [
        ("streaming", "StreamClosedLoop", "streaming_open_loop", "StreamOpenLoop"),
        ("locustfile", "RunClosedLoop", "run_open_loop", "RunOpenLoop"),
    ],
)
@pytest.mark.parametrize(
    ("think_time", "low", "high"), [("2s", 2.0, 2.0), ("10ms-30ms", 0.01, 0.03), ("", 0.5, 1.0)]
)
def test_the_closed_loop_users_wait_the_think_time_and_the_open_loop_ones_do_not(
    locustfile: str,
    closed: str,
    open_file: str,
    opened: str,
    think_time: str,
    low: float,
    high: float,
) -> None:
    script = (
        f"import {locustfile} as f, {open_file} as o\n"
        f"waits = [f.{closed}.wait_time(None) for _ in range(200)]\n"
        f"print(min(waits), max(waits), o.{opened}.wait_time(None))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWPROBE_")}
    env.update(PYTHONPATH=str(ROOT / "loadtests"), FLOWPROBE_LOAD_THINK_TIME=think_time)
    done = subprocess.run(  # locust patches the standard library: never in this process
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shortest, longest, open_loop = map(float, done.stdout.split())
    assert low <= shortest <= longest <= high
    assert open_loop == 0.0


def test_check_without_a_baseline_gates_its_load_half_on_thresholds(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def suites_pass(plan: Any, env: Any, result: run.CheckResult, say: Any) -> None:
        result.tests = {"total": 1, "passed": 1, "failed": 0, "skipped": 0}

    monkeypatch.setattr(run, "_run_suites", suites_pass)  # the suites are not this test's subject
    done = invoke(
        *("check", "-u", "2", "-t", "3", "--think-time", "0-50ms", "--out", str(target / "c")),
        *("--threshold", "end_to_end.p99<1ms", "--threshold", "calls_per_s>0.5"),
    )
    assert done.exit_code == 1, done.output
    assert "pre-flight: one run call answered 200" in done.output
    assert done.stdout.startswith("flowprobe check: FAIL")  # stdout: the verdict alone
    shown = rows(done.stderr)  # the load summary, with the progress
    assert shown["FAIL end_to_end.p99<1ms"].endswith(", not < 1 ms")
    assert shown["pass calls_per_s>0.5"].endswith("/s")
    assert "load: threshold end_to_end.p99<1ms broken" in done.stdout
    assert "judged on its validity and 2 threshold(s)" in done.stdout
    summary = json.loads((target / "c" / "load" / "stream_summary.json").read_text())
    assert summary["settings"]["load"]["think_time"] == [0.0, 0.05]
    assert summary["settings"]["run"]["users"] == 2
