"""``flowprobe upgrade-check``: a Langflow upgrade checked on the local target, in one command."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from flowprobe.commands.common import (
    EXIT_FAILED,
    local_config,
    progress,
    run_time_option,
    say,
    scenario_option,
    users_option,
    with_ports,
)
from flowprobe.load.launch import LaunchPlan


@click.command("upgrade-check")
@click.option("--from", "old", required=True, metavar="VERSION", help="the Langflow in use")
@click.option("--to", "new", required=True, metavar="VERSION", help="the Langflow to upgrade to")
@with_ports
@scenario_option
@users_option
@run_time_option
@click.option("--no-load", is_flag=True, help="suites and drift only: no load comparison")
@click.option("-m", "markers", default=None, help="pytest marker expression for the suites")
@click.option("-k", "keywords", default=None, help="pytest -k expression for the suites")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".flowprobe/upgrade-check"),
    show_default=True,
)
@click.pass_context
def upgrade_check(
    ctx: click.Context,
    /,
    old: str,
    new: str,
    scenario: str,
    users: int,
    run_time: int,
    no_load: bool,
    markers: str | None,
    keywords: str | None,
    out: Path,
    **ports: Any,
) -> None:
    """Check an upgrade of the local Langflow from --from to --to, in one verdict.

    Starts the local target at --from: the suites run and are recorded, and a load run is the
    baseline. Then the same at --to: `flowprobe check` against that baseline (suites, load,
    gate), and --from's recorded calls made again to list what changed that clients read.
    Writes junit.xml, summary.md and report.html in --out. Exit 0 pass, 1 fail, 2 setup error.
    """
    from flowprobe.deploycheck.upgrade import UpgradePlan, run_upgrade_check
    from flowprobe.deploycheck.upgrade_report import verdict_text, write_reports
    from flowprobe.local import langflow, processes

    # A target of its own, under --out: the user's `flowprobe up` (its target.env, its
    # databases) is left as it was.
    config = local_config(state_dir=out / "target", **ports)
    load = LaunchPlan(scenario=scenario, users=users, run_time_s=run_time)
    plan = UpgradePlan(
        old=old,
        new=new,
        out=out,
        markers=markers,
        keywords=keywords,
        load=None if no_load else load,
    )

    def start(version: str) -> dict[str, str]:
        return langflow.up(replace(config, langflow_version=version), say)

    def stop() -> None:
        processes.stop(config, say)

    result = run_upgrade_check(plan, start, stop, say, progress)
    paths = write_reports(result)
    click.echo(verdict_text(result))
    click.echo("reports: " + ", ".join(str(p) for p in paths.values()))
    if not result.passed:
        ctx.exit(EXIT_FAILED)
