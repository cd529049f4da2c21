"""What several commands share: exit codes, progress output, options, the target's settings."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import click

from flowprobe.errors import SettingsError
from flowprobe.local import langflow
from flowprobe.local.config import LocalConfig
from flowprobe.local.target_env import read_target_env
from flowprobe.settings import refuse_blank_target

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # what a shell reports for a command ended by Ctrl-C

F = TypeVar("F", bound=Callable[..., Any])


def say(text: str) -> None:
    """A progress or diagnostic line, on stderr so stdout stays the command's result."""
    click.echo(text, err=True)


def progress(line: str) -> None:
    """A running count on stderr: on a terminal, one line rewritten in place (``\\r`` and
    erase to its end); in a log (CI, a pipe), a plain line of its own."""
    if sys.stderr.isatty():
        click.echo("\r" + line + "\x1b[K", nl=False, err=True)
    else:
        click.echo(line, err=True)


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


_target_options = [
    click.option(
        "--base-url",
        default=None,
        metavar="URL",
        help="the target's base URL, e.g. https://langflow.example.com [overrides "
        "FLOWPROBE_BASE_URL]",
    ),
    click.option(
        "--flow", default=None, help="the flow's id or endpoint name [overrides FLOWPROBE_FLOW]"
    ),
    click.option(
        "--api-key-env",
        default=None,
        metavar="NAME",
        help="read the API key from the environment variable NAME [overrides FLOWPROBE_API_KEY]",
    ),
]
local_option = click.option(
    "--local",
    is_flag=True,
    help="test the built-in local Langflow (what a run with no target does outside CI)",
)


def with_target(func: F) -> F:
    """``--base-url``, ``--flow`` and ``--api-key-env``: the target, on the command line.

    A key itself never goes on a command line (shell history, process lists): only the name of
    the variable that holds it.
    """
    for option in reversed(_target_options):
        func = option(func)
    return func


scenario_option = click.option(
    "--scenario", type=click.Choice(["stream", "run"]), default="stream", show_default=True
)
users_option = click.option(
    "-u", "--users", type=click.IntRange(1, 1000), default=2, show_default=True
)


class Duration(click.ParamType):  # type: ignore[type-arg]
    """Seconds, written as locust and k6 users write them: ``20``, ``20s``, ``5m``, ``1h30m``."""

    name = "duration"
    _PART = re.compile(r"(\d+(?:\.\d+)?)([hms]?)")
    _SECONDS: ClassVar[dict[str, float]] = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | float):
            seconds = float(value)
        else:
            text = str(value).strip().lower()
            parts = self._PART.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                self.fail(f"{value!r} is not a duration such as 20, 20s, 5m or 1h30m", param, ctx)
            seconds = sum(float(n) * self._SECONDS[u] for n, u in parts)
        if not self.minimum <= seconds <= self.maximum:
            self.fail(
                f"{value!r} is {seconds:g} s; allowed: {self.minimum:g} to {self.maximum:g} s",
                param,
                ctx,
            )
        return seconds


def _whole_seconds(ctx: click.Context, param: click.Parameter, value: float) -> int:
    if value != int(value):
        raise click.BadParameter(f"{value:g} s is not a whole number of seconds", ctx, param)
    return int(value)


run_time_option = click.option(
    "-t",
    "--run-time",
    type=Duration(1, 3600),
    default=20,
    show_default=True,
    callback=_whole_seconds,
    help="how long: 20, 20s, 5m, 1h (at most 1h)",
)


# -- the target's settings -------------------------------------------------------------------


def local_config(**options: Any) -> LocalConfig:
    """The local target's config from command options; an option not given keeps its default."""
    return LocalConfig(**{k: v for k, v in options.items() if v is not None})


NO_TARGET = (
    "no target: set FLOWPROBE_BASE_URL or pass --base-url; "
    "pass --local to test the built-in local Langflow"
)
_TRUE = ("1", "true", "yes", "on")


def in_ci(env: dict[str, str]) -> bool:
    """Whether ``CI`` says this runs in CI (GitHub Actions and GitLab CI set ``CI=true``)."""
    return env.get("CI", "").strip().lower() in _TRUE


def target_options(
    base_url: str | None = None, flow: str | None = None, api_key_env: str | None = None
) -> dict[str, str]:
    """The target options given, as the ``FLOWPROBE_*`` variables they override."""
    for option, value in (("--base-url", base_url), ("--flow", flow)):
        if value is not None and not value.strip():
            # `--base-url "$STAGING_URL"` with a secret that is not set.
            raise SettingsError(f"{option} is empty (a CI secret that is not set?)")
    given = {"FLOWPROBE_BASE_URL": base_url, "FLOWPROBE_FLOW": flow}
    if api_key_env is not None:
        key = os.environ.get(api_key_env, "")
        if not key:
            raise SettingsError(
                f"--api-key-env {api_key_env}: the environment variable {api_key_env} is not set"
            )
        given["FLOWPROBE_API_KEY"] = key
    return {name: value for name, value in given.items() if value is not None}


def choose_local(env: dict[str, str], local: bool, *, guard_ci: bool = True) -> bool:
    """Whether to use the built-in local target: asked for, or no target given outside CI.

    In CI, no target is refused (``guard_ci``): a forgotten secret must not test the local
    target and pass.
    """
    if local:
        return True
    refuse_blank_target(env)
    if env.get("FLOWPROBE_BASE_URL"):
        return False
    if guard_ci and in_ci(env):
        raise SettingsError(NO_TARGET)
    return True


def _refuse_two_targets(local: bool, options: dict[str, str]) -> None:
    if local and "FLOWPROBE_BASE_URL" in options:
        raise click.UsageError("--local and --base-url name two targets: pass one of them")


def suite_env(local: bool, target: dict[str, Any], ports: dict[str, Any]) -> dict[str, str]:
    """The environment of a suites run: the target options over the environment, else the
    local target (started if needed) when :func:`choose_local` picks it."""
    options = target_options(**target)
    _refuse_two_targets(local, options)
    env = {**os.environ, **options}
    if choose_local(env, local):
        env.update(langflow.up(local_config(**ports), say))
    return env


def load_env(
    target_env: Path | None,
    settings: dict[str, str | None],
    target: dict[str, Any] | None = None,
    *,
    local: bool = False,
    guard_ci: bool = True,
) -> dict[str, str]:
    """The environment for a run: the target options, over ``target_env`` (else FLOWPROBE_*,
    else what `up` wrote), and ``settings`` as FLOWPROBE_LOAD_* variables (those given).

    ``guard_ci``: in CI, refuse to fall back to what `up` wrote unless ``local`` is given.
    """
    options = target_options(**(target or {}))
    _refuse_two_targets(local, options)
    env = dict(os.environ)
    if target_env is not None:
        env.update(read_target_env(LocalConfig(state_dir=target_env.parent)))
    elif choose_local({**env, **options}, local, guard_ci=guard_ci):
        env.update(read_target_env(LocalConfig()))
    env.update(options)
    refuse_blank_target(env)
    env.update({f"FLOWPROBE_LOAD_{k.upper()}": v for k, v in settings.items() if v})
    return env
