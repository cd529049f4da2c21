"""The reference flows, built with the local target's own Langflow version.

A flow file embeds its components' code: a file exported by one Langflow version may import
names another version lacks. ``up`` therefore runs the shipped builder (``build_flows.py``
beside the committed flows) with the Python of that version's environment, once, into
``.flowprobe/flows/<version>/``, and imports those files. The builder gives every component a
fixed id, so tweaks and cassettes match whatever version built the flows.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from flowprobe.errors import FlowprobeError
from flowprobe.local.config import (
    FILE_FLOW,
    MAIN_FLOW,
    NO_MODEL_FLOW,
    LocalConfig,
    Progress,
    built_flows_dir,
    environment_dir,
    flows_dir,
)

BUILDER = "build_flows.py"
BUILD_DEADLINE = 300.0
STAMP = ".built-by"  # the builder's digest: a new flowprobe's builder builds them again


def expected_files() -> list[str]:
    """The files the builder writes, one per reference flow."""
    return [
        f"{name.removeprefix('flowprobe-')}.json" for name in (MAIN_FLOW, NO_MODEL_FLOW, FILE_FLOW)
    ]


def ensure_built(config: LocalConfig, progress: Progress) -> Path:
    """The folder of reference flows built by ``config``'s Langflow version, built if needed."""
    builder = flows_dir() / BUILDER
    folder = built_flows_dir(config)
    digest = hashlib.sha256(builder.read_bytes()).hexdigest()
    stamp = folder / STAMP
    if _complete(folder) and stamp.is_file() and stamp.read_text(encoding="utf-8") == digest:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    python = environment_dir(config.langflow_version) / "bin" / "python"
    progress(f"building the reference flows with Langflow {config.langflow_version}")
    try:
        done = subprocess.run(
            [str(python), str(builder), str(folder)],
            capture_output=True,
            text=True,
            check=False,
            timeout=BUILD_DEADLINE,
        )
    except subprocess.TimeoutExpired:
        raise FlowprobeError(
            f"building the reference flows with Langflow {config.langflow_version} took over "
            f"{BUILD_DEADLINE:.0f} s and was stopped"
        ) from None
    except OSError as exc:
        raise FlowprobeError(f"cannot run {python} to build the reference flows: {exc}") from None
    if done.returncode != 0 or not _complete(folder):
        last = "\n".join("    " + line for line in (done.stdout + done.stderr).splitlines()[-15:])
        raise FlowprobeError(
            f"Langflow {config.langflow_version} could not build flowprobe's reference flows "
            f"(exit {done.returncode}):\n{last}"
        )
    stamp.write_text(digest, encoding="utf-8")
    return folder


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in expected_files())
