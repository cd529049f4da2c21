"""``flowprobe load``: a bounded headless locust run in a subprocess.

locust is never imported here: importing it patches the standard library through gevent.
"""

from __future__ import annotations

from pathlib import Path

import click

from flowprobe.commands.common import (
    EXIT_FAILED,
    Duration,
    load_env,
    local_option,
    progress,
    run_time_option,
    say,
    scenario_option,
    target_env_option,
    users_option,
    with_target,
)
from flowprobe.load.launch import LaunchPlan, launch
from flowprobe.load.preflight import preflight


@click.command("load")
@scenario_option
@click.option("--open-loop", is_flag=True, help="start calls at --rate per second (-u is the pool)")
@click.option(
    "--rate", type=click.FloatRange(min=0, min_open=True), default=None, help="arrivals/s"
)
@users_option
@click.option("-r", "--spawn-rate", type=click.FloatRange(min=0, min_open=True), default=2.0)
@run_time_option
@click.option("--steps", default=None, help="step shape users:seconds,... instead of -u/-t")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="locust worker processes on this machine (locust's --processes); the users and the "
    "open-loop rate are split across them",
)
@click.option("--input", "input_value", default=None, help="the input_value sent [default: hello]")
@click.option("--tweaks", default=None, help="tweaks as a JSON object")
@click.option(
    "--warmup", type=Duration(0, 3600), default=None, help="left out at the start: 10, 10s, 1m"
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".flowprobe/load"),
    show_default=True,
)
@with_target
@local_option
@target_env_option()
@click.pass_context
def load(
    ctx: click.Context,
    scenario: str,
    open_loop: bool,
    rate: float | None,
    users: int,
    spawn_rate: float,
    run_time: int,
    steps: str | None,
    processes: int | None,
    input_value: str | None,
    tweaks: str | None,
    warmup: float | None,
    out: Path,
    target_env: Path | None,
    local: bool,
    base_url: str | None,
    flow: str | None,
    api_key_env: str | None,
) -> None:
    """Run a bounded headless locust load test; writes CSV, HTML and a JSON summary in --out.

    The target: --base-url or FLOWPROBE_BASE_URL, else (not in CI, or with --local) the local
    target `flowprobe up` started.
    """
    from flowprobe.resources import shipped

    shipped("loadtests", what="locustfiles")  # before anything runs: a clear error if missing
    target = {"base_url": base_url, "flow": flow, "api_key_env": api_key_env}
    settings = {
        "arrival_rate": None if rate is None else str(rate),
        "steps": steps,
        "input": input_value,
        "tweaks": tweaks,
        "warmup": None if warmup is None else str(warmup),
    }
    _refuse_ignored_options(open_loop, rate, run_time, warmup, steps)
    env = load_env(target_env, settings, target, local=local)
    say(preflight(env))
    plan = LaunchPlan(
        scenario=scenario,
        open_loop=open_loop,
        users=users,
        spawn_rate=spawn_rate,
        run_time_s=run_time,
        steps=steps,
        processes=processes,
        out=out,
    )
    code = launch(plan, env, say, progress)
    click.echo("", err=True)
    click.echo(f"results: {plan.stats_csv}, {plan.html}, {plan.summary}")
    if code:
        ctx.exit(EXIT_FAILED)


def _refuse_ignored_options(
    open_loop: bool, rate: float | None, run_time: int, warmup: float | None, steps: str | None
) -> None:
    """Every option either applies or is refused with the reason: none is silently ignored."""
    if rate is not None and not open_loop:
        raise click.UsageError("--rate applies only to an open-loop run: add --open-loop")
    if warmup is not None and steps is None and warmup >= run_time:
        raise click.UsageError(
            f"--warmup {warmup:g} s leaves nothing of a {run_time} s run (-t) to measure"
        )
    if steps is not None:
        for part in steps.split(","):
            users, _, seconds = part.strip().partition(":")
            if not (users.isdigit() and int(users) >= 1 and _positive_number(seconds)):
                raise click.UsageError(
                    f"--steps {steps!r}: each step is USERS:SECONDS with at least 1 user and "
                    f"more than 0 seconds (got {part.strip()!r})"
                )


def _positive_number(text: str) -> bool:
    try:
        return 0 < float(text) < float("inf")
    except ValueError:
        return False
