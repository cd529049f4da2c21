"""``flowprobe check``: the suites live, a short load run and the gate, in one verdict."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from flowprobe.commands.common import (
    EXIT_FAILED,
    load_env,
    local_option,
    progress,
    say,
    scenario_option,
    suite_env,
    target_env_option,
    with_ports,
    with_target,
)
from flowprobe.commands.inputs import input_options, input_settings
from flowprobe.commands.loadshape import LoadShape, load_shape_options, refuse_no_load
from flowprobe.load.preflight import preflight
from flowprobe.load.summary_table import render


@click.command("check")
@with_ports
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="a baseline saved by `flowprobe baseline save`; without it, no regression check",
)
@scenario_option
@load_shape_options
@input_options
@click.option("--no-load", is_flag=True, help="run the contract suites only")
@click.option("-m", "markers", default=None, help="pytest marker expression for the suites")
@click.option("-k", "keywords", default=None, help="pytest -k expression for the suites")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".flowprobe/check"),
    show_default=True,
)
@with_target
@local_option
@target_env_option(
    "[default: FLOWPROBE_BASE_URL if set, else (not in CI, or with --local) the local target, "
    "started if needed]"
)
@click.pass_context
def check(
    ctx: click.Context,
    /,
    baseline: Path | None,
    scenario: str,
    shape: LoadShape,
    inputs_file: Path | None,
    inputs_order: str | None,
    input_length: str | None,
    seed: int | None,
    no_load: bool,
    markers: str | None,
    keywords: str | None,
    out: Path,
    target_env: Path | None,
    local: bool,
    base_url: str | None,
    flow: str | None,
    api_key_env: str | None,
    **ports: Any,
) -> None:
    """Go or no-go for a deployment: contract suites live, a short load run held to its
    thresholds (--threshold or [tool.flowprobe] thresholds), the gate against --baseline.

    Writes junit.xml, summary.md and report.html in --out (summary.md is also appended to
    $GITHUB_STEP_SUMMARY when set). Exit 0 pass, 1 broken contract, broken threshold or
    regression, 2 setup error.
    """
    from flowprobe.deploycheck.report import verdict_text, write_reports
    from flowprobe.deploycheck.run import CheckPlan, run_check

    if no_load:
        names = ("scenario", "baseline", "inputs_file", "inputs_order", "input_length", "seed")
        also = [f"--{n.replace('_file', '').replace('_', '-')}" for n in names if _given(ctx, n)]
        refuse_no_load(shape, also)
    shape.refuse_ignored()
    settings = shape.settings() | input_settings(
        inputs_file, inputs_order, input_length, seed, shape.input_value
    )
    target = {"base_url": base_url, "flow": flow, "api_key_env": api_key_env}
    if target_env is not None:
        env = load_env(target_env, settings, target)
    else:
        loads = {f"FLOWPROBE_LOAD_{k.upper()}": v for k, v in settings.items() if v}
        env = {**suite_env(local, target, ports), **loads}
    thresholds = () if no_load else shape.judged_by(env)
    if not no_load:
        say(preflight(env))  # an unreachable target or a refused key stops here, in seconds
    plan = CheckPlan(
        out=out,
        markers=markers,
        keywords=keywords,
        load=None if no_load else shape.plan(scenario, out / "load"),
        baseline=baseline,
        thresholds=thresholds,
        summary_json=shape.summary_json,
    )
    result = run_check(plan, env, say, progress)
    paths = write_reports(result)
    if result.load_summary is not None:
        # On stderr with the suites' and the load's progress: stdout keeps the verdict alone.
        click.echo(render(result.load_summary), err=True)
    _append_step_summary(paths["markdown"])
    click.echo(verdict_text(result))
    click.echo("reports: " + ", ".join(str(p) for p in paths.values()))
    if not result.passed:
        ctx.exit(EXIT_FAILED)


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)


def _append_step_summary(markdown: Path) -> None:
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as file:
            file.write(markdown.read_text(encoding="utf-8"))
