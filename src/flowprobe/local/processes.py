"""The local target's processes: started in groups of their own, recorded in ``pids.json``,
waited for until healthy, and stopped.

``up`` records the ids of the processes it started; ``down`` stops exactly those, and only while
each still runs what ``up`` started (a recycled pid belongs to someone else).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from flowprobe.errors import FlowprobeError
from flowprobe.local.config import LocalConfig, Progress
from flowprobe.local.logs import tail


def spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Start ``command`` in the background, its output appended to ``log``; return its pid."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group, so `down` stops its children too
        )
    return process.pid


def record(config: LocalConfig, pids: dict[str, Any]) -> None:
    """Write the started processes' ids (and their ports) for ``running`` and ``stop``."""
    _pids_file(config).write_text(json.dumps(pids), encoding="utf-8")


def wait_healthy(
    url: str, pid: int, log: Path, deadline: float, what: str, progress: Progress
) -> None:
    """Return once ``url`` answers 200; raise if process ``pid`` exits first or time runs out."""
    started = time.monotonic()
    last_report = started
    while time.monotonic() - started < deadline:
        if not _alive(pid):
            raise FlowprobeError(
                f"{what} exited before it became healthy; last lines of {log}:\n{tail(log)}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        if time.monotonic() - last_report > 10:
            last_report = time.monotonic()
            progress(f"  … waiting for {what} ({last_report - started:.0f} s)")
        time.sleep(0.5)
    raise FlowprobeError(
        f"{what} did not become healthy at {url} within {deadline:.0f} s; "
        f"last lines of {log}:\n{tail(log)}"
    )


# What `up` starts, by the name its pid is recorded under: Langflow, and the stub LLM on each
# loopback address (127.0.0.1 for flowprobe's reference flows, ::1 for Langflow's variables).
PROCESSES = ("langflow", "stub", "stub_v6")


def running(config: LocalConfig) -> bool:
    """Whether the processes recorded by ``up`` are alive."""
    pids = _read_pids(config)
    recorded = [int(pids.get(name, 0)) for name in PROCESSES]
    return all(pid > 0 and _alive(pid) for pid in recorded)


def stop(config: LocalConfig, progress: Progress) -> int:
    """Stop exactly the processes ``up`` started; return how many were running."""
    pids = _read_pids(config)
    stopped = 0
    for name in PROCESSES:
        pid = int(pids.get(name, 0))
        expected = "langflow" if name == "langflow" else "flowprobe.local.stub"
        if pid and _alive(pid) and expected in _command_line(pid):
            _terminate(pid)
            stopped += 1
            progress(f"stopped {name} (pid {pid})")
    _pids_file(config).unlink(missing_ok=True)
    return stopped


def _pids_file(config: LocalConfig) -> Path:
    return config.state_dir / "pids.json"


def _read_pids(config: LocalConfig) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(_pids_file(config).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _terminate(pid: int, grace: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
