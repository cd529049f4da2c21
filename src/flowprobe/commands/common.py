"""What several commands share: exit codes, progress output, options, the target's settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from flowprobe.local import langflow
from flowprobe.local.config import LocalConfig
from flowprobe.local.target_env import read_target_env

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # what a shell reports for a command ended by Ctrl-C

F = TypeVar("F", bound=Callable[..., Any])


def say(text: str) -> None:
    """A progress or diagnostic line, on stderr so stdout stays the command's result."""
    click.echo(text, err=True)


def progress(line: str) -> None:
    """Overwrite the current stderr line: a running count that does not scroll."""
    click.echo("\r" + line, nl=False, err=True)


# -- options ---------------------------------------------------------------------------------

_port_options = [
    click.option(
        "--port",
        type=click.IntRange(1, 65535),
        default=None,
        envvar="FLOWPROBE_LOCAL_PORT",
        help="Langflow's port on 127.0.0.1 [default: 7860]",
    ),
    click.option(
        "--stub-port",
        type=click.IntRange(1, 65535),
        default=None,
        envvar="FLOWPROBE_STUB_PORT",
        help="the stub LLM's port [default: 7861]",
    ),
]


def with_ports(func: F) -> F:
    """``--port`` and ``--stub-port``: where the local target listens."""
    for option in reversed(_port_options):
        func = option(func)
    return func


def target_env_option(
    default: str = "[default: environment, else .flowprobe/target.env]",
) -> Callable[[F], F]:
    """``--target-env FILE``: the settings `flowprobe up` wrote, instead of the environment."""
    return click.option(
        "--target-env",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help=f"a target.env written by `flowprobe up` {default}",
    )


scenario_option = click.option(
    "--scenario", type=click.Choice(["stream", "run"]), default="stream", show_default=True
)
users_option = click.option(
    "-u", "--users", type=click.IntRange(1, 1000), default=2, show_default=True
)
run_time_option = click.option(
    "-t", "--run-time", type=click.IntRange(1, 3600), default=20, show_default=True, help="seconds"
)


# -- the target's settings -------------------------------------------------------------------


def local_config(**options: Any) -> LocalConfig:
    """The local target's config from command options; an option not given keeps its default."""
    return LocalConfig(**{k: v for k, v in options.items() if v is not None})


def local_target_env(use_local: bool, **options: Any) -> dict[str, str]:
    """The environment, plus the local target's settings if ``use_local`` (started if needed)."""
    env = dict(os.environ)
    if use_local:
        env.update(langflow.up(local_config(**options), say))
    return env


def load_env(target_env: Path | None, settings: dict[str, str | None]) -> dict[str, str]:
    """The environment for a run: ``target_env`` (else FLOWPROBE_*, else what `up` wrote), and
    ``settings`` as FLOWPROBE_LOAD_* variables (those given)."""
    env = dict(os.environ)
    if target_env is not None:
        env.update(read_target_env(LocalConfig(state_dir=target_env.parent)))
    elif not env.get("FLOWPROBE_BASE_URL"):
        env.update(read_target_env(LocalConfig()))
    env.update({f"FLOWPROBE_LOAD_{k.upper()}": v for k, v in settings.items() if v})
    return env
