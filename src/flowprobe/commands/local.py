"""``flowprobe up``, ``down`` and ``stub-llm``: the local target and its stub LLM."""

from __future__ import annotations

from typing import Any

import click

from flowprobe.commands.common import local_config, say, with_ports
from flowprobe.local import langflow, launch, processes
from flowprobe.local.config import DATABASES, LANGFLOW_VERSION, MAX_WORKERS, LocalConfig
from flowprobe.local.target_env import (
    HOSTED_BASE_URL,
    HOSTED_LANGFLOW_ID,
    target_env_file,
    write_target_env,
)

# How to run the suites on the hosted form that `up --hosted` serves.
HOSTED_COMMAND = (
    f'FLOWPROBE_BASE_URL="${HOSTED_BASE_URL}" FLOWPROBE_LANGFLOW_ID="${HOSTED_LANGFLOW_ID}" '
    "pytest suites"
)

# One default port for the stub, wherever it is started: the one `flowprobe up` gives it.
STUB_PORT = LocalConfig().stub_port


@click.command()
@with_ports
@click.option(
    "--first-token-delay-ms",
    type=click.FloatRange(0),
    default=None,
    help="the stub LLM's delay before its first token [default: 50]",
)
@click.option(
    "--inter-token-delay-ms",
    type=click.FloatRange(0),
    default=None,
    help="the stub LLM's delay between tokens [default: 20]",
)
@click.option(
    "--tokens", type=click.IntRange(1), default=None, help="tokens in each stub answer [default: 8]"
)
@click.option(
    "--starter",
    "starters",
    multiple=True,
    metavar="NAME",
    help="also import this Langflow starter project (repeatable), e.g. 'Memory Chatbot': "
    "unmodified except that its model is the stub LLM; endpoint name starter-<name>",
)
@click.option(
    "--langflow-version",
    default=None,
    metavar="X.Y.Z",
    envvar="FLOWPROBE_LANGFLOW_VERSION",
    help=f"the Langflow release to run: 1.12.x or 1.13.x, each installed once into its own "
    f"environment [default: {LANGFLOW_VERSION}]",
)
@click.option(
    "--database",
    type=click.Choice(DATABASES),
    default=None,
    envvar="FLOWPROBE_LOCAL_DATABASE",
    help="Langflow's database: SQLite, or a PostgreSQL server flowprobe starts on 127.0.0.1 "
    "[default: sqlite]",
)
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    default=None,
    envvar="FLOWPROBE_LOCAL_WORKERS",
    help="Langflow's worker processes; with SQLite, several workers contend for its write lock "
    "[default: 1]",
)
@click.option(
    "--tracing/--no-tracing",
    default=None,
    help="Langflow's native tracing, which stores every component's inputs and outputs in its "
    "database [default: off]",
)
@click.option(
    "--hosted",
    is_flag=True,
    help=f"also serve hosted Langflow's URL form (/lf/{{LANGFLOW_ID}}/..., bearer token) on "
    f"127.0.0.1:{launch.GATEWAY_PORT}, in front of the local Langflow",
)
def up(starters: tuple[str, ...], hosted: bool, **options: Any) -> None:
    """Start the local target: Langflow on loopback, the stub LLM, the reference flows."""
    config = local_config(starters=starters, **options)
    if config.workers > 1 and config.database == "sqlite":
        say(
            f"warning: {config.workers} workers share one SQLite database and wait for its "
            "write lock under load; use --database postgres for a production-like candidate"
        )
    values = langflow.up(config, say)
    if hosted:
        values.update(launch.start_gateway(config, say))
        write_target_env(config, values)
    env_file = target_env_file(config)
    click.echo(
        f"local Langflow {config.langflow_version} ({config.database}, {config.workers} "
        f"worker{'s' if config.workers > 1 else ''}) ready at {values['FLOWPROBE_BASE_URL']}, "
        f"flows {values['FLOWPROBE_FLOW']}, {values['FLOWPROBE_NO_MODEL_FLOW']} "
        f"and {values['FLOWPROBE_FILE_FLOW']}"
    )
    if values.get("FLOWPROBE_STARTER_FLOWS"):
        click.echo(f"starter projects: {values['FLOWPROBE_STARTER_FLOWS']}")
    click.echo(f"settings written to {env_file}; use them with:\n  source {env_file}")
    if hosted:
        click.echo(
            f"hosted form at {values[HOSTED_BASE_URL]}/lf/{values[HOSTED_LANGFLOW_ID]}/; "
            f"test it with:\n  set -a; . {env_file}; set +a; {HOSTED_COMMAND}"
        )


@click.command()
@with_ports
def down(**options: Any) -> None:
    """Stop exactly the processes `flowprobe up` started."""
    stopped = processes.stop(local_config(**options), say)
    click.echo(f"stopped {stopped} process(es)" if stopped else "the local target was not running")


@click.command("stub-llm")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="loopback address to serve on: 127.0.0.1, ::1 or localhost",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=STUB_PORT,
    show_default=True,
    help="0 picks a free port (printed)",
)
@click.option("--first-token-delay-ms", type=click.FloatRange(0), default=0.0, show_default=True)
@click.option("--inter-token-delay-ms", type=click.FloatRange(0), default=0.0, show_default=True)
@click.option("--tokens", type=click.IntRange(1), default=8, show_default=True)
def stub_llm(
    host: str, port: int, first_token_delay_ms: float, inter_token_delay_ms: float, tokens: int
) -> None:
    """Serve the OpenAI-compatible stub LLM in the foreground, until Ctrl-C or SIGTERM."""
    from flowprobe.local.stub import StubLLM, StubSettings

    settings = StubSettings(
        first_token_delay=first_token_delay_ms / 1000,
        inter_token_delay=inter_token_delay_ms / 1000,
        tokens=tokens,
    )
    stub = StubLLM(host=host, port=port, settings=settings)
    listening = (
        f"flowprobe stub-llm listening on {stub.base_url} "
        f"(first token delay {_milliseconds(first_token_delay_ms)}ms, "
        f"inter-token delay {_milliseconds(inter_token_delay_ms)}ms, {tokens} tokens)"
    )
    # Said only once SIGTERM is handled: a launcher may terminate() the stub as soon as it reads it.
    stub.serve_forever(ready=lambda: click.echo(listening))


def _milliseconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")
