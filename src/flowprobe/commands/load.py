"""``flowprobe load``: a bounded headless locust run in a subprocess.

locust is never imported here: importing it patches the standard library through gevent.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from flowprobe.commands.common import (
    EXIT_FAILED,
    load_env,
    local_option,
    progress,
    say,
    scenario_option,
    target_env_option,
    with_target,
)
from flowprobe.commands.inputs import input_options, input_settings, show_by_input_length
from flowprobe.commands.loadshape import LoadShape, load_shape_options
from flowprobe.load.launch import launch
from flowprobe.load.preflight import preflight
from flowprobe.load.summary_table import render
from flowprobe.load.thresholds import judge_file


@click.command("load")
@scenario_option
@load_shape_options
@input_options
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=None,
    help="locust worker processes on this machine (locust's --processes); the users and the "
    "open-loop rate are split across them",
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
    shape: LoadShape,
    inputs_file: Path | None,
    inputs_order: str | None,
    input_length: str | None,
    seed: int | None,
    processes: int | None,
    out: Path,
    target_env: Path | None,
    local: bool,
    base_url: str | None,
    flow: str | None,
    api_key_env: str | None,
) -> None:
    """Run a bounded headless locust load test; writes CSV, HTML and a JSON summary in --out,
    and prints the end-of-run summary: exit 1 when the run is invalid, fails or breaks a
    threshold.

    The target: --base-url or FLOWPROBE_BASE_URL, else (not in CI, or with --local) the local
    target `flowprobe up` started.
    """
    from flowprobe.resources import shipped

    shipped("loadtests", what="locustfiles")  # before anything runs: a clear error if missing
    target = {"base_url": base_url, "flow": flow, "api_key_env": api_key_env}
    shape.refuse_ignored()
    settings = shape.settings() | input_settings(
        inputs_file, inputs_order, input_length, seed, shape.input_value
    )
    env = load_env(target_env, settings, target, local=local)
    thresholds = shape.judged_by(env)
    say(preflight(env))
    plan = replace(shape.plan(scenario, out), processes=processes)
    plan.summary.unlink(missing_ok=True)  # never judge an earlier run's summary
    code = launch(plan, env, say, progress)
    click.echo("", err=True)
    if not plan.summary.exists():
        say(f"flowprobe: the load run wrote no summary ({plan.summary}; locust exit {code})")
        ctx.exit(EXIT_FAILED)
    summary = judge_file(plan.summary, thresholds, also=shape.summary_json)
    click.echo(render(summary))
    show_by_input_length(plan.summary)
    written = [plan.stats_csv, plan.html, plan.summary, shape.summary_json]
    click.echo("results: " + ", ".join(str(p) for p in written if p is not None))
    if code or not summary.passed:
        ctx.exit(EXIT_FAILED)
