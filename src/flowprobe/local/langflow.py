"""The built-in local target: a real Langflow on loopback, the stub LLM beside it, and the
reference flows imported into it.

Langflow is installed from PyPI at a pinned version into a virtual environment of its own, kept
in the user's cache directory (its hundreds of pins must not dictate flowprobe's), and reused by
every checkout. Its config and database live in the project's ignored ``.flowprobe/`` folder.
``up`` records the ids of the processes it started; ``down`` stops exactly those.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import platformdirs

from flowprobe.errors import FlowprobeError
from flowprobe.resources import shipped

LANGFLOW_VERSION = "1.13.0"
STATE_DIR = Path(".flowprobe")
FLOWS_STUB_URL = "http://127.0.0.1:7861/v1"  # what the committed flow files point at
MAX_FILE_SIZE_UPLOAD_MB = 1
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

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stub_url(self) -> str:
        return f"http://127.0.0.1:{self.stub_port}/v1"


def environment_dir() -> Path:
    """The Langflow virtual environment, shared by every checkout on this machine."""
    root = os.environ.get("FLOWPROBE_CACHE_DIR") or platformdirs.user_cache_dir("flowprobe")
    return Path(root) / f"langflow-{LANGFLOW_VERSION}"


def flows_dir() -> Path:
    """The reference flow files: inside the wheel, else the source checkout's ``flows/``."""
    return shipped("flows", what="reference flows")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])


# -- installing Langflow ---------------------------------------------------------------------


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
                f"last lines of {log}:\n{_tail(log)}"
            )


# -- processes -------------------------------------------------------------------------------


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


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


def langflow_environment(config: LocalConfig) -> dict[str, str]:
    """The environment Langflow runs with: loopback, no telemetry, state under .flowprobe/."""
    state = config.state_dir.resolve() / "langflow"
    state.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "LANGFLOW_AUTO_LOGIN": "true",
        "LANGFLOW_DATABASE_URL": f"sqlite:///{state / 'langflow.db'}",
        "LANGFLOW_CONFIG_DIR": str(state),
        "LANGFLOW_SSRF_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LANGFLOW_PRETTY_LOGS": "false",
        "LANGFLOW_STORE": "false",
        "LANGFLOW_MCP_COMPOSER_ENABLED": "false",
        "LANGFLOW_WORKERS": "1",
        # in MB, Langflow's smallest: the upload suite's oversized file stays quick to send
        "LANGFLOW_MAX_FILE_SIZE_UPLOAD": str(MAX_FILE_SIZE_UPLOAD_MB),
        "DO_NOT_TRACK": "true",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }


def _spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> int:
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


def _pids_file(config: LocalConfig) -> Path:
    return config.state_dir / "pids.json"


