"""The local target's bookkeeping: settings file, port checks, stopping only what up started.

Starting a real Langflow is CI's live tier (`.ci/run`); these tests never start one.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowprobe.errors import FlowprobeError
from flowprobe.local import install, launch, processes, provision, target_env
from flowprobe.local.config import (
    FILE_FLOW,
    FLOWS_STUB_URL,
    MAIN_FLOW,
    NO_MODEL_FLOW,
    WORKERS,
    LocalConfig,
    langflow_environment,
)


def _config(tmp_path: Path, **kwargs: object) -> LocalConfig:
    return LocalConfig(state_dir=tmp_path / ".flowprobe", **kwargs)  # type: ignore[arg-type]


def test_target_env_round_trips_and_is_private(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.state_dir.mkdir()
    values = {"FLOWPROBE_BASE_URL": "http://127.0.0.1:7860", "FLOWPROBE_API_KEY": "sk-a b'c"}
    path = target_env.write_target_env(config, values)
    assert target_env.read_target_env(config) == values
    assert path.stat().st_mode & 0o077 == 0
    sourced = subprocess.run(
        ["bash", "-c", f'. {path}; printf %s "$FLOWPROBE_API_KEY"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sourced.stdout == "sk-a b'c"


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _config(tmp_path, port=port, stub_port=port)
        with pytest.raises(FlowprobeError, match=rf"port 127.0.0.1:{port} .* is taken"):
            launch.start_processes(config, Path("/nonexistent/langflow"), lambda _: None)


def test_langflow_gets_one_worker_count_as_option_and_environment(tmp_path: Path) -> None:
    config = _config(tmp_path)
    command = launch._server_command(config, Path("/venv/bin/langflow"))
    assert command[command.index("--workers") + 1] == "1" == str(WORKERS)
    assert langflow_environment(config)["LANGFLOW_WORKERS"] == "1"


def test_stop_without_a_record_stops_nothing(tmp_path: Path) -> None:
    assert processes.stop(_config(tmp_path), lambda _: None) == 0


def test_stop_leaves_a_process_it_did_not_start(tmp_path: Path) -> None:
    # A recycled pid must not be killed: the recorded pid runs something that is not ours.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        config = _config(tmp_path)
        config.state_dir.mkdir()
        entry = {"pid": other.pid, "started": 1.0, "command": ["langflow", "run"]}
        (config.state_dir / "pids.json").write_text(json.dumps({"langflow": entry}))
        assert processes.stop(config, lambda _: None) == 0
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_stop_ends_the_stub_it_started(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.state_dir.mkdir()
    stub = subprocess.Popen(
        [sys.executable, "-m", "flowprobe.local.stub", "--port", "0"],
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    # Its first line says it listens: by then the process runs the stub, not a fork of pytest.
    assert stub.stdout is not None
    assert "listening" in stub.stdout.readline()
    processes.record(config, {"stub": stub.pid})
    assert processes.stop(config, lambda _: None) == 1
    assert stub.wait(timeout=10) is not None
    assert not (config.state_dir / "pids.json").exists()


def test_reference_flows_point_at_the_stub(tmp_path: Path) -> None:
    flows = provision.reference_flows("http://127.0.0.1:9999/v1")
    assert [f["endpoint_name"] for f in flows] == [
        MAIN_FLOW,
        NO_MODEL_FLOW,
        FILE_FLOW,
    ]
    text = json.dumps(flows)
    assert "http://127.0.0.1:9999/v1" in text
    assert FLOWS_STUB_URL not in text


def test_a_failed_install_shows_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    command = [
        sys.executable,
        "-c",
        "print('ERROR: No matching distribution'); raise SystemExit(1)",
    ]
    with pytest.raises(FlowprobeError, match="No matching distribution"):
        install._run_logged(command, log, lambda _: None, install._Clock(time.monotonic(), 60))
