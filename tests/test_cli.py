"""Tests for the flowprobe command, run in-process with click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import flowprobe
from flowprobe.cli import cli
from flowprobe.local import processes


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="flowprobe")


def test_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    commands = result.output.split("Commands:", 1)[1].split()
    expected = {"up", "down", "test", "record", "stub-llm", "load", "drift", "check"}
    assert expected <= set(cli.commands)
    for command in cli.commands:
        assert command in commands


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output == f"flowprobe, version {flowprobe.__version__}\n"


def test_an_unknown_command_is_a_usage_error_with_a_hint() -> None:
    result = invoke("upp")
    assert result.exit_code == 2
    assert "Try 'flowprobe --help'" in result.output


def test_a_bad_option_value_is_a_usage_error() -> None:
    result = invoke("down", "--port", "0")
    assert result.exit_code == 2
    assert "--port" in result.output


@pytest.mark.parametrize("host", ["10.0.0.1", "0.0.0.0", "example.com"])
def test_stub_llm_refuses_a_non_loopback_host(host: str) -> None:
    result = invoke("stub-llm", "--host", host, "--port", "0")
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    message = result.stderr.strip()
    assert message.startswith("flowprobe: error: ")
    assert "\n" not in message
    assert host in message
    assert "loopback" in message
    assert "Traceback" not in result.output


def test_down_in_an_empty_folder_says_it_was_not_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("down")
    assert result.exit_code == 0
    assert result.stdout.strip() == "the local target was not running"
    assert not (tmp_path / ".flowprobe").exists()


def test_a_user_error_in_a_nested_command_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "stream_summary.json"
    result = invoke("baseline", "save", "--run", str(missing), "--out", str(tmp_path / "b.json"))
    assert result.exit_code == 2
    assert result.stderr == f"flowprobe: error: --run file {missing} does not exist\n"
    assert result.stdout == ""


def test_ctrl_c_ends_a_command_with_130_and_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(processes, "stop", interrupted)
    result = invoke("down")
    assert result.exit_code == 130
    assert result.stderr == "flowprobe: interrupted\n"


def test_stub_llm_refuses_an_infinite_delay_in_one_line() -> None:
    result = invoke("stub-llm", "--port", "0", "--first-token-delay-ms", "inf")
    assert result.exit_code == 2
    assert result.stderr == (
        "flowprobe: error: first_token_delay must be a finite number of seconds >= 0, got inf\n"
    )
