"""The target on the command line, and what each command does without one (in CI and not).

Every command runs in-process with click's CliRunner; pytest, locust and the local Langflow
are replaced by fakes that record what they were given, so nothing here starts a server.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flowprobe.cli import cli
from flowprobe.commands import check, load, suites
from flowprobe.commands.common import NO_TARGET
from flowprobe.deploycheck import run as deploycheck_run
from flowprobe.errors import FlowprobeError
from flowprobe.local import langflow
from flowprobe.resources import locate

KEY = "sk-cli-target-key-0123456789"
PASSING_SUMMARY = Path(__file__).resolve().parent / "gate" / "baseline.json"
LOCAL = {"FLOWPROBE_BASE_URL": "http://127.0.0.1:7860", "FLOWPROBE_FLOW": "local-flow"}
TALKING = ("test", "record", "check", "load", "drift", "samples")
SUITE_COMMANDS = ("test", "record", "check")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="flowprobe")


class Seen:
    """What the fakes were given: pytest runs, locust launches, local targets started."""

    def __init__(self) -> None:
        self.pytest: list[tuple[list[str], dict[str, str]]] = []
        self.launches: list[dict[str, str]] = []
        self.local_started = 0


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Seen:
    """No FLOWPROBE_* or CI in the environment, an empty current folder, and fakes."""
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_") or n == "CI"]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    found = Seen()

    def fake_pytest(args: list[str], env: dict[str, str]) -> int:
        found.pytest.append((args, env))
        return 0

    def fake_up(config: Any, say: Any) -> dict[str, str]:
        found.local_started += 1
        return dict(LOCAL)

    def fake_launch(plan: Any, env: dict[str, str], say: Any, progress: Any) -> int:
        found.launches.append(dict(env))
        plan.out.mkdir(parents=True, exist_ok=True)  # a passing run's summary, to be judged
        plan.summary.write_text(PASSING_SUMMARY.read_text(encoding="utf-8"), encoding="utf-8")
        return 0

    monkeypatch.setattr(suites, "_pytest", fake_pytest)
    monkeypatch.setattr(suites, "_require_reachable", lambda env: None)
    monkeypatch.setattr(langflow, "up", fake_up)

    def fake_check(plan: Any, env: dict[str, str], say: Any, progress: Any) -> Any:
        found.pytest.append(([], dict(env)))
        raise FlowprobeError("the check stops here in these tests")

    monkeypatch.setattr(load, "launch", fake_launch)
    monkeypatch.setattr(load, "preflight", lambda env: "pre-flight: faked in these tests")
    monkeypatch.setattr(check, "preflight", lambda env: "pre-flight: faked in these tests")
    monkeypatch.setattr(deploycheck_run, "run_check", fake_check)
    return found


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", TALKING)
def test_every_command_that_talks_to_a_target_takes_it_on_its_command_line(command: str) -> None:
    shown = invoke(command, "--help").output
    for option in ("--base-url", "--flow", "--api-key-env"):
        assert option in shown, (command, option)


@pytest.mark.parametrize("command", ["test", "record", "check", "load"])
def test_in_ci_no_target_is_refused_naming_both_ways_out(
    command: str, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    assert _one_line_error(invoke(command)) == f"flowprobe: error: {NO_TARGET}"
    assert (seen.local_started, seen.pytest, seen.launches) == (0, [], [])


@pytest.mark.parametrize("command", ["test", "record", "check", "load"])
@pytest.mark.parametrize("ci", ["", "true"])
def test_a_blank_base_url_is_an_error_naming_it_in_ci_or_not(
    command: str, ci: str, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("FLOWPROBE_BASE_URL", "")
    error = _one_line_error(invoke(command))
    assert error.startswith("flowprobe: error: FLOWPROBE_BASE_URL is set but empty")
    assert (seen.local_started, seen.pytest, seen.launches) == (0, [], [])


@pytest.mark.parametrize("command", SUITE_COMMANDS)
def test_local_in_ci_uses_the_built_in_local_target(
    command: str, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = invoke(command, "--local", *(["--no-load"] if command == "check" else []))
    assert seen.local_started == 1, result.output
    assert seen.pytest[0][1]["FLOWPROBE_BASE_URL"] == LOCAL["FLOWPROBE_BASE_URL"]


def test_outside_ci_no_target_keeps_the_local_target(seen: Seen) -> None:
    result = invoke("test")
    assert result.exit_code == 0, result.output
    assert seen.local_started == 1
    assert seen.pytest[0][1]["FLOWPROBE_BASE_URL"] == LOCAL["FLOWPROBE_BASE_URL"]


def test_the_options_override_the_environment_and_the_key_stays_off_the_command_line(
    seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("FLOWPROBE_BASE_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("FLOWPROBE_FLOW", "env-flow")
    monkeypatch.setenv("STAGING_KEY", KEY)
    args = ("--base-url", "https://staging.example.com", "--flow", "my-flow")
    result = invoke("test", *args, "--api-key-env", "STAGING_KEY", "-k", "shape")
    assert result.exit_code == 0, result.output
    pytest_args, env = seen.pytest[0]
    assert env["FLOWPROBE_BASE_URL"] == "https://staging.example.com"
    assert env["FLOWPROBE_FLOW"] == "my-flow"
    assert env["FLOWPROBE_API_KEY"] == KEY
    assert env["FLOWPROBE_MODE"] == "live"
    assert KEY not in " ".join(pytest_args) + result.output
    assert seen.local_started == 0


def test_the_suites_run_are_the_shipped_ones_with_the_current_folder_as_rootdir(
    seen: Seen, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLOWPROBE_BASE_URL", "http://127.0.0.1:1")
    assert invoke("test", "-k", "shape").exit_code == 0
    args = seen.pytest[0][0]
    assert args == [str(locate("suites")), "--rootdir", str(tmp_path), "-k", "shape"]


@pytest.mark.parametrize("option", ["--base-url", "--flow"])
def test_an_empty_target_option_is_one_line_naming_it(
    option: str, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWPROBE_BASE_URL", "http://127.0.0.1:1")
    error = _one_line_error(invoke("test", option, ""))
    assert error.startswith(f"flowprobe: error: {option} is empty")
    assert (seen.local_started, seen.pytest) == (0, [])


def test_an_api_key_env_that_is_not_set_is_one_line(seen: Seen) -> None:
    result = invoke("test", "--base-url", "http://127.0.0.1:1", "--api-key-env", "NOT_SET_HERE")
    error = _one_line_error(result)
    assert "NOT_SET_HERE" in error
    assert seen.pytest == []


def test_local_and_base_url_together_are_a_usage_error(seen: Seen) -> None:
    result = invoke("test", "--local", "--base-url", "http://127.0.0.1:1")
    assert result.exit_code == 2
    assert "--local and --base-url" in result.output
    assert (seen.local_started, seen.pytest) == (0, [])


def test_load_takes_the_target_from_its_options(
    seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("STAGING_KEY", KEY)
    args = (
        "--base-url",
        "https://staging.example.com",
        "--flow",
        "f",
        "--api-key-env",
        "STAGING_KEY",
    )
    result = invoke("load", *args, "-t", "1", "--out", "out")
    assert result.exit_code == 0, result.output
    (env,) = seen.launches
    assert (env["FLOWPROBE_BASE_URL"], env["FLOWPROBE_FLOW"]) == (
        "https://staging.example.com",
        "f",
    )
    assert env["FLOWPROBE_API_KEY"] == KEY


# -- record: a new folder, swapped in only when the recording succeeded -----------------------


def _record_writing(monkeypatch: pytest.MonkeyPatch, code: int) -> list[Path]:
    """Make the fake pytest record one cassette where it is told to, and exit ``code``."""
    folders: list[Path] = []

    def recording(args: list[str], env: dict[str, str]) -> int:
        folder = Path(env["FLOWPROBE_CASSETTE_DIR"])
        folders.append(folder)
        (folder / "test_shape").mkdir(parents=True)
        (folder / "test_shape" / "new.yaml").write_text("new", encoding="utf-8")
        return code

    monkeypatch.setattr(suites, "_pytest", recording)
    return folders


def _old_cassettes(tmp_path: Path) -> Path:
    old = tmp_path / "mine"
    (old / "test_shape").mkdir(parents=True)
    (old / "test_shape" / "old.yaml").write_text("old", encoding="utf-8")
    return old


def test_a_successful_recording_replaces_the_cassette_folder(
    seen: Seen, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLOWPROBE_BASE_URL", "http://127.0.0.1:1")
    old = _old_cassettes(tmp_path)
    folders = _record_writing(monkeypatch, 0)
    result = invoke("record", "--cassette-dir", str(old))
    assert result.exit_code == 0, result.output
    assert folders[0].parent == old.parent
    assert folders[0] != old
    assert sorted(p.name for p in (old / "test_shape").iterdir()) == ["new.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # nothing left beside it


def test_a_failed_recording_leaves_the_cassette_folder_as_it_was(
    seen: Seen, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLOWPROBE_BASE_URL", "http://127.0.0.1:1")
    old = _old_cassettes(tmp_path)
    _record_writing(monkeypatch, 1)
    result = invoke("record", "--cassette-dir", str(old))
    assert result.exit_code == 1
    assert sorted(p.name for p in (old / "test_shape").iterdir()) == ["old.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    assert "is left as it was" in result.stderr


def test_record_refuses_an_unreachable_target_in_one_line_and_keeps_the_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    old = _old_cassettes(tmp_path)
    url = f"http://127.0.0.1:{port}"
    result = invoke("record", "--base-url", url, "--flow", "f", "--cassette-dir", str(old))
    assert _one_line_error(result).startswith(f"flowprobe: error: cannot reach {url}")
    assert sorted(p.name for p in (old / "test_shape").iterdir()) == ["old.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
