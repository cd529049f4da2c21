"""Installing Langflow: from PyPI at the pinned version, into a virtual environment of its own.

The environment lives in the user's cache directory (Langflow's hundreds of pins must not
dictate flowprobe's) and is reused by every checkout on the machine. uv (a flowprobe
dependency) creates it and installs into it: it resolves Langflow's ~450 packages in seconds
where pip backtracks for minutes, and its own cache makes a second version cost only what
differs. It reads the index from ``UV_INDEX_URL`` / ``UV_DEFAULT_INDEX`` (not pip's config).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from uv import find_uv_bin

from flowprobe.errors import FlowprobeError
from flowprobe.local.config import LANGFLOW_VERSION, Progress, environment_dir
from flowprobe.local.logs import tail

# Langflow's install fetches hundreds of packages: minutes on a good line, never an hour.
INSTALL_DEADLINE_ENV = "FLOWPROBE_INSTALL_TIMEOUT"
DEFAULT_INSTALL_DEADLINE = 1800.0


def install_deadline() -> float:
    """Seconds the whole install may take: ``FLOWPROBE_INSTALL_TIMEOUT`` or 30 minutes."""
    raw = os.environ.get(INSTALL_DEADLINE_ENV, "").strip()
    if not raw:
        return DEFAULT_INSTALL_DEADLINE
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        raise FlowprobeError(
            f"{INSTALL_DEADLINE_ENV}={raw!r} is not a number of seconds above 0; "
            f"unset it for the default ({DEFAULT_INSTALL_DEADLINE:.0f} s)"
        )
    return seconds


def ensure_langflow(
    progress: Progress, deadline: float | None = None, version: str = LANGFLOW_VERSION
) -> Path:
    """The ``langflow`` executable of ``version``, installing it first into its own environment
    if this machine lacks it; the install is stopped once it has taken ``deadline`` seconds
    (:func:`install_deadline`)."""
    venv = environment_dir(version)
    marker = venv / ".flowprobe-installed"
    langflow = venv / "bin" / "langflow"
    if marker.is_file() and langflow.is_file():
        return langflow
    venv.parent.mkdir(parents=True, exist_ok=True)
    log = venv.parent / f"install-langflow-{version}.log"
    progress(f"installing Langflow {version} into {venv} (first use only; minutes)")
    clock = _Clock(time.monotonic(), install_deadline() if deadline is None else deadline)
    uv = find_uv_bin()
    venv_command = [uv, "venv", "--clear", "--seed", "--python", sys.executable, str(venv)]
    _run_logged(venv_command, log, progress, clock)
    _run_logged([*_uv_pip_install(venv), f"langflow=={version}"], log, progress, clock)
    marker.write_text(f"langflow=={version}\n", encoding="utf-8")
    progress(f"Langflow {version} installed in {clock.elapsed():.0f} s")
    return langflow


def ensure_packages(venv: Path, name: str, requirements: list[str], progress: Progress) -> None:
    """Install ``requirements`` (known together as ``name``) into the environment ``venv``,
    once: uv resolves them with what is installed, so Langflow's own pins hold."""
    marker = venv / f".flowprobe-{name}"
    if marker.is_file():
        return
    log = venv.parent / f"install-{venv.name}-{name}.log"
    progress(f"installing {' '.join(requirements)} into {venv} (first use only)")
    clock = _Clock(time.monotonic(), install_deadline())
    _run_logged([*_uv_pip_install(venv), *requirements], log, progress, clock)
    marker.write_text("\n".join(requirements) + "\n", encoding="utf-8")


def _uv_pip_install(venv: Path) -> list[str]:
    return [find_uv_bin(), "pip", "install", "--python", str(venv / "bin" / "python")]


class _Clock:
    """When the install started and how long it may take in all."""

    def __init__(self, started: float, deadline: float) -> None:
        self.started = started
        self.deadline = deadline

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        return self.deadline - self.elapsed()


def _run_logged(command: list[str], log: Path, progress: Progress, clock: _Clock) -> None:
    last_report = 0.0
    with log.open("a", encoding="utf-8") as sink:
        sink.write(f"$ {shlex.join(command)}\n")
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so the deadline stops the installer's children too
        )
        # Reading the output blocks while the installer is silent: a timer enforces the deadline.
        overdue = threading.Event()
        timer = threading.Timer(max(clock.left(), 0.0), _stop_group, (process.pid, overdue))
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                sink.write(line)
                if time.monotonic() - last_report > 10:
                    last_report = time.monotonic()
                    progress(f"  … {clock.elapsed():.0f} s: {line.strip()[:80]}")
            returncode = process.wait()
        finally:
            timer.cancel()
    if overdue.is_set() and returncode != 0:
        raise FlowprobeError(
            f"installing Langflow did not finish within {clock.deadline:.0f} s and was stopped "
            f"({shlex.join(command[-2:])}); on a slow network allow longer with "
            f"{INSTALL_DEADLINE_ENV}=<seconds>; last lines of {log}:\n{tail(log)}"
        )
    missing = _not_on_index(log, command)
    if returncode != 0 and missing:
        raise FlowprobeError(
            f"{missing} is not on the package index (PyPI unless UV_INDEX_URL names "
            f"another), or not for Python {sys.version_info.major}.{sys.version_info.minor}; "
            f"check the version number; last lines of {log}:\n{tail(log, 4)}"
        )
    if returncode != 0:
        raise FlowprobeError(
            f"installing Langflow failed ({shlex.join(command[-2:])}); "
            f"last lines of {log}:\n{tail(log)}"
        )


def _not_on_index(log: Path, command: list[str]) -> str | None:
    """The requirement the installer could not find at all, if that is why ``command`` failed:
    uv's ``there is no version of X``, or pip's ``No matching distribution found for X``."""
    requirement = command[-1]
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = (
        f"there is no version of {requirement}" in text
        or f"No matching distribution found for {requirement}" in text
    )
    return requirement if found else None


def _stop_group(pid: int, overdue: threading.Event) -> None:
    overdue.set()
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
