"""The knee sweep offline: its levels, when it stops, the knee, its reports and its options.

Real steps against a loopback fake are in tests/load/test_sweep_and_inputs.py.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flowprobe.cli import cli
from flowprobe.errors import SettingsError
from flowprobe.load.launch import LaunchPlan
from flowprobe.load.sweep import (
    PLOT_MISSING,
    StepResult,
    SweepPlan,
    knee,
    levels,
    run_sweep,
    stop_reason,
    table,
    write_plot,
)

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "loadtests" / "baselines" / "local-stream-2u-20s.json"


def _step(level: float, goodput: float, *, errors: float = 0.0, valid: bool = True) -> StepResult:
    return StepResult(
        level=level,
        calls=10,
        calls_per_s=goodput,
        goodput_per_s=goodput,
        error_rate=errors,
        errors_by_kind={},
        ttft_p50_ms=50,
        ttft_p95_ms=80,
        e2e_p50_ms=100,
        e2e_p95_ms=150,
        valid=valid,
        reasons=() if valid else ("run invalid: load generator CPU reached 99%",),
    )


def test_levels_double_from_the_start_up_to_the_maximum() -> None:
    assert levels("users", start=1, factor=2, maximum=16) == (1, 2, 4, 8, 16)
    assert levels("users", start=1, factor=2, maximum=10) == (1, 2, 4, 8)
    assert levels("rate", start=0.5, factor=1.5, maximum=2) == (0.5, 0.75, 1.125, 1.6875)
    assert levels("rate", start=1, factor=2, maximum=1, listed=[0.5, 1, 3]) == (0.5, 1, 3)


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"start": 0, "factor": 2, "maximum": 4}, "start 0: must be above 0"),
        ({"start": 1, "factor": 1, "maximum": 4}, "factor 1: must be above 1"),
        ({"start": 8, "factor": 2, "maximum": 4}, "maximum 4 is below its start 8"),
        ({"start": 1, "factor": 1.1, "maximum": 100}, "more than 12 steps"),
        ({"start": 1, "factor": 1.5, "maximum": 4}, "whole numbers of users"),
        ({"start": 1, "factor": 2, "maximum": 4, "listed": [1, 4, 2]}, "must rise"),
        ({"start": 1, "factor": 2, "maximum": 4, "listed": [0, 1]}, "above 0"),
    ],
)
def test_levels_that_cannot_be_swept_are_refused(kwargs: dict[str, Any], said: str) -> None:
    with pytest.raises(SettingsError, match=said):
        levels("users", **kwargs)


def test_rising_goodput_goes_on() -> None:
    assert stop_reason([_step(1, 2.0)]) is None
    assert stop_reason([_step(1, 2.0), _step(2, 3.9)]) is None
    assert stop_reason([_step(1, 2.0), _step(2, 3.9), _step(4, 7.5)]) is None


def test_goodput_below_drop_times_the_best_stops_the_sweep() -> None:
    steps = [_step(1, 2.0), _step(2, 4.0), _step(4, 3.5)]
    assert "goodput fell to 3.50/s, below 0.9 x the best 4.00/s" in str(stop_reason(steps))
    assert stop_reason([*steps[:2], _step(4, 3.7)]) is None  # 0.925 x the best: holds
    assert stop_reason(steps, drop=0.8) is None
    found = knee(steps, stop_reason(steps))
    assert found is not None
    assert found.level == 2


def test_two_steps_in_a_row_that_add_nothing_stop_the_sweep() -> None:
    flat_once = [_step(1, 2.0), _step(2, 4.0), _step(4, 4.1)]
    assert stop_reason(flat_once) is None
    flat_twice = [*flat_once, _step(8, 4.15)]
    reason = stop_reason(flat_twice)
    assert reason is not None
    assert reason.startswith("goodput stopped rising: 2 steps in a row added less than 5%")
    found = knee(flat_twice, reason)
    assert found is not None
    assert found.level == 2  # 4.0/s is within 5 % of the best, 4.1/s: 4 users bought nothing
    steep = [_step(1, 2.0), _step(2, 3.0), _step(4, 4.0), _step(8, 4.1), _step(16, 4.12)]
    assert knee(steep, stop_reason(steep)).level == 4  # type: ignore[union-attr]
    # A step that rises again between two flat ones resets the count.
    assert stop_reason([*flat_once, _step(8, 4.5), _step(16, 4.6)]) is None


def test_errors_past_the_bound_stop_the_sweep_even_while_goodput_rises() -> None:
    steps = [_step(1, 2.0), _step(2, 4.0), _step(4, 7.9, errors=0.06)]
    assert stop_reason(steps) == "error rate 6.0% is above 5.0%"
    assert stop_reason(steps, max_error_rate=0.1) is None
    assert knee(steps, stop_reason(steps)).level == 2  # type: ignore[union-attr]


def test_an_invalid_step_stops_the_sweep() -> None:
    steps = [_step(1, 2.0), _step(2, 4.0, valid=False)]
    assert "the step is invalid: run invalid: load generator CPU" in str(stop_reason(steps))


def test_no_knee_without_a_stop_or_when_the_first_step_breaks() -> None:
    rising = [_step(1, 2.0), _step(2, 4.0)]
    assert knee(rising, stop_reason(rising)) is None
    first = [_step(1, 2.0, errors=0.5)]
    assert knee(first, stop_reason(first)) is None
    never = [_step(1, 0.0), _step(2, 0.0, errors=0.5)]
    assert knee(never, stop_reason(never)) is None
    slow = [_step(1, 0.0), _step(2, 0.0)]
    assert str(stop_reason(slow)).startswith("no call met the SLO in two steps")
    assert knee(slow, stop_reason(slow)) is None


def _summary(goodput: float, error_rate: float = 0.0) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(BASELINE.read_text("utf-8"))["summary"]
    document.update(goodput_per_s=goodput, error_rate=error_rate)
    return document


class _FakeSteps:
    """Runs no locust: writes the summary each step would have, and remembers the plans."""

    def __init__(self, goodputs: list[float]) -> None:
        self.goodputs = goodputs
        self.ran: list[tuple[LaunchPlan, Mapping[str, str]]] = []

    def __call__(self, plan: LaunchPlan, env: Mapping[str, str]) -> int:
        self.ran.append((plan, env))
        plan.out.mkdir(parents=True)
        goodput = self.goodputs[len(self.ran) - 1]
        plan.summary.write_text(json.dumps(_summary(goodput)), encoding="utf-8")
        return 0


def _plan(tmp_path: Path, mode: str = "users", found: tuple[float, ...] = (1, 2, 4, 8)) -> Any:
    return SweepPlan(mode=mode, levels=found, step_s=3, pool=6, launch=LaunchPlan(out=tmp_path))


def test_the_sweep_stops_after_the_step_where_goodput_fell(tmp_path: Path) -> None:
    steps = _FakeSteps([2.0, 4.0, 2.5, 9.0])
    said: list[str] = []
    result = run_sweep(_plan(tmp_path), {"X": "1"}, said.append, said.append, steps)
    assert [plan.users for plan, _ in steps.ran] == [1, 2, 4]  # never the 4th step
    assert [plan.out.name for plan, _ in steps.ran] == ["step-01", "step-02", "step-03"]
    assert all(not plan.open_loop and plan.run_time_s == 3 for plan, _ in steps.ran)
    assert "FLOWPROBE_LOAD_ARRIVAL_RATE" not in steps.ran[0][1]
    assert steps.ran[0][1]["X"] == "1"
    assert result.knee is not None
    assert result.knee.level == 2
    assert result.verdict().startswith("knee: 2 users, goodput 4.00 calls/s within the SLO")
    assert any(line.startswith("sweep step 3/4: 4 users for 3 s (elapsed ") for line in said)
    report = result.to_json()
    assert [step["level"] for step in report["steps"]] == [1, 2, 4]
    assert report["knee"]["level"] == 2
    assert report["steps"][0]["ttft_p95_ms"] is not None
    assert report["steps"][0]["e2e_p50_ms"] is not None
    lines = table(result)
    assert lines[2].endswith("<- knee")
    assert lines[-1] == result.verdict()


def test_a_rate_sweep_is_open_loop_with_its_pool(tmp_path: Path) -> None:
    steps = _FakeSteps([1.0, 2.0])
    result = run_sweep(_plan(tmp_path, "rate", (0.5, 1)), {}, print, print, steps)
    assert [(p.open_loop, p.users) for p, _ in steps.ran] == [(True, 6), (True, 6)]
    assert [env["FLOWPROBE_LOAD_ARRIVAL_RATE"] for _, env in steps.ran] == ["0.5", "1"]
    assert result.knee is None
    assert result.verdict() == "no knee up to 1 arrivals/s: goodput still rose at the last step"
    assert result.to_json()["knee"] is None


def test_a_step_that_wrote_no_summary_ends_the_sweep_with_the_reason(tmp_path: Path) -> None:
    def crashed(plan: LaunchPlan, env: Mapping[str, str]) -> int:
        return 1

    result = run_sweep(_plan(tmp_path), {}, print, print, crashed)
    assert result.steps == ()
    assert str(result.stopped).startswith("step 1 wrote no summary")
    assert result.knee is None


def test_the_plot_is_a_png_and_a_missing_matplotlib_is_said(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("matplotlib")
    result = run_sweep(_plan(tmp_path), {}, print, print, _FakeSteps([2.0, 4.0, 2.0, 2.0]))
    path = tmp_path / "sweep.png"
    assert write_plot(result, path) == f"plot: {path}"
    assert path.read_bytes().startswith(b"\x89PNG")
    real_import = builtins.__import__

    def without_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_matplotlib)
    assert write_plot(result, tmp_path / "none.png") == PLOT_MISSING
    assert not (tmp_path / "none.png").exists()


@pytest.fixture
def offline(monkeypatch) -> list[Any]:
    """A target that is never called: the pre-flight and the steps are replaced."""
    for name in ("FLOWPROBE_API_KEY", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLOWPROBE_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("FLOWPROBE_FLOW", "f")
    monkeypatch.setattr("flowprobe.commands.sweep.preflight", lambda env: "pre-flight: faked")
    steps = _FakeSteps([2.0, 4.0, 4.1, 4.1, 4.1])
    monkeypatch.setattr(
        "flowprobe.load.sweep.launch", lambda plan, env, say, progress: steps(plan, env)
    )
    return steps.ran


def test_the_command_writes_json_a_table_and_a_plot(tmp_path: Path, offline: list[Any]) -> None:
    out = tmp_path / "sweep"
    result = CliRunner().invoke(cli, ["sweep", "-t", "3", "--max", "16", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(offline) == 4  # 1, 2, 4 and 8 users; never 16
    report = json.loads((out / "sweep.json").read_text())
    assert report["knee"]["level"] == 2
    assert report["stopped"].startswith("goodput stopped rising")
    assert "knee: 2 users" in result.output
    assert "users  calls  calls/s goodput/s" in result.output
    assert (out / "sweep.png").exists()


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--pool", "4"], "--pool applies only to --mode rate"),
        (["--levels", "1,2", "--max", "4"], "--levels lists every level: drop --max"),
        (["--levels", "1,x"], "is not a list of numbers"),
        (["--levels", "1.5,3"], "whole numbers of users"),
        (["--factor", "1"], "factor 1: must be above 1"),
        (["-t", "2.5"], "not a whole number of seconds"),
        (["-t", "1"], "allowed: 2 to 600 s"),
        (["--drop", "1"], "--drop"),
        (["--inputs-order", "cycle"], "--inputs-order applies only to a dataset"),
        (["--input-length", "0-3"], "input length '0-3'"),
    ],
)
def test_the_command_refuses_what_would_not_apply(
    tmp_path: Path, args: list[str], said: str
) -> None:
    out = tmp_path / "sweep"
    result = CliRunner().invoke(cli, ["sweep", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
