"""The local target as a candidate: its Langflow version, database, workers and tracing.

Offline: installs, processes and Langflow itself are patched; nothing is started or fetched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flowprobe.cli import cli
from flowprobe.errors import FlowprobeError
from flowprobe.local import (
    install,
    langflow,
    launch,
    postgres,
    processes,
    provision,
    reference_flows,
    target_env,
)
from flowprobe.local.config import (
    LANGFLOW_VERSION,
    MULTI_WORKER,
    TRACING_OFF,
    LocalConfig,
    built_flows_dir,
    environment_dir,
    langflow_environment,
    state_dir,
)


def _config(tmp_path: Path, **kwargs: Any) -> LocalConfig:
    return LocalConfig(state_dir=tmp_path / ".flowprobe", **kwargs)


@pytest.mark.parametrize("version", ["1.11.9", "1.14.0", "2.0.0", "0.13.1"])
def test_a_version_outside_the_supported_series_is_refused_with_the_range(version: str) -> None:
    with pytest.raises(FlowprobeError, match=r"1\.12\.x, 1\.13\.x \(>=1\.12\.0,<1\.14\)"):
        LocalConfig(langflow_version=version)


@pytest.mark.parametrize("version", ["1.13", "latest", "1.13.0rc1", "", "1.13.0 "])
def test_a_version_that_is_not_an_exact_release_is_refused(version: str) -> None:
    with pytest.raises(FlowprobeError, match="not an exact release"):
        LocalConfig(langflow_version=version)


def test_the_cli_refuses_an_unsupported_version_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(langflow, "up", _must_not_run)
    result = _invoke(["up", "--langflow-version", "1.11.0"])
    assert result.exit_code == 2
    assert "is not supported by the local target: it runs 1.12.x, 1.13.x" in result.output
    assert "Traceback" not in result.output


def test_the_version_comes_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[LocalConfig] = []
    monkeypatch.setattr(langflow, "up", lambda config, _: seen.append(config) or _VALUES)
    monkeypatch.setenv("FLOWPROBE_LANGFLOW_VERSION", "1.12.8")
    result = _invoke(["up", "--port", "8100"])
    assert result.exit_code == 0, result.output
    assert seen[0].langflow_version == "1.12.8"
    result = _invoke(["up", "--langflow-version", "1.13.0"])
    assert seen[1].langflow_version == "1.13.0"  # the option wins over the variable


def test_every_command_reads_the_target_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWPROBE_LANGFLOW_VERSION", "1.12.8")
    monkeypatch.setenv("FLOWPROBE_LOCAL_DATABASE", "postgres")
    monkeypatch.setenv("FLOWPROBE_LOCAL_WORKERS", "2")
    config = LocalConfig()
    assert (config.langflow_version, config.database, config.workers) == ("1.12.8", "postgres", 2)
    monkeypatch.setenv("FLOWPROBE_LOCAL_WORKERS", "two")
    with pytest.raises(FlowprobeError, match="FLOWPROBE_LOCAL_WORKERS='two' is not a whole"):
        LocalConfig()


def test_each_version_has_its_own_environment_and_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWPROBE_CACHE_DIR", str(tmp_path / "cache"))
    assert environment_dir("1.12.8") == tmp_path / "cache" / "langflow-1.12.8"
    assert environment_dir() == tmp_path / "cache" / f"langflow-{LANGFLOW_VERSION}"
    old, new = _config(tmp_path, langflow_version="1.12.8"), _config(tmp_path)
    on_postgres = _config(tmp_path, database="postgres")
    assert len({state_dir(old), state_dir(new), state_dir(on_postgres)}) == 3
    assert langflow_environment(old)["LANGFLOW_DATABASE_URL"].endswith(
        "/.flowprobe/langflow/1.12.8-sqlite/langflow.db"
    )
    assert built_flows_dir(old) != built_flows_dir(new)


def test_workers_reach_langflow_as_option_and_environment(tmp_path: Path) -> None:
    config = _config(tmp_path, workers=3)
    command = launch._server_command(config, Path("/venv/bin/langflow"))
    assert command[command.index("--workers") + 1] == "3"
    assert langflow_environment(config)["LANGFLOW_WORKERS"] == "3"
    # Langflow refuses several workers without a shared job queue unless told it is headless.
    assert langflow_environment(config)[next(iter(MULTI_WORKER))] == "true"
    assert next(iter(MULTI_WORKER)) not in langflow_environment(_config(tmp_path, workers=1))


@pytest.mark.parametrize(
    ("options", "message"),
    [({"workers": 0}, "1 to 16"), ({"database": "mysql"}, "sqlite or postgres")],
)
def test_a_bad_database_or_worker_count_is_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(FlowprobeError, match=message):
        LocalConfig(**options)


def test_several_workers_on_sqlite_are_allowed_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[LocalConfig] = []
    monkeypatch.setattr(langflow, "up", lambda config, _: seen.append(config) or _VALUES)
    result = _invoke(["up", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert seen[0].workers == 2
    assert "warning: 2 workers share one SQLite database" in result.output
    result = _invoke(["up", "--workers", "2", "--database", "postgres"])
    assert "warning" not in result.output


def test_tracing_is_off_unless_asked_for(tmp_path: Path) -> None:
    name, value = TRACING_OFF
    assert langflow_environment(_config(tmp_path))[name] == value
    assert langflow_environment(_config(tmp_path, tracing=True))[name] == "true"


def test_the_database_url_given_replaces_sqlite(tmp_path: Path) -> None:
    url = "postgresql://flowprobe:pw@127.0.0.1:5432/langflow"
    config = _config(tmp_path, database="postgres")
    assert langflow_environment(config, url)["LANGFLOW_DATABASE_URL"] == url


# -- up: reuse, or restart when the running target is another version -------------------------


class _Calls:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, recorded: dict[str, Any]) -> None:
        self.done: list[str] = []
        monkeypatch.setattr(processes, "running", lambda _: True)
        monkeypatch.setattr(processes, "recorded", lambda _: recorded)
        monkeypatch.setattr(provision, "answers_runs", lambda _: True)
        monkeypatch.setattr(install, "ensure_langflow", self._install)
        monkeypatch.setattr(processes, "stop", lambda *_: self.done.append("stop"))
        monkeypatch.setattr(launch, "start_processes", lambda *_: self.done.append("start"))
        monkeypatch.setattr(reference_flows, "ensure_built", lambda *_: Path("/built"))
        monkeypatch.setattr(provision, "provision", lambda *_: dict(_VALUES))
        monkeypatch.setattr(target_env, "write_target_env", lambda *_: None)

    def _install(self, _: Any, version: str) -> Path:
        self.done.append(f"install {version}")
        return Path(f"/cache/langflow-{version}/bin/langflow")


def test_up_reuses_a_running_target_of_the_same_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, langflow_version="1.12.8")
    calls = _Calls(monkeypatch, launch.identity(config))
    langflow.up(config, lambda _: None)
    assert calls.done == []


@pytest.mark.parametrize(
    "change",
    [{"langflow_version": "1.13.0"}, {"database": "postgres"}, {"workers": 2}, {"tracing": True}],
)
def test_up_restarts_a_target_that_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any]
) -> None:
    running = _config(tmp_path, langflow_version="1.12.8")
    wanted = _config(tmp_path, **{"langflow_version": "1.12.8", **change})
    calls = _Calls(monkeypatch, launch.identity(running))
    said: list[str] = []
    langflow.up(wanted, said.append)
    version = wanted.langflow_version
    assert calls.done == [f"install {version}", "stop", "start"]
    assert any("restarting it" in line and next(iter(change)) in line for line in said)


def test_the_record_names_the_version_a_target_runs(tmp_path: Path) -> None:
    config = _config(tmp_path, langflow_version="1.12.8", workers=2)
    config.state_dir.mkdir()
    processes.record(config, {"port": 8100, **launch.identity(config)})
    assert processes.recorded(config)["langflow_version"] == "1.12.8"
    assert processes.recorded(config)["workers"] == 2


def test_a_target_without_postgres_is_running_without_one(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.state_dir.mkdir()
    me = os.getpid()
    processes.record(config, {"langflow": me, "stub": me, "stub_v6": me})
    assert processes.running(config)
    processes.record(config, {"langflow": me, "stub": me, "stub_v6": me, "postgres": 2**22 + 7})
    assert not processes.running(config)  # recorded, and gone: the target is not whole


# -- installing a version ---------------------------------------------------------------------


def test_a_version_not_on_the_index_says_so(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    script = (
        "print('ERROR: No matching distribution found for langflow==1.12.99'); raise SystemExit(1)"
    )
    command = [sys.executable, "-c", script, "langflow==1.12.99"]
    with pytest.raises(FlowprobeError, match=r"langflow==1\.12\.99 is not on the package index"):
        install._run_logged(command, log, lambda _: None, install._Clock(time.monotonic(), 60))


def test_a_version_is_installed_into_its_own_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWPROBE_CACHE_DIR", str(tmp_path))
    commands: list[list[str]] = []
    monkeypatch.setattr(install, "_run_logged", lambda command, *_: commands.append(command))
    (tmp_path / "langflow-1.12.8").mkdir()  # what `python -m venv` would have made
    langflow_exe = install.ensure_langflow(lambda _: None, version="1.12.8")
    assert langflow_exe == tmp_path / "langflow-1.12.8" / "bin" / "langflow"
    assert commands[-1][-1] == "langflow==1.12.8"
    assert str(tmp_path / "langflow-1.12.8") in commands[0]


# -- reference flows built per version --------------------------------------------------------


def test_built_flows_are_reused_while_the_builder_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, langflow_version="1.12.8")
    folder = built_flows_dir(config)
    folder.mkdir(parents=True)
    for name in reference_flows.expected_files():
        (folder / name).write_text("{}")
    builder = reference_flows.flows_dir() / reference_flows.BUILDER
    import hashlib

    (folder / reference_flows.STAMP).write_text(hashlib.sha256(builder.read_bytes()).hexdigest())
    monkeypatch.setattr(reference_flows.subprocess, "run", _must_not_run)
    assert reference_flows.ensure_built(config, lambda _: None) == folder
    (folder / reference_flows.STAMP).write_text("an older builder")
    with pytest.raises(AssertionError, match="must not run"):
        reference_flows.ensure_built(config, lambda _: None)


def test_a_version_that_cannot_build_the_flows_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An environment whose python is this one, without Langflow: the builder's import fails.
    monkeypatch.setenv("FLOWPROBE_CACHE_DIR", str(tmp_path / "cache"))
    bin_dir = tmp_path / "cache" / "langflow-1.12.8" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    config = _config(tmp_path, langflow_version="1.12.8")
    with pytest.raises(
        FlowprobeError, match=r"(?s)Langflow 1\.12\.8 could not build .*No module named 'langflow'"
    ):
        reference_flows.ensure_built(config, lambda _: None)


def test_provision_imports_the_flows_of_the_folder_given(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"url": "http://127.0.0.1:7861/v1"}))
    flows = provision.reference_flows("http://127.0.0.1:8101/v1", tmp_path)
    assert flows == [{"url": "http://127.0.0.1:8101/v1"}]


def test_the_builder_ships_with_the_reference_flows() -> None:
    assert (reference_flows.flows_dir() / reference_flows.BUILDER).is_file()


# -- PostgreSQL -------------------------------------------------------------------------------


def test_the_postgres_password_is_private_and_kept(tmp_path: Path) -> None:
    first = postgres._password(tmp_path)
    assert len(first) >= 24
    assert (tmp_path / "password").stat().st_mode & 0o077 == 0
    assert postgres._password(tmp_path) == first


def test_postgres_runs_as_nobody_under_root_only() -> None:
    assert postgres._owner() == ("nobody" if os.geteuid() == 0 else None)


def _invoke(args: list[str]) -> Any:
    return CliRunner().invoke(cli, args, prog_name="flowprobe")


_VALUES = {
    "FLOWPROBE_BASE_URL": "http://127.0.0.1:8100",
    "FLOWPROBE_FLOW": "f",
    "FLOWPROBE_NO_MODEL_FLOW": "n",
    "FLOWPROBE_FILE_FLOW": "r",
}


def _must_not_run(*_: Any, **__: Any) -> Any:
    raise AssertionError("must not run")


def test_postgres_that_does_not_start_is_a_clear_error_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "postgres.log"
    log.write_text('FATAL:  could not bind IPv4 address "127.0.0.1": Address in use\n')
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    with pytest.raises(
        FlowprobeError, match=r"(?s)PostgreSQL did not start.*exited before.*could not bind"
    ):
        postgres._wait_ready(tmp_path, 1, exited.pid, log, None)


# -- several workers on a fresh PostgreSQL database ---------------------------------------------


class _Database:
    url = "postgresql://flowprobe@127.0.0.1:1/langflow"
    pid = 4242
    port = 1


@pytest.mark.parametrize(
    ("database", "workers", "migrates"),
    [
        ("postgres", 2, True),
        ("postgres", 1, False),
        ("sqlite", 2, False),
    ],
)
def test_postgres_is_migrated_alone_before_several_workers_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str, workers: int, migrates: bool
) -> None:
    steps: list[str] = []
    monkeypatch.setattr(launch, "_port_free", lambda port: True)
    monkeypatch.setattr(launch.postgres, "start", lambda *_: _Database())
    monkeypatch.setattr(
        launch.processes, "spawn", lambda command, *_: steps.append(" ".join(command[1:3])) or 1
    )
    monkeypatch.setattr(launch.processes, "record", lambda *_: None)
    monkeypatch.setattr(launch.processes, "wait_healthy", lambda *_: None)

    def run(command: list[str], **kwargs: Any) -> Any:
        steps.append(" ".join(command[1:]))
        assert kwargs["env"]["LANGFLOW_DATABASE_URL"] == _Database.url
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(launch.subprocess, "run", run)
    config = _config(tmp_path, database=database, workers=workers)
    launch.start_processes(config, tmp_path / "venv" / "bin" / "langflow", lambda _: None)
    server = [step for step in steps if step.startswith("run ")]
    assert len(server) == 1
    if migrates:
        assert steps.index("migration --no-test") < steps.index(server[0])
    else:
        assert "migration --no-test" not in steps


def test_a_failed_migration_is_a_clear_error_and_no_worker_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned: list[str] = []
    monkeypatch.setattr(launch, "_port_free", lambda port: True)
    monkeypatch.setattr(launch.postgres, "start", lambda *_: _Database())
    monkeypatch.setattr(
        launch.processes, "spawn", lambda command, *_: spawned.append(command[1]) or 1
    )

    def run(command: list[str], **kwargs: Any) -> Any:
        kwargs["stdout"].write(b"alembic: relation already exists\n")
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(launch.subprocess, "run", run)
    config = _config(tmp_path, database="postgres", workers=2)
    with pytest.raises(FlowprobeError, match=r"migration failed \(exit 1\)(.|\n)*already exists"):
        launch.start_processes(config, tmp_path / "langflow", lambda _: None)
    assert "run" not in spawned


def test_postgres_under_root_refuses_a_folder_nobody_can_enter_with_the_fix() -> None:
    import shutil
    import tempfile

    opened = Path(tempfile.mkdtemp(prefix="flowprobe-pg-"))
    try:
        opened.chmod(0o755)
        (opened / "state").mkdir(mode=0o755)
        postgres._refuse_unreachable(opened / "state", "nobody")  # every folder can be entered
        (opened / "state").chmod(0o700)
        with pytest.raises(FlowprobeError, match=r"cannot enter .*state \(mode 700\).*chmod o\+x"):
            postgres._refuse_unreachable(opened / "state", "nobody")
    finally:
        shutil.rmtree(opened)
