"""PostgreSQL for the local target: a real server on 127.0.0.1, its data under ``.flowprobe/``,
from the binaries the PyPI package ``pgserver`` bundles (no root, no system package).

The server listens on loopback only, on a free port, and asks for a password generated once per
data folder and kept in a file only the user can read; Langflow gets it inside
``LANGFLOW_DATABASE_URL``, which flowprobe never writes to ``target.env`` or a log.

PostgreSQL refuses to run as root: under root the binaries are copied into the state folder and
run as the unprivileged ``nobody`` user, which then owns the data folder.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from flowprobe.errors import FlowprobeError
from flowprobe.local import install, processes
from flowprobe.local.config import LocalConfig, Progress, state_dir
from flowprobe.local.logs import tail

PGSERVER = "pgserver==0.1.4"
USER = "flowprobe"
DATABASE = "langflow"  # named literally in _create_database's query too
UNPRIVILEGED = "nobody"
START_DEADLINE = 60.0


@dataclass(frozen=True, slots=True)
class Database:
    """A PostgreSQL server started for Langflow: its pid, port and connection URL."""

    pid: int
    port: int
    url: str  # holds the password: never written to target.env or a log


def start(config: LocalConfig, langflow_venv: Path, progress: Progress) -> Database:
    """Start PostgreSQL for ``config`` (creating its data folder and database the first time)."""
    # Langflow's own `postgresql` extra brings the driver it uses (psycopg 3) at its pins.
    driver = f"langflow[postgresql]=={config.langflow_version}"
    install.ensure_packages(langflow_venv, "postgres", [driver, PGSERVER], progress)
    folder = state_dir(config) / "postgres"
    folder.mkdir(parents=True, exist_ok=True)
    owner = _owner()
    if owner:
        _refuse_unreachable(folder.resolve(), owner)
    binaries = _binaries(langflow_venv, folder)
    data = folder / "data"
    password = _password(folder)
    log = config.state_dir / "logs" / "postgres.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if not (data / "PG_VERSION").is_file():
        _initdb(binaries, data, password, owner, log)
    port = _free_port()
    command = [str(binaries / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port)]
    command += ["-k", str(data)]  # its Unix socket inside its own folder, not /tmp
    pid = processes.spawn(command, log, user=owner)
    try:
        _wait_ready(binaries, port, pid, log, owner)
        _create_database(binaries, port, password, owner, log)
    except BaseException:
        processes.kill(pid)  # not recorded yet: `down` would not know it
        raise
    progress(f"started PostgreSQL (pid {pid}) on 127.0.0.1:{port}")
    url = f"postgresql://{USER}:{password}@127.0.0.1:{port}/{DATABASE}"
    return Database(pid=pid, port=port, url=url)


def _binaries(venv: Path, folder: Path) -> Path:
    found = sorted(venv.glob("lib/python*/site-packages/pgserver/pginstall/bin"))
    if not found:
        raise FlowprobeError(f"{PGSERVER} is installed in {venv} but holds no PostgreSQL binaries")
    if os.geteuid() != 0:
        return found[-1]
    # Under root the server runs as `nobody`, who may not reach the user's cache folder: a copy,
    # with the shared libraries the binaries find at ../../../pgserver.libs.
    site = found[-1].parents[2]
    copy = folder / "pgserver"
    if not (copy / "pgserver" / "pginstall" / "bin" / "postgres").is_file():
        for part in ("pgserver/pginstall", "pgserver.libs"):
            shutil.copytree(site / part, copy / part, symlinks=True, dirs_exist_ok=True)
    return copy / "pgserver" / "pginstall" / "bin"


def _owner() -> str | None:
    """The user PostgreSQL runs as: ``nobody`` under root (it refuses root), else the user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        raise FlowprobeError(
            "PostgreSQL refuses to run as root and this machine has no 'nobody' user to run it "
            "as; run flowprobe as a regular user, or use --database sqlite"
        ) from None
    return UNPRIVILEGED


def _refuse_unreachable(folder: Path, owner: str) -> None:
    """Under root, ``owner`` must be able to enter every folder down to ``folder``."""
    for path in (*reversed(folder.parents), folder):
        if not path.stat().st_mode & stat.S_IXOTH:
            raise FlowprobeError(
                f"PostgreSQL runs as '{owner}' under root, and '{owner}' cannot enter {path} "
                f"(mode {stat.S_IMODE(path.stat().st_mode):o}), where its data would live; let "
                f"others enter it (chmod o+x {path}), or run flowprobe as a regular user"
            )


def _password(folder: Path) -> str:
    path = folder / "password"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as sink:
        sink.write(password + "\n")
    return password


def _initdb(binaries: Path, data: Path, password: str, owner: str | None, log: Path) -> None:
    data.mkdir(mode=0o700, exist_ok=True)
    password_file = data.parent / "initdb-password"
    password_file.write_text(password + "\n", encoding="utf-8")
    if owner:
        entry = pwd.getpwnam(owner)
        for path in (data.parent, data, password_file, *data.parent.glob("pgserver")):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    try:
        _run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "--pwfile",
                str(password_file),
                "--auth-host=scram-sha-256",  # TCP on loopback: the generated password
                "--auth-local=peer",
                "--encoding=UTF8",
            ],
            owner,
            log,
            "initialize PostgreSQL's data folder",
        )
    finally:
        password_file.unlink(missing_ok=True)


def _create_database(
    binaries: Path, port: int, password: str, owner: str | None, log: Path
) -> None:
    check = [str(binaries / "psql"), *_connect(port), "-d", "postgres", "-tAc"]
    exists = _run(
        [*check, "SELECT 1 FROM pg_database WHERE datname = 'langflow'"],
        owner,
        log,
        "list PostgreSQL's databases",
        password,
    )
    if exists.strip() != "1":
        _run(
            [str(binaries / "createdb"), *_connect(port), DATABASE],
            owner,
            log,
            "create Langflow's database",
            password,
        )


def _connect(port: int) -> list[str]:
    return ["-h", "127.0.0.1", "-p", str(port), "-U", USER, "-w"]  # -w: never prompt


def _wait_ready(binaries: Path, port: int, pid: int, log: Path, owner: str | None) -> None:
    started = time.monotonic()
    why = f"did not accept connections within {START_DEADLINE:.0f} s"
    while time.monotonic() - started < START_DEADLINE:
        if not processes.alive(pid):
            why = "exited before it accepted connections"
            break
        ready = subprocess.run(
            [str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True,
            check=False,
            user=owner,
            cwd="/",
            timeout=10,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.3)
    raise FlowprobeError(
        f"PostgreSQL did not start on 127.0.0.1:{port}: it {why}; last lines of {log}:\n{tail(log)}"
    )


def _run(
    command: list[str], owner: str | None, log: Path, doing: str, password: str | None = None
) -> str:
    env = {**os.environ, "PGPASSWORD": password} if password else None
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            user=owner,
            env=env,
            cwd="/",  # a user other than the caller may not enter the caller's folder
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise FlowprobeError(f"could not {doing}: {exc}") from None
    with log.open("a", encoding="utf-8") as sink:
        sink.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise FlowprobeError(f"could not {doing}; last lines of {log}:\n{tail(log)}")
    return done.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
