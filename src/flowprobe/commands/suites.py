"""``flowprobe test`` and ``record``: the contract suites, run live or recorded, by pytest.

The suites are the ones flowprobe ships (``flowprobe.suites`` in a wheel, ``suites/`` in a
checkout), run with the current folder as pytest's rootdir: its ``[tool.flowprobe]`` applies,
and relative paths (``cassettes``) are the user's, whatever folder flowprobe is installed in.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from flowprobe.commands.common import local_option, say, suite_env, with_ports, with_target
from flowprobe.errors import TargetError


def suites_args() -> list[str]:
    """pytest's arguments that run flowprobe's own suites from the current folder."""
    from flowprobe.resources import shipped

    return [str(shipped("suites", what="contract suites")), "--rootdir", str(Path.cwd())]


def _pytest(args: list[str], env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "pytest", *args]
    say("$ " + " ".join(command))
    return subprocess.call(command, env=env)


@click.command(context_settings={"ignore_unknown_options": True})
@with_ports
@with_target
@local_option
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def test(
    ctx: click.Context,
    /,
    pytest_args: tuple[str, ...],
    local: bool,
    base_url: str | None,
    flow: str | None,
    api_key_env: str | None,
    **ports: Any,
) -> None:
    """Run the contract suites live: against --base-url or FLOWPROBE_BASE_URL if set, else (not
    in CI, or with --local) the local target, started if needed.

    Extra arguments go to pytest, e.g. `flowprobe test -k streaming`.
    """
    target = {"base_url": base_url, "flow": flow, "api_key_env": api_key_env}
    env = suite_env(local, target, ports)
    env["FLOWPROBE_MODE"] = "live"
    ctx.exit(_pytest([*suites_args(), *pytest_args], env))


@click.command(context_settings={"ignore_unknown_options": True})
@with_ports
@with_target
@local_option
@click.option(
    "--cassette-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("cassettes"),
    show_default=True,
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def record(
    ctx: click.Context,
    /,
    cassette_dir: Path,
    pytest_args: tuple[str, ...],
    local: bool,
    base_url: str | None,
    flow: str | None,
    api_key_env: str | None,
    **ports: Any,
) -> None:
    """Record fresh cassettes of every suite, and the target.json that replays them.

    The recording goes to a new folder beside --cassette-dir, which replaces it only when the
    recording succeeded: a failed one leaves the earlier cassettes as they were.
    """
    target = {"base_url": base_url, "flow": flow, "api_key_env": api_key_env}
    env = suite_env(local, target, ports)
    _require_reachable(env)
    cassette_dir = cassette_dir.resolve()
    cassette_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{cassette_dir.name}.", dir=cassette_dir.parent))
    try:
        env.update(FLOWPROBE_MODE="record", FLOWPROBE_CASSETTE_DIR=str(staging))
        code = _pytest([*suites_args(), "-p", "no:randomly", *pytest_args], env)
        if code == 0:
            _swap_in(staging, cassette_dir)
            click.echo(f"cassettes written to {cassette_dir}/")
        else:
            say(f"the recording failed (pytest exit {code}); {cassette_dir} is left as it was")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    ctx.exit(code)


def _require_reachable(env: dict[str, str]) -> None:
    """Refuse, in one line, a target that does not answer, before any recording starts."""
    import httpx

    from flowprobe.settings import load_settings
    from flowprobe.target import Target

    target = Target.from_settings(load_settings(env=env))
    try:
        httpx.request("HEAD", target.base_url, timeout=10.0)
    except httpx.TransportError as exc:
        raise TargetError(
            f"cannot reach {target.base_url} ({type(exc).__name__}); nothing was recorded"
        ) from None


def _swap_in(recorded: Path, cassette_dir: Path) -> None:
    """Put ``recorded`` in ``cassette_dir``'s place; the old folder goes only once it is out."""
    retired = recorded.with_name(recorded.name + ".old")
    if cassette_dir.exists():
        cassette_dir.rename(retired)
    recorded.rename(cassette_dir)
    shutil.rmtree(retired, ignore_errors=True)
