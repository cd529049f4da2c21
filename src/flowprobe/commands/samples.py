"""``flowprobe samples``: the API pane's client samples for the configured flow."""

from __future__ import annotations

from pathlib import Path

import click

from flowprobe.commands.common import load_env, target_env_option, with_target


@click.command("samples")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".flowprobe/samples"),
    show_default=True,
)
@with_target
@target_env_option()
def samples_command(
    out: Path,
    target_env: Path | None,
    base_url: str | None,
    flow: str | None,
    api_key_env: str | None,
) -> None:
    """Write cURL, Python and JavaScript samples (plain and streaming) for the flow.

    They use the target's URL form and auth style and the flow's component ids as the tweaks
    skeleton; each reads its key from LANGFLOW_API_KEY, never from the file.
    """
    from flowprobe.samples.render import KEY_ENV, write_samples
    from flowprobe.settings import load_settings
    from flowprobe.target import Target
    from flowprobe.wire.client import RunClient
    from flowprobe.wire.flowfacts import learn_flow

    options = {"base_url": base_url, "flow": flow, "api_key_env": api_key_env}
    env = load_env(target_env, {}, options, guard_ci=False)
    target = Target.from_settings(load_settings(env=env))
    with RunClient(target) as client:
        facts = learn_flow(client)
    for path in write_samples(target, facts, out):
        click.echo(f"wrote {path}")
    click.echo(f"run one with the key in the environment: {KEY_ENV}=... bash {out}/run.sh")
