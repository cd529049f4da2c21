"""``flowprobe test`` and ``record``: the contract suites, run live or recorded, by pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from flowprobe.commands.common import local_target_env, say, with_ports


def _pytest(args: list[str], env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "pytest", *args]
    say("$ " + " ".join(command))
    return subprocess.call(command, env=env)


@click.command(context_settings={"ignore_unknown_options": True})
@with_ports
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def test(ctx: click.Context, /, pytest_args: tuple[str, ...], **options: Any) -> None:
    """Run the contract suites live: against FLOWPROBE_BASE_URL if set, else the local target.

    Extra arguments go to pytest, e.g. `flowprobe test -k streaming`.
    """
    env = local_target_env(not os.environ.get("FLOWPROBE_BASE_URL"), **options)
    env["FLOWPROBE_MODE"] = "live"
    ctx.exit(_pytest(["suites", *pytest_args], env))


@click.command(context_settings={"ignore_unknown_options": True})
@with_ports
@click.option(
    "--cassette-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("cassettes"),
    show_default=True,
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def record(
    ctx: click.Context, /, cassette_dir: Path, pytest_args: tuple[str, ...], **options: Any
) -> None:
    """Record fresh cassettes of every suite from the live (local) target."""
    env = local_target_env(not os.environ.get("FLOWPROBE_BASE_URL"), **options)
    if cassette_dir.exists():
        shutil.rmtree(cassette_dir)
    env.update(FLOWPROBE_MODE="record", FLOWPROBE_CASSETTE_DIR=str(cassette_dir.resolve()))
    code = _pytest(["suites", "-p", "no:randomly", *pytest_args], env)
    if code == 0:
        from flowprobe.cassettes import write_replay_target

        write_replay_target(cassette_dir, env)
        click.echo(f"cassettes written to {cassette_dir}/")
    ctx.exit(code)
