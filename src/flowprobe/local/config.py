"""What the local target is: the pinned Langflow, its ports and folders, the reference flows,
and the environment Langflow runs with.

Every other module of the local target reads these; a new Langflow version, database or worker
count starts here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from flowprobe.errors import FlowprobeError
from flowprobe.resources import shipped

LANGFLOW_VERSION = "1.13.0"
# The Langflow release series the local target runs (the reference flows are built for each).
SUPPORTED_SERIES = ("1.12", "1.13")
SUPPORTED_RANGE = ">=1.12.0,<1.14"
DATABASES = ("sqlite", "postgres")
# Langflow's native tracing (1.12 and 1.13) writes every component's full inputs and outputs to
# its `span` table, on every run: tens of GB in an afternoon of load. Off unless asked for.
TRACING_OFF = ("LANGFLOW_NATIVE_TRACING", "false")
STATE_DIR = Path(".flowprobe")
FLOWS_STUB_URL = "http://127.0.0.1:7861/v1"  # what the committed flow files point at
MAX_FILE_SIZE_UPLOAD_MB = 1
# Langflow's worker processes by default: given as `--workers` and LANGFLOW_WORKERS, so they
# cannot disagree.
WORKERS = 1
MAX_WORKERS = 16
# Langflow 1.12.8 and 1.13 refuse several workers without a shared (Redis) job queue, because the
# UI's build events may reach another worker than the build. The local target is headless and
# called through the run API, which answers on the same request: the case this switch is for.
MULTI_WORKER = {"LANGFLOW_DANGEROUSLY_ALLOW_MULTI_WORKER_WITHOUT_SHARED_QUEUE": "true"}
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
    # Read from the environment when not given, so that every command that starts the local
    # target (`up`, `test --local`, ...) starts the same one.
    langflow_version: str = field(
        default_factory=lambda: _from_env("FLOWPROBE_LANGFLOW_VERSION", LANGFLOW_VERSION)
    )
    database: str = field(default_factory=lambda: _from_env("FLOWPROBE_LOCAL_DATABASE", "sqlite"))
    workers: int = field(
        default_factory=lambda: _workers(_from_env("FLOWPROBE_LOCAL_WORKERS", str(WORKERS)))
    )
    tracing: bool = False  # Langflow's native tracing: every span's inputs and outputs stored

    def __post_init__(self) -> None:
        check_version(self.langflow_version)
        if self.database not in DATABASES:
            raise FlowprobeError(
                f"database {self.database!r} is not one the local target runs; "
                f"choose {' or '.join(DATABASES)}"
            )
        if not 1 <= self.workers <= MAX_WORKERS:
            raise FlowprobeError(
                f"{self.workers} workers: the local Langflow runs 1 to {MAX_WORKERS} workers"
            )

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


def _from_env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _workers(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FlowprobeError(
            f"FLOWPROBE_LOCAL_WORKERS={text!r} is not a whole number of workers, 1 to {MAX_WORKERS}"
        ) from None


def check_version(version: str) -> str:
    """``version`` if the local target runs it (an exact release of a supported series), else
    an error naming the supported range."""
    series = ", ".join(f"{s}.x" for s in SUPPORTED_SERIES)
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise FlowprobeError(
            f"Langflow version {version!r} is not an exact release such as {LANGFLOW_VERSION}; "
            f"the local target runs {series} ({SUPPORTED_RANGE})"
        )
    if version.rsplit(".", 1)[0] not in SUPPORTED_SERIES:
        raise FlowprobeError(
            f"Langflow {version} is not supported by the local target: it runs {series} "
            f"({SUPPORTED_RANGE}), whose reference flows flowprobe knows how to build"
        )
    return version


def cache_root() -> Path:
    """Where flowprobe keeps what every checkout on this machine shares."""
    return Path(os.environ.get("FLOWPROBE_CACHE_DIR") or platformdirs.user_cache_dir("flowprobe"))


def environment_dir(version: str = LANGFLOW_VERSION) -> Path:
    """The virtual environment of Langflow ``version``, shared by every checkout on this
    machine; each version has its own, side by side."""
    return cache_root() / f"langflow-{check_version(version)}"


def flows_dir() -> Path:
    """The reference flow files: inside the wheel, else the source checkout's ``flows/``."""
    return shipped("flows", what="reference flows")


def state_dir(config: LocalConfig) -> Path:
    """Langflow's config and database folder for this version and database kind: a database
    one version migrated is never opened by another."""
    return config.state_dir.resolve() / "langflow" / f"{config.langflow_version}-{config.database}"


def built_flows_dir(config: LocalConfig) -> Path:
    """The reference flows built with this Langflow version's own components."""
    return config.state_dir.resolve() / "flows" / config.langflow_version


def sqlite_database(config: LocalConfig) -> Path:
    """The SQLite database of this version's local target."""
    return state_dir(config) / "langflow.db"


def langflow_environment(config: LocalConfig, database_url: str | None = None) -> dict[str, str]:
    """The environment Langflow runs with: loopback, no telemetry, state under .flowprobe/,
    native tracing off unless asked for. ``database_url``: a PostgreSQL database, else SQLite."""
    state = state_dir(config)
    state.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "LANGFLOW_AUTO_LOGIN": "true",
        "LANGFLOW_DATABASE_URL": database_url or f"sqlite:///{sqlite_database(config)}",
        "LANGFLOW_CONFIG_DIR": str(state),
        "LANGFLOW_SSRF_ALLOWED_HOSTS": "127.0.0.1,localhost,::1",
        "LANGFLOW_PRETTY_LOGS": "false",
        "LANGFLOW_STORE": "false",
        "LANGFLOW_MCP_COMPOSER_ENABLED": "false",
        "LANGFLOW_WORKERS": str(config.workers),
        # in MB, Langflow's smallest: the upload suite's oversized file stays quick to send
        "LANGFLOW_MAX_FILE_SIZE_UPLOAD": str(MAX_FILE_SIZE_UPLOAD_MB),
        "DO_NOT_TRACK": "true",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        TRACING_OFF[0]: "true" if config.tracing else TRACING_OFF[1],
        **(MULTI_WORKER if config.workers > 1 else {}),
    }
