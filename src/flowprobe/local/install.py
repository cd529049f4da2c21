"""Installing Langflow: from PyPI at the pinned version, into a virtual environment of its own.

The environment lives in the user's cache directory (Langflow's hundreds of pins must not
dictate flowprobe's) and is reused by every checkout on the machine.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

from flowprobe.errors import FlowprobeError
from flowprobe.local.config import LANGFLOW_VERSION, Progress, environment_dir
from flowprobe.local.logs import tail


def ensure_langflow(progress: Progress) -> Path:
    """The ``langflow`` executable, installing Langflow first if this machine lacks it."""
    venv = environment_dir()
    marker = venv / ".flowprobe-installed"
    langflow = venv / "bin" / "langflow"
    if marker.is_file() and langflow.is_file():
        return langflow
    venv.parent.mkdir(parents=True, exist_ok=True)
    log = venv.parent / f"install-langflow-{LANGFLOW_VERSION}.log"
    progress(f"installing Langflow {LANGFLOW_VERSION} into {venv} (first use only; minutes)")
    started = time.monotonic()
    _run_logged([sys.executable, "-m", "venv", "--clear", str(venv)], log, progress, started)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "off"]
    _run_logged([*pip, "--upgrade", "pip"], log, progress, started)
    _run_logged([*pip, f"langflow=={LANGFLOW_VERSION}"], log, progress, started)
    marker.write_text(f"langflow=={LANGFLOW_VERSION}\n", encoding="utf-8")
    progress(f"Langflow {LANGFLOW_VERSION} installed in {time.monotonic() - started:.0f} s")
    return langflow


def _run_logged(command: list[str], log: Path, progress: Progress, started: float) -> None:
    collected = 0
    last_report = 0.0
    with log.open("a", encoding="utf-8") as sink:
        sink.write(f"$ {shlex.join(command)}\n")
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:
            sink.write(line)
            collected += line.startswith(("Collecting", "Downloading", "Using cached"))
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                elapsed = last_report - started
                progress(f"  … {elapsed:.0f} s, {collected} packages fetched")
        if process.wait() != 0:
            raise FlowprobeError(
                f"installing Langflow failed ({shlex.join(command[-2:])}); "
                f"last lines of {log}:\n{tail(log)}"
            )
