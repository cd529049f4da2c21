"""``.flowprobe/target.env``: the ``FLOWPROBE_*`` settings ``up`` writes, as a file a shell can
source and flowprobe's commands read back."""

from __future__ import annotations

import contextlib
import os
import shlex
from pathlib import Path

from flowprobe.local.config import LocalConfig

# `up --hosted` writes the gateway's settings under names of their own: as FLOWPROBE_BASE_URL
# and FLOWPROBE_LANGFLOW_ID they would turn every run that sources the file into a hosted one.
HOSTED_BASE_URL = "FLOWPROBE_HOSTED_BASE_URL"
HOSTED_LANGFLOW_ID = "FLOWPROBE_HOSTED_LANGFLOW_ID"


def target_env_file(config: LocalConfig) -> Path:
    """Where ``up`` writes the settings: ``target.env`` in the state folder."""
    return config.state_dir / "target.env"


def read_target_env(config: LocalConfig) -> dict[str, str]:
    """The ``FLOWPROBE_*`` settings ``up`` wrote; {} if none."""
    values: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in target_env_file(config).read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.startswith("#"):
                name, _, value = line.partition("=")
                values[name.removeprefix("export ").strip()] = (
                    shlex.split(value)[0] if value else ""
                )
    return values


def write_target_env(config: LocalConfig, values: dict[str, str]) -> Path:
    """Write ``values`` as shell exports, readable by the user only (they hold an API key)."""
    path = target_env_file(config)
    lines = ["# written by `flowprobe up`; never commit this file (it holds an API key)"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    # Created private, never written first and narrowed after: the key is not readable by
    # others for even a moment. fchmod covers a file an older flowprobe left wider open.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
        os.fchmod(sink.fileno(), 0o600)
        sink.write("\n".join(lines) + "\n")
    return path
