"""``flowprobe baseline save`` and ``flowprobe gate``: a load run against a stored baseline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from flowprobe.commands.common import EXIT_FAILED, F


@click.group()
def baseline() -> None:
    """Stored baselines of load runs (loadtests/baselines/ by convention)."""


def _file_option(*names: str, help: str) -> Callable[[F], F]:
    """A required option naming one file (a summary, a baseline, where to store one)."""
    kind = click.Path(dir_okay=False, path_type=Path)
    return click.option(*names, required=True, type=kind, help=help)


@baseline.command("save")
@_file_option("--run", "run_file", help="the <scenario>_summary.json `flowprobe load` wrote")
@_file_option("--out", help="where to store it, e.g. loadtests/baselines/stream.json")
def baseline_save(run_file: Path, out: Path) -> None:
    """Store a valid load run's summary, with its settings (never secrets), as a baseline."""
    from flowprobe.gate.baseline import save_baseline

    summary = save_baseline(run_file, out)
    click.echo(
        f"baseline saved to {out}: {summary.requests} calls over "
        f"{summary.duration_s:.0f} s, {len(summary.metrics_ms)} metrics"
    )


@click.command("gate")
@_file_option(
    "--baseline",
    "baseline_file",
    help="a baseline saved by `flowprobe baseline save` (or a load summary)",
)
@_file_option("--run", "run_file", help="the new run's <scenario>_summary.json")
@click.option(
    "--thresholds",
    "thresholds_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='JSON {"time_to_first_token.p95": {"relative": 0.2, "absolute": 50}, ...}',
)
@click.option(
    "--threshold",
    "threshold_options",
    multiple=True,
    metavar="NAME=REL%,ABS",
    help="override one threshold, e.g. time_to_first_token.p95=10%,20 (repeatable)",
)
@click.option(
    "--confidence",
    type=click.FloatRange(0.5, 0.999),
    default=0.95,
    show_default=True,
    help="how sure a regression must be before the gate fails",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--markdown", "markdown_out", type=click.Path(dir_okay=False, path_type=Path), default=None
)
@click.pass_context
def gate(
    ctx: click.Context,
    baseline_file: Path,
    run_file: Path,
    thresholds_file: Path | None,
    threshold_options: tuple[str, ...],
    confidence: float,
    json_out: Path | None,
    markdown_out: Path | None,
) -> None:
    """Compare a load run with a baseline: exit 1 on a regression beyond threshold and noise."""
    from flowprobe.gate import thresholds
    from flowprobe.gate.baseline import read_summary
    from flowprobe.gate.compare import compare

    chosen = thresholds.Thresholds()
    if thresholds_file is not None:
        chosen = thresholds.read_thresholds(thresholds_file)
    chosen = chosen.merged(thresholds.from_options(threshold_options))
    before = read_summary(baseline_file, "--baseline")
    result = compare(before, read_summary(run_file, "--run"), chosen, confidence=confidence)
    click.echo(result.to_text())
    for path, text in ((json_out, result.to_json()), (markdown_out, result.to_markdown())):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if not result.passed:
        ctx.exit(EXIT_FAILED)
