"""Launching the local target: the stub LLM and Langflow's server, on free loopback ports,
each waited for until healthy.

What each process is started with lives here (the commands) and in ``config`` (Langflow's
environment); ``processes`` keeps the books.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from flowprobe.errors import FlowprobeError
from flowprobe.local import postgres, processes
from flowprobe.local.config import LocalConfig, Progress, langflow_environment
from flowprobe.local.gateway import langflow_id_for
from flowprobe.local.logs import tail
from flowprobe.local.target_env import HOSTED_BASE_URL, HOSTED_LANGFLOW_ID

# Where `up --hosted` serves hosted Langflow's URL form, in front of the local Langflow.
GATEWAY_PORT = 7862

# What ``up`` records beside the pids: the running target's identity, compared by the next ``up``.
IDENTITY = ("langflow_version", "database", "workers", "tracing")


def identity(config: LocalConfig) -> dict[str, Any]:
    """What makes a running target the one ``config`` asks for."""
    return {name: getattr(config, name) for name in IDENTITY}


def start_processes(config: LocalConfig, langflow: Path, progress: Progress) -> dict[str, Any]:
    """Start the stub LLM, PostgreSQL if Langflow's database is one, and Langflow; record their
    pids, and wait until all are healthy."""
    for port, what in ((config.port, "Langflow"), (config.stub_port, "the stub LLM")):
        if not _port_free(port):
            raise FlowprobeError(
                f"port 127.0.0.1:{port} for {what} is taken; stop what runs there, "
                f"or choose another with --{'port' if what == 'Langflow' else 'stub-port'}"
            )
    logs = config.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    database = None
    if config.database == "postgres":
        database = postgres.start(config, langflow.parent.parent, progress)
    url = database.url if database else None
    if database and config.workers > 1:
        # Several workers migrating a fresh PostgreSQL database at once can stall (one's
        # CREATE INDEX CONCURRENTLY waits on another's migration lock): migrate it first, alone.
        _migrate(config, langflow, langflow_environment(config, url), logs, progress)
    pids = {
        "stub": processes.spawn(_stub_command(config), logs / "stub-llm.log"),
        # The same stub on ::1, the address Langflow's OPENAI_BASE_URL variable names.
        "stub_v6": processes.spawn(_stub_command(config, "::1"), logs / "stub-llm-v6.log"),
        "langflow": processes.spawn(
            _server_command(config, langflow),
            logs / "langflow.log",
            langflow_environment(config, url),
        ),
        "port": config.port,
        "stub_port": config.stub_port,
        **identity(config),
    }
    if database:
        pids.update(postgres=database.pid, postgres_port=database.port)
    processes.record(config, pids)
    progress(f"started Langflow (pid {pids['langflow']}) and the stub LLM (pid {pids['stub']})")
    processes.wait_healthy(
        config.stub_url.removesuffix("/v1") + "/health",
        pids["stub"],
        logs / "stub-llm.log",
        30,
        "the stub LLM",
        progress,
    )
    processes.wait_healthy(
        config.stub_url_v6.removesuffix("/v1") + "/health",
        pids["stub_v6"],
        logs / "stub-llm-v6.log",
        30,
        "the stub LLM on ::1",
        progress,
    )
    processes.wait_healthy(
        config.base_url + "/health",
        pids["langflow"],
        logs / "langflow.log",
        config.health_deadline,
        "Langflow",
        progress,
    )
    return pids


# Langflow's migrations on an empty database: a minute or two; never unbounded.
MIGRATION_DEADLINE = 900.0


def _migrate(
    config: LocalConfig, langflow: Path, env: dict[str, str], logs: Path, progress: Progress
) -> None:
    """``langflow migration --no-test``: bring the database to Langflow's schema in one
    process, before several workers start (a no-op once it is there)."""
    log = logs / "langflow-migration.log"
    progress(f"migrating Langflow's PostgreSQL database alone before {config.workers} workers")
    with log.open("ab") as sink:
        try:
            done = subprocess.run(
                [str(langflow), "migration", "--no-test"],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=MIGRATION_DEADLINE,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise FlowprobeError(
                f"Langflow's migration did not finish within {MIGRATION_DEADLINE:.0f} s; "
                f"last lines of {log}:\n{tail(log)}"
            ) from None
    if done.returncode != 0:
        raise FlowprobeError(
            f"Langflow's migration failed (exit {done.returncode}); last lines of {log}:\n"
            f"{tail(log)}"
        )


def _stub_command(config: LocalConfig, host: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable,
        "-m",
        "flowprobe.local.stub",
        "--host",
        host,
        "--port",
        str(config.stub_port),
        "--first-token-delay-ms",
        str(config.first_token_delay_ms),
        "--inter-token-delay-ms",
        str(config.inter_token_delay_ms),
        "--tokens",
        str(config.tokens),
    ]


def _server_command(config: LocalConfig, langflow: Path) -> list[str]:
    return [
        str(langflow),
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(config.port),
        "--backend-only",
        "--no-open-browser",
        "--workers",
        str(config.workers),
    ]


def _port_free(port: int) -> bool:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As the servers bind: a port whose last connections linger in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


def start_gateway(config: LocalConfig, progress: Progress) -> dict[str, str]:
    """Start (or reuse) the hosted-form gateway in front of the local Langflow; the settings
    that point the suites at it, under names of their own in ``target.env``."""
    langflow_id = langflow_id_for(config.state_dir / "langflow-id")
    values = {
        HOSTED_BASE_URL: f"http://127.0.0.1:{GATEWAY_PORT}",
        HOSTED_LANGFLOW_ID: langflow_id,
    }
    if processes.running_process(config, "gateway"):
        progress("the hosted-form gateway is already running; reusing it")
        return values
    if not _port_free(GATEWAY_PORT):
        raise FlowprobeError(
            f"port 127.0.0.1:{GATEWAY_PORT} for the hosted-form gateway is taken; "
            "stop what runs there"
        )
    log = config.state_dir / "logs" / "gateway.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    pid = processes.spawn(_gateway_command(config, langflow_id), log)
    processes.record_one(config, "gateway", pid)
    progress(f"started the hosted-form gateway (pid {pid})")
    health = f"{values[HOSTED_BASE_URL]}/lf/{langflow_id}/health"
    processes.wait_healthy(health, pid, log, 30, "the hosted-form gateway", progress)
    return values


def _gateway_command(config: LocalConfig, langflow_id: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "flowprobe.local.gateway",
        "--port",
        str(GATEWAY_PORT),
        "--upstream",
        config.base_url,
        "--langflow-id",
        langflow_id,
    ]
