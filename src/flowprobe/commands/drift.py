"""``flowprobe drift``: what changed in the answers clients read, between two recordings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flowprobe.commands.common import EXIT_FAILED, load_env, say, target_env_option, with_target
from flowprobe.errors import FlowprobeError

_FORMATS = ("text", "markdown", "json")


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _live_target(new: str, target_env: Path | None, options: dict[str, Any]) -> Any:
    from flowprobe.drift import replay_target
    from flowprobe.settings import load_settings

    if _is_url(new):
        if options.get("base_url") not in (None, new):
            raise click.UsageError("NEW is a URL and --base-url another one: pass one of them")
        options = {**options, "base_url": new}
    env = load_env(target_env, {}, options, guard_ci=False)
    return replay_target(load_settings(env=env))


def _new_recording(
    old: Any, new: str, target_env: Path | None, options: dict[str, Any], limits: dict[str, Any]
) -> Any:
    from flowprobe import drift

    if new != "live" and not _is_url(new):
        if not Path(new).is_dir():
            raise FlowprobeError(
                f"NEW {new!r} is neither a cassette folder nor a live target "
                "(`live`, or a URL such as https://langflow.example.com)"
            )
        return drift.load_recording(Path(new))
    target = _live_target(new, target_env, options)
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
@with_target
@target_env_option()
@click.option(
    "--max-calls",
    type=click.IntRange(1, 1000),
    default=200,
    show_default=True,
    help="at most this many calls against a live NEW; a recording with more is refused",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(1, 3600),
    default=600.0,
    show_default=True,
    help="seconds the calls against a live NEW may take in all",
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
    base_url: str | None,
    flow: str | None,
    api_key_env: str | None,
) -> None:
    """List what changed in the run API's answers from OLD to NEW, ranked; fail if it breaks
    what clients read.

    OLD is a cassette folder (`flowprobe record`); NEW is another one, or `live` (the target of
    --base-url/--flow/--api-key-env, else FLOWPROBE_*, else .flowprobe/target.env), or an
    http(s) URL with those settings' flow and key. OLD's calls are then made again there, one
    at a time, within --max-calls and --time-limit.
    """
    from flowprobe import drift

    recording = drift.load_recording(old)
    limits = {"max_calls": max_calls, "time_limit": time_limit}
    options = {"base_url": base_url, "flow": flow, "api_key_env": api_key_env}
    report = drift.compare(recording, _new_recording(recording, new, target_env, options, limits))
    rendered = {"text": report.to_text, "markdown": report.to_markdown, "json": report.to_json}
    click.echo(rendered[output_format]())
    if report.breaking:
        ctx.exit(EXIT_FAILED)
