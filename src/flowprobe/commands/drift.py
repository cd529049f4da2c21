"""``flowprobe drift``: what changed in the answers clients read, between two recordings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flowprobe.commands.common import EXIT_FAILED, load_env, say, target_env_option
from flowprobe.errors import FlowprobeError

_FORMATS = ("text", "markdown", "json")


def _live_target(new: str, target_env: Path | None) -> Any:
    from flowprobe.settings import load_settings
    from flowprobe.target import Target

    env = load_env(target_env, {})
    options = {"base_url": new} if new.startswith(("http://", "https://")) else {}
    return Target.from_settings(load_settings(options, env=env))


def _new_recording(old: Any, new: str, target_env: Path | None, limits: dict[str, Any]) -> Any:
    from flowprobe import drift

    if new != "live" and not new.startswith(("http://", "https://")):
        if not Path(new).is_dir():
            raise FlowprobeError(
                f"NEW {new!r} is neither a cassette folder nor a live target "
                "(`live`, or a URL such as http://127.0.0.1:7860)"
            )
        return drift.load_recording(Path(new))
    target = _live_target(new, target_env)
    drift.require_loopback(target)
    say(f"replaying {len(old.calls)} run calls of {old.origin} on {target.base_url} one by one")
    return drift.record_live(old, target, **limits)


@click.command("drift")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(_FORMATS),
    default="text",
    show_default=True,
)
@target_env_option()
@click.option("--max-calls", type=click.IntRange(1, 1000), default=200, show_default=True)
@click.option(
    "--time-limit", type=click.FloatRange(1, 3600), default=600.0, show_default=True, help="s"
)
@click.pass_context
def drift_command(
    ctx: click.Context,
    old: Path,
    new: str,
    output_format: str,
    target_env: Path | None,
    max_calls: int,
    time_limit: float,
) -> None:
    """List what changed in the run API's answers from OLD to NEW, ranked; fail if it breaks
    what clients read.

    OLD is a cassette folder (`flowprobe record`); NEW is another one, or `live` (the target
    in FLOWPROBE_* settings, else .flowprobe/target.env), or a loopback URL with those settings'
    flow and key; OLD's calls are then made again there, one at a time.
    """
    from flowprobe import drift

    recording = drift.load_recording(old)
    limits = {"max_calls": max_calls, "time_limit": time_limit}
    report = drift.compare(recording, _new_recording(recording, new, target_env, limits))
    rendered = {"text": report.to_text, "markdown": report.to_markdown, "json": report.to_json}
    click.echo(rendered[output_format]())
    if report.breaking:
        ctx.exit(EXIT_FAILED)
