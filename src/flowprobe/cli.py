"""The ``flowprobe`` command.

Exit status: 0 when everything passed, 1 when a check failed, 2 for a usage or setup error
(bad settings, unreachable target, failed install), always with one sentence and no traceback.
The commands themselves live in ``flowprobe.commands``, one module per area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from flowprobe.commands import check, drift, gate, load, local, samples, suites, sweep, upgrade
from flowprobe.commands.common import EXIT_INTERRUPTED, EXIT_USAGE, say
from flowprobe.errors import FlowprobeError


class FlowprobeGroup(click.Group):
    """A click group that ends a command's ``FlowprobeError`` as one line on stderr and exit 2.

    A user error (bad settings, a target that does not answer) is not a bug in flowprobe, so it
    gets no traceback; a command that finds a failed check exits 1 itself through ``ctx.exit``.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the chosen command, turning a user error or Ctrl-C into its exit status."""
        try:
            return super().invoke(ctx)
        except FlowprobeError as exc:
            say(f"flowprobe: error: {exc}")
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            say("flowprobe: interrupted")
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=FlowprobeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowprobe")
def cli() -> None:
    """Contract tests and load tests for Langflow's run API."""


for _command in (
    local.up,
    local.down,
    local.stub_llm,
    suites.test,
    suites.record,
    load.load,
    sweep.sweep,
    drift.drift_command,
    gate.baseline,
    gate.gate,
    check.check,
    samples.samples_command,
    upgrade.upgrade_check,
):
    cli.add_command(_command)


def main(args: Sequence[str] | None = None) -> None:
    """Console entry point; ``args`` defaults to the command line."""
    cli.main(args=args, prog_name="flowprobe")
