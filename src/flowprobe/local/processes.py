"""The local target's processes: started in groups of their own, recorded in ``pids.json``,
waited for until healthy, and stopped.

``up`` records the processes it started by pid, start time and command line; ``down`` stops
exactly those, and only while all three still match (a recycled pid belongs to someone else).
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
import psutil

from flowprobe.errors import FlowprobeError
from flowprobe.local.config import LocalConfig, Progress
from flowprobe.local.logs import tail

# The processes `up` starts, as named in ``pids.json``: Langflow, and the stub LLM on each
# loopback address (127.0.0.1 for flowprobe's reference flows, ::1 for Langflow's variables);
# with `--hosted`, the gateway that serves hosted Langflow's URL form in front of it; and
# PostgreSQL when Langflow's database is one (stopped last: Langflow is its client).
PROCESS_NAMES = ("gateway", "langflow", "stub", "stub_v6", "postgres")
# Started only for some targets: running while absent from the record.
OPTIONAL_PROCESSES = frozenset({"gateway", "postgres"})


def spawn(
    command: list[str], log: Path, env: dict[str, str] | None = None, user: str | None = None
) -> int:
    """Start ``command`` in the background, its output appended to ``log``; return its pid.
    ``user``: run it as that user (root only)."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            user=user,
            cwd="/" if user else None,
            start_new_session=True,  # its own process group, so `down` stops its children too
        )
    return process.pid


def record(config: LocalConfig, pids: dict[str, Any]) -> None:
    """Write what ``down`` needs to know each started process again: its pid, start time and
    exact command line (a pid alone may be recycled by then); other entries (ports) as given."""
    entries = {
        name: (_identity(int(value)) if name in PROCESS_NAMES else value)
        for name, value in pids.items()
    }
    _pids_file(config).write_text(json.dumps(entries), encoding="utf-8")


def wait_healthy(
    url: str, pid: int, log: Path, deadline: float, what: str, progress: Progress
) -> None:
    """Return once ``url`` answers 200; raise if process ``pid`` exits first or time runs out."""
    started = time.monotonic()
    last_report = started
    while time.monotonic() - started < deadline:
        if not alive(pid):
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


def running(config: LocalConfig) -> bool:
    """Whether the processes recorded by ``up`` are alive and still the ones it started."""
    recorded = _read_record(config)
    return bool(recorded) and all(
        _still_ours(recorded.get(name)) is not None
        for name in PROCESS_NAMES
        if name in recorded or name not in OPTIONAL_PROCESSES
    )


def recorded(config: LocalConfig) -> dict[str, Any]:
    """What ``up`` recorded about the running target (its processes, ports, version...)."""
    return _read_record(config)


def running_process(config: LocalConfig, name: str) -> bool:
    """Whether the process ``up`` recorded as ``name`` is alive and still the one it started."""
    return _still_ours(_read_record(config).get(name)) is not None


def record_one(config: LocalConfig, name: str, pid: int) -> None:
    """Add process ``pid`` to the record as ``name``, keeping the rest of the record."""
    entries = _read_record(config)
    entries[name] = _identity(pid)
    _pids_file(config).write_text(json.dumps(entries), encoding="utf-8")


def stop(config: LocalConfig, progress: Progress) -> int:
    """Stop exactly the processes ``up`` started; return how many were running.

    A process counts as started by ``up`` only while its pid, start time and command line all
    match the record: anything else under a recorded pid is left alone, whatever its name.
    """
    recorded = _read_record(config)
    stopped = 0
    for name in PROCESS_NAMES:
        process = _still_ours(recorded.get(name))
        if process is None:
            continue
        _terminate(process)
        stopped += 1
        progress(f"stopped {name} (pid {process.pid})")
    _pids_file(config).unlink(missing_ok=True)
    return stopped


def _pids_file(config: LocalConfig) -> Path:
    return config.state_dir / "pids.json"


def _identity(pid: int) -> dict[str, Any]:
    """What identifies process ``pid`` for good: a later process may reuse the pid, never the
    pid with the same start time and command line."""
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            return {"pid": pid, "started": process.create_time(), "command": process.cmdline()}
    except psutil.Error:  # gone already: recorded as nothing `down` could match
        return {"pid": pid, "started": None, "command": None}


def _read_record(config: LocalConfig) -> dict[str, Any]:
    """The record ``up`` wrote, {} if there is none; an unreadable or malformed one is an
    error that says what to do, and the file is kept for the user to look at."""
    path = _pids_file(config)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _unusable_record(path, type(exc).__name__) from None
    if not isinstance(data, dict):
        raise _unusable_record(path, "not a JSON object")
    for name in PROCESS_NAMES:
        if name in data and not _is_identity(data[name]):
            raise _unusable_record(path, f"its {name!r} entry is not a pid, start time and command")
    return data


def _is_identity(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("pid"), int)
        and not isinstance(entry.get("pid"), bool)
        and isinstance(entry.get("started"), (int, float, type(None)))
        and isinstance(entry.get("command"), (list, type(None)))
    )


def _unusable_record(path: Path, reason: str) -> FlowprobeError:
    return FlowprobeError(
        f"cannot read which processes `flowprobe up` started from {path} ({reason}); "
        f"stop the local Langflow and stub LLM yourself if they still run, then delete {path}"
    )


def _still_ours(entry: dict[str, Any] | None) -> psutil.Process | None:
    """The recorded process if it still runs what ``up`` started, else None."""
    if not entry or entry["pid"] <= 0 or entry["started"] is None or not entry["command"]:
        return None
    try:
        process = psutil.Process(entry["pid"])
        with process.oneshot():
            same = (
                process.create_time() == entry["started"]
                and process.cmdline() == entry["command"]
                and process.status() != psutil.STATUS_ZOMBIE
            )
    except psutil.Error:
        return None
    return process if same else None


def kill(pid: int) -> None:
    """Stop process ``pid`` that this process just started and has not recorded."""
    with contextlib.suppress(psutil.Error):
        _terminate(psutil.Process(pid))


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a child that exited unreaped has not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _terminate(process: psutil.Process, grace: float = 15.0) -> None:
    """SIGTERM ``process`` and its descendants, SIGKILL whatever is left after ``grace``.

    Its process group is signalled too, but only when ``process`` leads it: ``spawn`` started it
    in a session of its own, so the group holds Langflow's workers and nothing of anyone else.
    """
    members = [process, *_descendants(process)]
    _signal(process, members, signal.SIGTERM)
    _, left = psutil.wait_procs(members, timeout=grace)
    if left:
        _signal(process, left, signal.SIGKILL)
        psutil.wait_procs(left, timeout=grace)


def _descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def _signal(leader: psutil.Process, members: list[psutil.Process], signum: int) -> None:
    with contextlib.suppress(OSError):
        if os.getpgid(leader.pid) == leader.pid and leader.is_running():
            os.killpg(leader.pid, signum)
    for member in members:
        with contextlib.suppress(psutil.Error):
            member.send_signal(signum)  # psutil checks it is still the same process first
