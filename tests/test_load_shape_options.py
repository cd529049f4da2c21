"""`flowprobe load` and `flowprobe check` share their load-shape options, thresholds and think
time: each either applies or is refused with the reason (exit 2, no traceback), before any
call; `check` runs the load pre-flight before its suites."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flowprobe.cli import cli
from flowprobe.commands import load
from flowprobe.deploycheck import run
from flowprobe.errors import FlowprobeError, SettingsError
from flowprobe.load.config import load_config, think_time, think_time_range
from flowprobe.settings import load_settings
from loopback import serving

NOWHERE = ["--base-url", "http://127.0.0.1:9", "--flow", "f"]  # never called: refused first


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """A clean environment in an empty folder; records any launch or check that starts."""
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_") or n == "CI"]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    started: list[str] = []
    monkeypatch.setattr(load, "launch", lambda *a: started.append("load"))
    monkeypatch.setattr(run, "run_check", lambda *a: started.append("check"))
    return started


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("command", ["load", "check"])
@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--threshold", "ttft.p95<800ms"], "unknown metric 'ttft'"),
        (["--threshold", "end_to_end.p97<1s"], "unknown percentile 'p97'"),
        (["--threshold", "end_to_end.p95==1s"], "the operator '==' is not one of"),
        (["--threshold", "end_to_end.p95<1h"], "unknown unit 'h'"),
        (["--open-loop", "--think-time", "0.5-1"], "--think-time applies only to a closed-loop"),
        (["--think-time", "2-1"], "starts above where it ends"),
        (["--think-time", "soon"], "is not a time such as 0.5"),
        (["--rate", "2"], "--rate applies only to an open-loop run"),
        (["--steps", "0:5"], "at least 1 user"),
    ],
)
def test_a_bad_load_option_is_refused_before_any_call(
    nothing_runs: list[str], command: str, args: list[str], reason: str
) -> None:
    result = invoke(command, *NOWHERE, *args)
    assert result.exit_code == 2, result.output
    assert reason in result.output
    assert isinstance(result.exception, SystemExit)  # one line, no traceback
    assert nothing_runs == []


@pytest.mark.parametrize("command", ["load", "check"])
def test_a_think_time_in_the_environment_is_refused_for_an_open_loop_run(
    nothing_runs: list[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv("FLOWPROBE_LOAD_THINK_TIME", "1-2")
    result = invoke(command, *NOWHERE, "--open-loop")
    assert result.exit_code == 2
    assert "FLOWPROBE_LOAD_THINK_TIME applies only to a closed-loop run" in result.output


@pytest.mark.parametrize("command", ["load", "check"])
def test_bad_thresholds_in_pyproject_are_named_where_they_were_written(
    nothing_runs: list[str], tmp_path: Path, command: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.flowprobe]\nthresholds = ["error_rate<1%", "latency<2s"]\n'
    )
    result = invoke(command, *NOWHERE)
    assert result.exit_code == 2
    assert "thresholds in [tool.flowprobe] 'latency<2s': unknown metric 'latency'" in result.output
    assert nothing_runs == []


@pytest.mark.parametrize(
    "args",
    [
        ["-u", "4"],
        ["--threshold", "error_rate<1%"],
        ["--think-time", "1"],
        ["--open-loop"],
        ["--scenario", "run"],
        ["--baseline", "b.json"],
        ["--input-length", "20-400"],
        ["--seed", "3"],
    ],
)
def test_check_without_load_refuses_a_load_option(nothing_runs: list[str], args: list[str]) -> None:
    result = invoke("check", *NOWHERE, "--no-load", *args)
    assert result.exit_code == 2
    assert f"--no-load runs no load, so {args[0]} would not apply" in result.output
    assert nothing_runs == []


class _Answer(BaseHTTPRequestHandler):
    status = 200

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"session_id": "s", "outputs": []}).encode()
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Refusing(_Answer):
    status = 403


@contextmanager
def _target(handler: type[BaseHTTPRequestHandler]) -> Iterator[list[str]]:
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as server:
        yield ["--base-url", f"http://127.0.0.1:{server.server_address[1]}", "--flow", "f"]


def test_check_runs_the_pre_flight_before_its_suites(nothing_runs: list[str]) -> None:
    with _target(_Refusing) as target:
        result = invoke("check", *target)
    assert result.exit_code == 2
    assert "pre-flight:" in result.output
    assert "refused the key (HTTP 403)" in result.output
    assert nothing_runs == []  # the suites never started


def test_check_hands_every_load_option_to_its_load_run(
    nothing_runs: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def capture(plan: run.CheckPlan, env: dict[str, str], *_: Any) -> None:
        seen.update(plan=plan, env=env)
        raise FlowprobeError("captured")  # stop here: the suites are not this test's subject

    monkeypatch.setattr(run, "run_check", capture)
    args = ["--scenario", "run", "-u", "3", "-r", "1.5", "-t", "7s", "--warmup", "2"]
    args += ["--input", "a question", "--tweaks", '{"p": {"x": 1}}', "--think-time", "100ms-0.3"]
    args += ["--threshold", "end_to_end.p95<2s", "--threshold", "error_rate<1%"]
    args += ["--summary-json", str(tmp_path / "judged.json")]
    with _target(_Answer) as target:
        result = invoke("check", *target, *args)
    assert "pre-flight: one run call answered 200" in result.output
    plan, env = seen["plan"], seen["env"]
    assert (plan.load.scenario, plan.load.users, plan.load.spawn_rate) == ("run", 3, 1.5)
    assert (plan.load.run_time_s, plan.load.open_loop) == (7, False)
    assert [t.expression for t in plan.thresholds] == ["end_to_end.p95<2s", "error_rate<1%"]
    assert plan.summary_json == tmp_path / "judged.json"
    assert env["FLOWPROBE_LOAD_INPUT"] == "a question"
    assert env["FLOWPROBE_LOAD_TWEAKS"] == '{"p": {"x": 1}}'
    assert env["FLOWPROBE_LOAD_WARMUP"] == "2.0"
    assert env["FLOWPROBE_LOAD_THINK_TIME"] == "100ms-0.3"


def test_check_sends_each_call_an_input_of_a_dataset_checked_before_anything_runs(
    nothing_runs: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def capture(plan: run.CheckPlan, env: dict[str, str], *_: Any) -> None:
        seen.update(env=env)
        raise FlowprobeError("captured")

    monkeypatch.setattr(run, "run_check", capture)
    dataset = tmp_path / "questions.jsonl"
    dataset.write_text('{"input_value": "a"}\n{"input": "b"}\n', encoding="utf-8")
    with _target(_Answer) as target:
        refused = invoke("check", *target, "--inputs", str(dataset))
    assert refused.exit_code == 2
    assert "line 2" in refused.output
    assert nothing_runs == []
    assert seen == {}
    dataset.write_text('{"input_value": "a"}\n{"input_value": "b"}\n', encoding="utf-8")
    with _target(_Answer) as target:
        invoke("check", *target, "--inputs", str(dataset), "--inputs-order", "cycle")
    assert seen["env"]["FLOWPROBE_LOAD_INPUTS"] == str(dataset.resolve())
    assert seen["env"]["FLOWPROBE_LOAD_INPUTS_ORDER"] == "cycle"


def test_check_reads_thresholds_from_pyproject_and_an_option_replaces_them(
    nothing_runs: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.flowprobe]\nthresholds = ["error_rate<1%", "end_to_end.p99<=2s"]\n'
    )
    plans: list[run.CheckPlan] = []

    def capture(plan: run.CheckPlan, *_: Any) -> None:
        plans.append(plan)
        raise FlowprobeError("captured")

    monkeypatch.setattr(run, "run_check", capture)
    with _target(_Answer) as target:
        invoke("check", *target)
        invoke("check", *target, "--threshold", "calls_per_s>5")
    assert [t.expression for t in plans[0].thresholds] == ["error_rate<1%", "end_to_end.p99<=2s"]
    assert [t.expression for t in plans[1].thresholds] == ["calls_per_s>5"]


def test_the_thresholds_setting_reads_a_toml_array_and_environment_text() -> None:
    from_toml = load_settings(env={}, pyproject={"thresholds": ["error_rate<1%", "calls_per_s>5"]})
    assert from_toml.get("thresholds") == ("error_rate<1%", "calls_per_s>5")
    from_env = load_settings(env={"FLOWPROBE_THRESHOLDS": "error_rate<1%, calls_per_s>5"})
    assert from_env.get("thresholds") == ("error_rate<1%", "calls_per_s>5")
    as_json = load_settings(env={"FLOWPROBE_THRESHOLDS": '["end_to_end.p95<2s"]'}, pyproject={})
    assert as_json.get("thresholds") == ("end_to_end.p95<2s",)
    with pytest.raises(SettingsError, match="not a TOML array"):
        load_settings(env={}, pyproject={"flow": ["a", "b"]})


@pytest.mark.parametrize(
    ("text", "bounds"),
    [("0.5-1.0", (0.5, 1.0)), ("500ms-1s", (0.5, 1.0)), ("2s", (2.0, 2.0)), ("0", (0.0, 0.0))],
)
def test_think_time_takes_seconds_or_milliseconds(text: str, bounds: tuple[float, float]) -> None:
    assert think_time_range(text) == bounds
    assert load_config({"FLOWPROBE_LOAD_THINK_TIME": text}).think_time == bounds


def test_a_closed_loop_user_waits_within_the_think_time() -> None:
    assert load_config({}).think_time == (0.5, 1.0)  # locust's between(0.5, 1.0), as before
    wait = think_time({"FLOWPROBE_LOAD_THINK_TIME": "200ms-300ms"})
    waits = [wait(None) for _ in range(200)]
    assert all(0.2 <= w <= 0.3 for w in waits)
    assert max(waits) - min(waits) > 0.05  # drawn between the bounds, not fixed
    with pytest.raises(SettingsError, match="FLOWPROBE_LOAD_THINK_TIME"):
        think_time({"FLOWPROBE_LOAD_THINK_TIME": "5-1"})


def test_a_load_run_that_wrote_no_summary_fails_saying_so(nothing_runs: list[str]) -> None:
    with _target(_Answer) as target:
        result = invoke("load", *target, "-t", "2")
    assert nothing_runs == ["load"]
    assert result.exit_code == 1
    assert "the load run wrote no summary (.flowprobe/load/stream_summary.json" in result.output
