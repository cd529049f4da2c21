"""The local target's process control, against a machine that runs other things too.

`flowprobe down` stops only what `flowprobe up` started.
A process is `up`'s only while its pid, start time and exact command line all match what was
recorded: a process that merely has "langflow" in its command line, or that now holds a recorded
pid, survives `down`. A record that cannot be read is a one-line error (exit 2) that keeps the
file, never a guess. ``target.env`` is private from the moment it exists, and the Langflow
install stops at its deadline with a message that says how to allow longer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner, Result

from flowprobe.cli import cli
from flowprobe.errors import FlowprobeError
from flowprobe.local import install, processes, target_env
from flowprobe.local.config import LocalConfig

# Looks like Langflow to anyone matching command lines by name: `down` must not care.
LOOKALIKE = "import time; time.sleep(60)  # langflow run --host 127.0.0.1"


def _down(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(folder)
    return CliRunner().invoke(cli, ["down"], prog_name="flowprobe")


@pytest.fixture
def lookalike() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process named like Langflow, leading a process group of its own."""
    process = subprocess.Popen([sys.executable, "-c", LOOKALIKE], start_new_session=True)
    _wait_for_exec(process.pid, LOOKALIKE)
    yield process
    process.kill()
    process.wait()


def _wait_for_exec(pid: int, marker: str) -> None:
    deadline = time.monotonic() + 10
    while marker not in " ".join(psutil.Process(pid).cmdline()):
        assert time.monotonic() < deadline, f"process {pid} never ran {marker!r}"
        time.sleep(0.02)


def _state(folder: Path) -> Path:
    state = folder / ".flowprobe"
    state.mkdir(exist_ok=True)
    return state


def _write_pids(folder: Path, record: object) -> Path:
    path = _state(folder) / "pids.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_down_stops_what_up_recorded_and_spares_a_lookalike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lookalike: subprocess.Popen[bytes]
) -> None:
    # Ours starts a child of its own, as Langflow starts workers: both must stop.
    script = (
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(60)']); time.sleep(60)  # langflow"
    )
    ours = processes.spawn([sys.executable, "-c", script], tmp_path / "ours.log")
    _wait_for_exec(ours, "langflow")
    deadline = time.monotonic() + 10
    while not psutil.Process(ours).children():
        assert time.monotonic() < deadline, "the started process never started its worker"
        time.sleep(0.02)
    (worker,) = psutil.Process(ours).children()
    processes.record(LocalConfig(state_dir=_state(tmp_path)), {"langflow": ours, "port": 1})

    result = _down(tmp_path, monkeypatch)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("stopped 1 process(es)")
    assert not psutil.pid_exists(ours) or psutil.Process(ours).status() == psutil.STATUS_ZOMBIE
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    assert lookalike.poll() is None, "down stopped a process it did not start"
    assert not (tmp_path / ".flowprobe" / "pids.json").exists()


def test_a_recycled_pid_with_another_start_time_survives_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lookalike: subprocess.Popen[bytes]
) -> None:
    command = psutil.Process(lookalike.pid).cmdline()
    started = psutil.Process(lookalike.pid).create_time() - 100  # the pid's earlier owner
    _write_pids(
        tmp_path, {"langflow": {"pid": lookalike.pid, "started": started, "command": command}}
    )

    result = _down(tmp_path, monkeypatch)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "the local target was not running"
    assert lookalike.poll() is None


def test_the_same_pid_and_start_time_with_another_command_survives_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lookalike: subprocess.Popen[bytes]
) -> None:
    identity = processes._identity(lookalike.pid)
    identity["command"] = [*identity["command"], "--workers", "1"]
    _write_pids(tmp_path, {"langflow": identity, "stub": identity})

    result = _down(tmp_path, monkeypatch)

    assert result.exit_code == 0, result.output
    assert lookalike.poll() is None


def test_the_identity_recorded_is_the_one_down_matches(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    # The positive control for the two tests above: unchanged, the record does match.
    config = LocalConfig(state_dir=_state(tmp_path))
    processes.record(
        config, {"langflow": lookalike.pid, "stub": lookalike.pid, "stub_v6": lookalike.pid}
    )
    assert processes.running(config)


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        json.dumps({"langflow": 12345, "stub": 12346}).encode(),  # bare pids: no identity
        json.dumps([1, 2]).encode(),
        json.dumps({"langflow": {"pid": "12345", "started": 1.0, "command": ["lf"]}}).encode(),
        json.dumps({"stub": {"pid": True, "started": 1.0, "command": ["x"]}}).encode(),
        b'{"langflow": "\xff"}',
    ],
    ids=["not-json", "bare-pids", "a-list", "pid-as-text", "pid-as-bool", "not-utf8"],
)
def test_a_malformed_record_is_one_line_exit_2_and_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    path = _state(tmp_path) / "pids.json"
    path.write_bytes(content)

    result = _down(tmp_path, monkeypatch)

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert "delete" in line
    assert str(Path(".flowprobe") / "pids.json") in line
    assert path.read_bytes() == content


