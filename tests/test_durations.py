"""Times are typed as locust and k6 users type them: 20, 20s, 5m, 1h."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flowprobe.cli import cli
from flowprobe.commands import load

TARGET = ["--base-url", "http://127.0.0.1:9", "--flow", "f"]
PASSING_SUMMARY = Path(__file__).resolve().parent / "gate" / "baseline.json"


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Any]:
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_") or n == "CI"]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    seen: list[Any] = []

    def fake_launch(plan: Any, env: Any, say: Any, progress: Any) -> int:
        seen.append(plan)
        plan.out.mkdir(parents=True, exist_ok=True)  # a passing run's summary, to be judged
        plan.summary.write_text(PASSING_SUMMARY.read_text(encoding="utf-8"), encoding="utf-8")
        return 0

    monkeypatch.setattr(load, "preflight", lambda env: "pre-flight: faked")
    monkeypatch.setattr(load, "launch", fake_launch)
    return seen


@pytest.mark.parametrize(("text", "seconds"), [("20", 20), ("20s", 20), ("5m", 300), ("1h", 3600)])
def test_a_run_time_in_any_unit(plans: list[Any], text: str, seconds: int) -> None:
    result = CliRunner().invoke(cli, ["load", *TARGET, "-t", text])
    assert result.exit_code == 0, result.output
    assert plans[0].run_time_s == seconds


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2x", "is not a duration"),
        ("0", "allowed: 1 to 3600 s"),
        ("1h30m", "is 5400 s; allowed"),
        ("1.5", "not a whole number of seconds"),
    ],
)
def test_a_run_time_that_cannot_be_is_refused(plans: list[Any], text: str, reason: str) -> None:
    result = CliRunner().invoke(cli, ["load", *TARGET, "-t", text])
    assert result.exit_code == 2
    assert reason in result.output
    assert plans == []


def test_a_warm_up_in_minutes_must_leave_time_to_measure(plans: list[Any]) -> None:
    result = CliRunner().invoke(cli, ["load", *TARGET, "-t", "1m", "--warmup", "1m"])
    assert result.exit_code == 2
    assert "leaves nothing of a 60 s run" in result.output
    ok = CliRunner().invoke(cli, ["load", *TARGET, "-t", "2m", "--warmup", "30s"])
    assert ok.exit_code == 0, ok.output
