"""``flowprobe sweep``: load runs at rising users or arrival rate, until goodput stops rising."""

from __future__ import annotations

import json
from pathlib import Path

import click

from flowprobe.commands.common import (
    Duration,
    load_env,
    local_option,
    progress,
    say,
    scenario_option,
    target_env_option,
    with_target,
)
from flowprobe.commands.inputs import input_options, input_settings
from flowprobe.errors import SettingsError
from flowprobe.load.launch import LaunchPlan
from flowprobe.load.preflight import preflight
from flowprobe.load.sweep import MAX_STEPS, MODES, SweepPlan, levels, run_sweep, table, write_plot


def _level_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[float]:
    if value is None:
        return []
    try:
        return [float(part) for part in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a list of numbers such as 1,2,4,8") from None


@click.command("sweep")
@scenario_option
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="users",
    show_default=True,
    help="users: closed loop, more users each step; rate: open loop, more arrivals/s each step",
)
@click.option("--start", type=float, default=1.0, show_default=True, help="the first level")
@click.option(
    "--factor", type=float, default=2.0, show_default=True, help="each level is the last x this"
)
@click.option(
    "--max", "maximum", type=float, default=16.0, show_default=True, help="the highest level"
)
@click.option(
    "--levels",
    "listed",
    default=None,
    callback=_level_list,
    metavar="L1,L2,...",
    help="the levels to try, rising (instead of --start/--factor/--max)",
)
@click.option(
    "-t",
    "--step-time",
    type=Duration(2, 600),
    default=10,
    show_default=True,
    help="how long each step runs: 10, 10s, 1m",
)
@click.option(
    "--pool",
    type=click.IntRange(1, 1000),
    default=None,
    help="rate mode: the users that take the arrivals [default: 8]",
)
@click.option(
    "--drop",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.9,
    show_default=True,
    help="stop when goodput falls below this x the best so far",
)
@click.option(
    "--max-error-rate",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="stop when a step fails more than this share of its calls",
)
@click.option("--input", "input_value", default=None, help="the input_value sent [default: hello]")
@click.option("--tweaks", default=None, help="tweaks as a JSON object")
@input_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".flowprobe/sweep"),
    show_default=True,
    help="sweep.json, sweep.png and one folder per step",
)
@with_target
@local_option
@target_env_option()
def sweep(
    scenario: str,
    mode: str,
    start: float,
    factor: float,
    maximum: float,
    listed: list[float],
    step_time: float,
    pool: int | None,
    drop: float,
    max_error_rate: float,
    input_value: str | None,
    tweaks: str | None,
    inputs_file: Path | None,
    inputs_order: str | None,
    input_length: str | None,
    seed: int | None,
    out: Path,
    target_env: Path | None,
    local: bool,
    base_url: str | None,
    flow: str | None,
    api_key_env: str | None,
) -> None:
    """Find the knee: load runs at 1, 2, 4, ... users (or arrivals/s with --mode rate), each
    --step-time long, until goodput falls below --drop x its best, stops rising for two steps,
    or errors pass --max-error-rate. Writes a table, sweep.json and sweep.png in --out."""
    from flowprobe.resources import shipped

    shipped("loadtests", what="locustfiles")
    ctx = click.get_current_context()
    _refuse_ignored_options(ctx, mode, listed, pool)
    tried = levels(mode, start=start, factor=factor, maximum=maximum, listed=listed)
    step_s = int(step_time)
    if step_s != step_time:
        raise SettingsError(f"--step-time {step_time:g} s is not a whole number of seconds")
    settings = {"input": input_value, "tweaks": tweaks}
    settings |= input_settings(inputs_file, inputs_order, input_length, seed, input_value)
    target = {"base_url": base_url, "flow": flow, "api_key_env": api_key_env}
    env = load_env(target_env, settings, target, local=local)
    say(preflight(env))
    plan = SweepPlan(
        mode=mode,
        levels=tried,
        step_s=step_s,
        pool=pool or 8,
        drop=drop,
        max_error_rate=max_error_rate,
        launch=LaunchPlan(scenario=scenario, out=out),
    )
    say(f"sweep: {len(tried)} steps at most, about {len(tried) * (step_s + 5)} s")
    result = run_sweep(plan, env, say, progress)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "sweep.json"
    report.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    for line in table(result):
        click.echo(line)
    say(write_plot(result, out / "sweep.png"))
    say(f"results: {report}")


def _refuse_ignored_options(
    ctx: click.Context, mode: str, listed: list[float], pool: int | None
) -> None:
    """Every option either applies or is refused with the reason."""
    if pool is not None and mode != "rate":
        raise click.UsageError("--pool applies only to --mode rate (a users sweep sets users)")
    if listed:
        given = [
            f"--{name}"
            for name in ("start", "factor", "max")
            if ctx.get_parameter_source("maximum" if name == "max" else name)
            is not click.core.ParameterSource.DEFAULT
        ]
        if given:
            raise click.UsageError(f"--levels lists every level: drop {', '.join(given)}")
    if len(listed) > MAX_STEPS:
        raise click.UsageError(f"--levels: at most {MAX_STEPS} levels")