def test_an_unreadable_record_is_one_line_exit_2_and_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _state(tmp_path) / "pids.json"
    path.mkdir()  # unreadable as a file whoever runs the test, root included

    result = _down(tmp_path, monkeypatch)

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1
    assert path.is_dir()


def test_down_never_signals_by_name(tmp_path: Path, lookalike: subprocess.Popen[bytes]) -> None:
    # Even a record naming the lookalike's group leader by pid alone is refused, not acted on.
    config = LocalConfig(state_dir=_state(tmp_path))
    _write_pids(tmp_path, {"langflow": {"pid": lookalike.pid, "started": None, "command": None}})
    assert processes.stop(config, lambda _: None) == 0
    assert lookalike.poll() is None
    assert os.getpgid(lookalike.pid) == lookalike.pid


def test_target_env_is_created_private_not_narrowed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[tuple[int, int]] = []
    real_open = os.open

    def watching_open(path: object, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        descriptor = real_open(path, flags, mode, **kwargs)  # type: ignore[arg-type]
        opened.append((flags, os.fstat(descriptor).st_mode & 0o777))
        return descriptor

    def no_chmod(*args: object, **kwargs: object) -> None:
        raise AssertionError("target.env was written first and narrowed after")

    monkeypatch.setattr(os, "open", watching_open)
    monkeypatch.setattr(Path, "chmod", no_chmod)
    previous = os.umask(0)  # the widest umask a user can have
    try:
        path = target_env.write_target_env(
            LocalConfig(state_dir=_state(tmp_path)), {"FLOWPROBE_API_KEY": "sk-private"}
        )
    finally:
        os.umask(previous)
    ((flags, mode),) = opened
    assert flags & os.O_CREAT
    assert mode == 0o600, f"target.env was born {mode:o}"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_target_env_left_world_readable_is_made_private_before_the_key_is_written(
    tmp_path: Path,
) -> None:
    config = LocalConfig(state_dir=_state(tmp_path))
    path = target_env.target_env_file(config)
    path.write_text("export FLOWPROBE_API_KEY=old\n", encoding="utf-8")
    path.chmod(0o644)
    target_env.write_target_env(config, {"FLOWPROBE_API_KEY": "sk-new"})
    assert path.stat().st_mode & 0o777 == 0o600
    assert target_env.read_target_env(config) == {"FLOWPROBE_API_KEY": "sk-new"}


def test_an_install_that_outlives_its_deadline_is_stopped_with_a_clear_message(
    tmp_path: Path,
) -> None:
    # A silent pip whose child holds the output open: only stopping the group ends the read.
    hang = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    )
    log = tmp_path / "install.log"
    started = time.monotonic()
    with pytest.raises(FlowprobeError) as raised:
        install._run_logged(
            [sys.executable, "-c", hang], log, lambda _: None, install._Clock(started, 1.0)
        )
    assert time.monotonic() - started < 15
    message = str(raised.value)
    assert "did not finish within 1 s" in message
    assert install.INSTALL_DEADLINE_ENV in message
    assert str(log) in message


def test_an_install_within_its_deadline_is_not_stopped(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "print('Collecting langflow')"]
    clock = install._Clock(time.monotonic(), 60)
    install._run_logged(command, tmp_path / "install.log", lambda _: None, clock)
    assert "Collecting langflow" in (tmp_path / "install.log").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, install.DEFAULT_INSTALL_DEADLINE), ("", 1800.0), ("90", 90.0)]
)
def test_the_install_deadline_is_configurable(
    monkeypatch: pytest.MonkeyPatch, value: str | None, seconds: float
) -> None:
    if value is None:
        monkeypatch.delenv(install.INSTALL_DEADLINE_ENV, raising=False)
    else:
        monkeypatch.setenv(install.INSTALL_DEADLINE_ENV, value)
    assert install.install_deadline() == seconds


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "inf"])
def test_a_bad_install_deadline_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(install.INSTALL_DEADLINE_ENV, value)
    with pytest.raises(FlowprobeError, match=rf"{install.INSTALL_DEADLINE_ENV}=.* seconds above 0"):
        install.install_deadline()
