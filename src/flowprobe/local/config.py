"""What the local target is: the pinned Langflow, its ports and folders, the reference flows,
and the environment Langflow runs with.

Every other module of the local target reads these; a new Langflow version, database or worker
count starts here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from flowprobe.resources import shipped

LANGFLOW_VERSION = "1.13.0"
STATE_DIR = Path(".flowprobe")
FLOWS_STUB_URL = "http://127.0.0.1:7861/v1"  # what the committed flow files point at
MAX_FILE_SIZE_UPLOAD_MB = 1
# Langflow's worker processes: given as `--workers` and LANGFLOW_WORKERS, so they cannot disagree.
WORKERS = 1
# The reference flows, by endpoint name (files in flows/ are imported in name order).
MAIN_FLOW = "flowprobe-basic-prompting"
NO_MODEL_FLOW = "flowprobe-no-model"
FILE_FLOW = "flowprobe-read-file"
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalConfig:
    """Where and how the local target runs."""

    port: int = 7860
    stub_port: int = 7861
    state_dir: Path = STATE_DIR
    health_deadline: float = 300.0
    first_token_delay_ms: float = 50.0
    inter_token_delay_ms: float = 20.0
    tokens: int = 8
    starters: tuple[str, ...] = ()  # Langflow's own starter projects to import, by name

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stub_url(self) -> str:
        return f"http://127.0.0.1:{self.stub_port}/v1"

    @property
    def stub_url_v6(self) -> str:
        """The stub on IPv6 loopback: what Langflow's global variables name (see ``starters``)."""
        return f"http://[::1]:{self.stub_port}/v1"


def environment_dir() -> Path:
    """The Langflow virtual environment, shared by every checkout on this machine."""
    root = os.environ.get("FLOWPROBE_CACHE_DIR") or platformdirs.user_cache_dir("flowprobe")
    return Path(root) / f"langflow-{LANGFLOW_VERSION}"


def flows_dir() -> Path:
    """The reference flow files: inside the wheel, else the source checkout's ``flows/``."""
    return shipped("flows", what="reference flows")


def langflow_environment(config: LocalConfig) -> dict[str, str]:
    """The environment Langflow runs with: loopback, no telemetry, state under .flowprobe/."""
    state = config.state_dir.resolve() / "langflow"
    state.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "LANGFLOW_AUTO_LOGIN": "true",
        "LANGFLOW_DATABASE_URL": f"sqlite:///{state / 'langflow.db'}",
        "LANGFLOW_CONFIG_DIR": str(state),
        "LANGFLOW_SSRF_ALLOWED_HOSTS": "127.0.0.1,localhost,::1",
        "LANGFLOW_PRETTY_LOGS": "false",
        "LANGFLOW_STORE": "false",
        "LANGFLOW_MCP_COMPOSER_ENABLED": "false",
        "LANGFLOW_WORKERS": str(WORKERS),
        # in MB, Langflow's smallest: the upload suite's oversized file stays quick to send
        "LANGFLOW_MAX_FILE_SIZE_UPLOAD": str(MAX_FILE_SIZE_UPLOAD_MB),
        "DO_NOT_TRACK": "true",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
