"""`flowprobe sweep` and `flowprobe load --inputs` for real, against the loopback fake Langflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowprobe.cli import cli
from flowprobe.load.summary import LoadSummary

SECRET = "sk-datasetsecret0123456789"


@pytest.fixture
def fake_target(load_env, monkeypatch) -> None:
    for name, value in load_env("ok").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FLOWPROBE_LOAD_SUMMARY")  # each step writes its own


def test_a_real_sweep_runs_its_steps_and_writes_its_reports(
    fake_target, fake_langflow, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    result = CliRunner().invoke(
        cli, ["sweep", "--scenario", "run", "--levels", "1,2", "-t", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "sweep.json").read_text())
    assert [step["level"] for step in report["steps"]] == [1, 2]
    for step in report["steps"]:
        assert step["calls"] > 0
        assert step["goodput_per_s"] > 0
        assert step["e2e_p95_ms"] >= 30  # the fake takes 50 ms per call
        assert step["error_rate"] == 0
    assert report["knee"] is None
    assert report["verdict"] == "no knee up to 2 users: goodput still rose at the last step"
    assert "no knee up to 2 users" in result.output
    assert "sweep step 2/2: 2 users for 3 s (elapsed " in result.output
    assert (out / "sweep.png").read_bytes().startswith(b"\x89PNG")
    for index in (1, 2):
        summary = json.loads((out / f"step-0{index}" / "run_summary.json").read_text())
        assert summary["settings"]["run"]["users"] == index
        assert summary["settings"]["run"]["user_classes"] == ["RunClosedLoop"]
    posts = [body for body in fake_langflow.bodies if body]
    assert len(posts) == 1 + sum(step["calls"] for step in report["steps"])  # and the pre-flight


def test_a_rate_sweep_offers_each_rate_open_loop(
    fake_target, fake_langflow, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", "--mode", "rate", "--levels", "2,4", "--pool", "4", "-t", "3"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    for index, rate in ((1, 2), (2, 4)):
        summary = json.loads((out / f"step-0{index}" / "stream_summary.json").read_text())
        assert summary["settings"]["load"]["arrival_rate"] == rate
        assert summary["arrivals"]["open_loop"] is True
        assert summary["settings"]["run"]["user_classes"] == ["StreamOpenLoop"]
    report = json.loads((out / "sweep.json").read_text())
    assert report["mode"] == "rate"
    assert report["pool"] == 4


def test_load_takes_each_calls_input_from_the_dataset(
    fake_target, fake_langflow, tmp_path: Path
) -> None:
    long_input = "a long question " * 10  # 160 characters
    dataset = tmp_path / "inputs.jsonl"
    records = [
        {"input_value": "short one"},
        {"input_value": long_input, "tweaks": {"OpenAI-1": {"api_key": SECRET, "temperature": 1}}},
        {"input_value": "third", "session_id": "dataset-session"},
    ]
    dataset.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["load", "-u", "1", "-t", "8", "--inputs", str(dataset), "--inputs-order", "cycle"]
    args += ["--tweaks", '{"OpenAI-1": {"model_name": "m"}}', "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    calls = [body for body in fake_langflow.bodies if body][1:]  # after the pre-flight
    assert len(calls) >= 3  # one user, in order: the order the fake saw is the order taken
    assert [call["input_value"] for call in calls] == [
        records[n % 3]["input_value"] for n in range(len(calls))
    ]
    assert calls[1]["tweaks"] == {
        "OpenAI-1": {"model_name": "m", "api_key": SECRET, "temperature": 1}
    }
    assert calls[0]["tweaks"] == {"OpenAI-1": {"model_name": "m"}}
    assert calls[2]["session_id"] == "dataset-session"
    assert calls[0]["session_id"] != "dataset-session"
    summary = LoadSummary.from_json(json.loads((out / "stream_summary.json").read_text()))
    buckets = summary.by_input_length()
    assert list(buckets) == ["<100", "100-499"]
    short_calls = sum(1 for call in calls if len(call["input_value"]) < 100)
    assert buckets["<100"]["end_to_end"].count == short_calls
    assert buckets["100-499"]["time_to_first_token"].count == len(calls) - short_calls
    assert summary.settings.load["inputs"] == str(dataset)
    assert "input chars" in result.output
    assert "100-499" in result.output
    assert SECRET not in result.output
    for path in out.iterdir():
        assert SECRET not in path.read_text(errors="replace"), path