def _read_pids(config: LocalConfig) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(_pids_file(config).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data


def _wait_healthy(
    url: str, pid: int, log: Path, deadline: float, what: str, progress: Progress
) -> None:
    started = time.monotonic()
    last_report = started
    while time.monotonic() - started < deadline:
        if not _alive(pid):
            raise FlowprobeError(
                f"{what} exited before it became healthy; last lines of {log}:\n{_tail(log)}"
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
        f"last lines of {log}:\n{_tail(log)}"
    )


def _start_processes(config: LocalConfig, langflow: Path, progress: Progress) -> dict[str, Any]:
    for port, what in ((config.port, "Langflow"), (config.stub_port, "the stub LLM")):
        if not _port_free(port):
            raise FlowprobeError(
                f"port 127.0.0.1:{port} for {what} is taken; stop what runs there, "
                f"or choose another with --{'port' if what == 'Langflow' else 'stub-port'}"
            )
    logs = config.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stub = [
        sys.executable,
        "-m",
        "flowprobe.local.stub",
        "--port",
        str(config.stub_port),
        "--first-token-delay-ms",
        str(config.first_token_delay_ms),
        "--inter-token-delay-ms",
        str(config.inter_token_delay_ms),
        "--tokens",
        str(config.tokens),
    ]
    server = [
        str(langflow),
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(config.port),
        "--backend-only",
        "--no-open-browser",
        "--workers",
        "1",
    ]
    pids = {
        "stub": _spawn(stub, logs / "stub-llm.log"),
        "langflow": _spawn(server, logs / "langflow.log", langflow_environment(config)),
        "port": config.port,
        "stub_port": config.stub_port,
    }
    _pids_file(config).write_text(json.dumps(pids), encoding="utf-8")
    progress(f"started Langflow (pid {pids['langflow']}) and the stub LLM (pid {pids['stub']})")
    _wait_healthy(
        config.stub_url.removesuffix("/v1") + "/health",
        pids["stub"],
        logs / "stub-llm.log",
        30,
        "the stub LLM",
        progress,
    )
    _wait_healthy(
        config.base_url + "/health",
        pids["langflow"],
        logs / "langflow.log",
        config.health_deadline,
        "Langflow",
        progress,
    )
    return pids


def running(config: LocalConfig) -> bool:
    """Whether the processes recorded by ``up`` are alive."""
    pids = _read_pids(config)
    return bool(pids) and all(_alive(int(pids[k])) for k in ("stub", "langflow"))


def stop(config: LocalConfig, progress: Progress) -> int:
    """Stop exactly the processes ``up`` started; return how many were running."""
    pids = _read_pids(config)
    stopped = 0
    for name in ("langflow", "stub"):
        pid = int(pids.get(name, 0))
        expected = "langflow" if name == "langflow" else "flowprobe.local.stub"
        if pid and _alive(pid) and expected in _command_line(pid):
            _terminate(pid)
            stopped += 1
            progress(f"stopped {name} (pid {pid})")
    _pids_file(config).unlink(missing_ok=True)
    return stopped


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


# -- configuring Langflow ----------------------------------------------------------------------


@contextlib.contextmanager
def _session(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        login = client.get("/api/v1/auto_login")
        if login.status_code != 200:
            raise FlowprobeError(
                f"Langflow at {base_url} refused auto-login (HTTP {login.status_code}); "
                "it must run with LANGFLOW_AUTO_LOGIN=true"
            )
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield client


def _api_key(client: httpx.Client, config: LocalConfig, probe_flow: str) -> str:
    saved = read_target_env(config).get("FLOWPROBE_API_KEY")
    if saved:
        check = httpx.get(
            f"{config.base_url}/api/v1/flows/{probe_flow}", headers={"x-api-key": saved}, timeout=30
        )
        if check.status_code == 200:
            return saved
    minted = client.post("/api/v1/api_key/", json={"name": "flowprobe"})
    if minted.status_code not in (200, 201):
        raise FlowprobeError(f"Langflow refused to mint an API key (HTTP {minted.status_code})")
    return str(minted.json()["api_key"])


def reference_flows(stub_url: str) -> list[dict[str, Any]]:
    """The reference flows, pointed at the stub LLM's URL."""
    flows = []
    for path in sorted(flows_dir().glob("*.json")):
        text = path.read_text(encoding="utf-8").replace(FLOWS_STUB_URL, stub_url)
        flows.append(json.loads(text))
    return flows


def import_flows(client: httpx.Client, stub_url: str) -> list[dict[str, Any]]:
    """Create or update each reference flow by its fixed id; idempotent."""
    flows = reference_flows(stub_url)
    for flow in flows:
        found = client.get(f"/api/v1/flows/{flow['id']}")
        if found.status_code == 200:
            answer = client.patch(f"/api/v1/flows/{flow['id']}", json={"data": flow["data"]})
        else:
            answer = client.post("/api/v1/flows/", json=flow)
        if answer.status_code not in (200, 201):
            raise FlowprobeError(
                f"Langflow refused the reference flow {flow['name']!r} "
                f"(HTTP {answer.status_code}): {answer.text[:300]}"
            )
    return flows


# -- the settings file -------------------------------------------------------------------------


def target_env_file(config: LocalConfig) -> Path:
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
    path = target_env_file(config)
    lines = ["# written by `flowprobe up`; never commit this file (it holds an API key)"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def answers_runs(config: LocalConfig, timeout: float = 15.0) -> bool:
    """Whether the running Langflow still runs a flow, not only answers /health.

    Langflow 1.13 on SQLite can wedge under overload: a run cancelled mid-write leaves the
    database locked, every later call waits 30 s and answers 500, while /health stays 200.
    """
    saved = read_target_env(config)
    flow, key = saved.get("FLOWPROBE_NO_MODEL_FLOW"), saved.get("FLOWPROBE_API_KEY")
    if not (flow and key):
        return True  # nothing imported yet: up will import and mint below
    with contextlib.suppress(httpx.HTTPError):
        answer = httpx.post(
            f"{config.base_url}/api/v1/run/{flow}?stream=false",
            json={"input_value": "flowprobe: still alive?"},
            headers={"x-api-key": key},
            timeout=timeout,
        )
        return answer.status_code == 200
    return False


def up(config: LocalConfig, progress: Progress) -> dict[str, str]:
    """Start (or reuse) the local target and return the settings a test run needs."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    (config.state_dir / ".gitignore").write_text("*\n", encoding="utf-8")
    if running(config) and answers_runs(config):
        progress("the local target is already running; reusing it")
    else:
        if running(config):
            progress("the running Langflow no longer answers run calls; restarting it")
        stop(config, progress)
        _start_processes(config, ensure_langflow(progress), progress)
    with _session(config.base_url) as client:
        flows = {flow["endpoint_name"]: flow for flow in import_flows(client, config.stub_url)}
        missing = sorted({MAIN_FLOW, NO_MODEL_FLOW, FILE_FLOW} - set(flows))
        if missing:
            raise FlowprobeError(f"flowprobe's reference flows lack {missing}; reinstall it")
        key = _api_key(client, config, flows[MAIN_FLOW]["id"])
    values = {
        "FLOWPROBE_BASE_URL": config.base_url,
        "FLOWPROBE_FLOW": MAIN_FLOW,
        "FLOWPROBE_API_KEY": key,
        "FLOWPROBE_NO_MODEL_FLOW": NO_MODEL_FLOW,
        "FLOWPROBE_FILE_FLOW": FILE_FLOW,
        "FLOWPROBE_STUB_URL": config.stub_url,
    }
    write_target_env(config, values)
    return values
