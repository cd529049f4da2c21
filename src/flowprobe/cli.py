"""The ``flowprobe`` command.

Exit status: 0 when everything passed, 1 when a check failed, 2 for a usage or setup error
(bad settings, unreachable target, failed install), always with one sentence and no traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from flowprobe.errors import FlowprobeError
from flowprobe.load.launch import LaunchPlan, launch
from flowprobe.local import langflow as local

EXIT_FAILED = 1
EXIT_USAGE = 2


def _say(text: str) -> None:
    click.echo(text, err=True)


def _guard(action: Callable[[], int]) -> int:
    try:
        return action()
    except FlowprobeError as exc:
        _say(f"flowprobe: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("flowprobe: interrupted")
        return 130


def _local_config(**options: Any) -> local.LocalConfig:
    return local.LocalConfig(**{k: v for k, v in options.items() if v is not None})


port_options = [
    click.option(
        "--port",
        type=click.IntRange(1, 65535),
        default=None,
        envvar="FLOWPROBE_LOCAL_PORT",
        help="Langflow's port on 127.0.0.1 [default: 7860]",
    ),
    click.option(
        "--stub-port",
        type=click.IntRange(1, 65535),
        default=None,
        envvar="FLOWPROBE_STUB_PORT",
        help="the stub LLM's port [default: 7861]",
    ),
]


def with_ports(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(port_options):
        func = option(func)
    return func


def target_env_option(
    default: str = "[default: environment, else .flowprobe/target.env]",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--target-env FILE``: the settings `flowprobe up` wrote, instead of the environment."""
    return click.option(
        "--target-env",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help=f"a target.env written by `flowprobe up` {default}",
    )


scenario_option = click.option(
    "--scenario", type=click.Choice(["stream", "run"]), default="stream", show_default=True
)
users_option = click.option(
    "-u", "--users", type=click.IntRange(1, 1000), default=2, show_default=True
)
run_time_option = click.option(
    "-t", "--run-time", type=click.IntRange(1, 3600), default=20, show_default=True, help="seconds"
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowprobe")
def cli() -> None:
    """Contract tests and load tests for Langflow's run API."""


@cli.command()
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
def up(**options: Any) -> None:
    """Start the local target: Langflow on loopback, the stub LLM, the reference flows."""

    def action() -> int:
        config = _local_config(**options)
        values = local.up(config, _say)
        env_file = local.target_env_file(config)
        click.echo(
            f"local Langflow ready at {values['FLOWPROBE_BASE_URL']}, "
            f"flows {values['FLOWPROBE_FLOW']}, {values['FLOWPROBE_NO_MODEL_FLOW']} "
            f"and {values['FLOWPROBE_FILE_FLOW']}"
        )
        click.echo(f"settings written to {env_file}; use them with:\n  source {env_file}")
        return 0

    sys.exit(_guard(action))


@cli.command()
@with_ports
def down(**options: Any) -> None:
    """Stop exactly the processes `flowprobe up` started."""

    def action() -> int:
        stopped = local.stop(_local_config(**options), _say)
        click.echo(
            f"stopped {stopped} process(es)" if stopped else "the local target was not running"
        )
        return 0

    sys.exit(_guard(action))


@cli.command("stub-llm")
@click.option("--host", default="127.0.0.1", show_default=True, help="loopback address to serve on")
@click.option("--port", type=click.IntRange(0, 65535), default=7861, show_default=True)
@click.option("--first-token-delay-ms", type=click.FloatRange(0), default=0.0, show_default=True)
@click.option("--inter-token-delay-ms", type=click.FloatRange(0), default=0.0, show_default=True)
@click.option("--tokens", type=click.IntRange(1), default=8, show_default=True)
def stub_llm(
    host: str, port: int, first_token_delay_ms: float, inter_token_delay_ms: float, tokens: int
) -> None:
    """Serve the OpenAI-compatible stub LLM in the foreground."""
    from flowprobe.local.stub_llm import StubSettings, run_stub_cli

    settings = StubSettings(
        first_token_delay=first_token_delay_ms / 1000,
        inter_token_delay=inter_token_delay_ms / 1000,
        tokens=tokens,
    )
    sys.exit(_guard(lambda: run_stub_cli(host=host, port=port, settings=settings)))


def _pytest(args: list[str], env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "pytest", *args]
    _say("$ " + " ".join(command))
    return subprocess.call(command, env=env)


def _target_env(use_local: bool, **options: Any) -> dict[str, str]:
    env = dict(os.environ)
    if use_local:
        env.update(local.up(_local_config(**options), _say))
    return env


@cli.command(context_settings={"ignore_unknown_options": True})
@with_ports
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(pytest_args: tuple[str, ...], **options: Any) -> None:
    """Run the contract suites live: against FLOWPROBE_BASE_URL if set, else the local target.

    Extra arguments go to pytest, e.g. `flowprobe test -k streaming`.
    """

    def action() -> int:
        use_local = not os.environ.get("FLOWPROBE_BASE_URL")
        env = _target_env(use_local, **options)
        env["FLOWPROBE_MODE"] = "live"
        return _pytest(["suites", *pytest_args], env)

    sys.exit(_guard(action))


@cli.command(context_settings={"ignore_unknown_options": True})
@with_ports
@click.option(
    "--cassette-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("cassettes"),
    show_default=True,
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def record(cassette_dir: Path, pytest_args: tuple[str, ...], **options: Any) -> None:
    """Record fresh cassettes of every suite from the live (local) target."""

    def action() -> int:
        env = _target_env(not os.environ.get("FLOWPROBE_BASE_URL"), **options)
        if cassette_dir.exists():
            shutil.rmtree(cassette_dir)
        env.update(FLOWPROBE_MODE="record", FLOWPROBE_CASSETTE_DIR=str(cassette_dir.resolve()))
        code = _pytest(["suites", "-p", "no:randomly", *pytest_args], env)
        if code == 0:
            from flowprobe.cassettes import write_replay_target

            write_replay_target(cassette_dir, env)
            click.echo(f"cassettes written to {cassette_dir}/")
        return code

    sys.exit(_guard(action))


def main() -> None:
    """Console entry point."""
    cli(prog_name="flowprobe")


# -- flowprobe load: a bounded headless locust run in a subprocess (locust is never imported here)


def _load_env(target_env: Path | None, settings: dict[str, str | None]) -> dict[str, str]:
    env = dict(os.environ)
    if target_env is not None:
        env.update(local.read_target_env(local.LocalConfig(state_dir=target_env.parent)))
    elif not env.get("FLOWPROBE_BASE_URL"):
        env.update(local.read_target_env(local.LocalConfig()))
    env.update({f"FLOWPROBE_LOAD_{k.upper()}": v for k, v in settings.items() if v})
    return env


def _progress(line: str) -> None:
    click.echo("\r" + line, nl=False, err=True)


@cli.command("load")
@scenario_option
@click.option("--open-loop", is_flag=True, help="start calls at --rate per second (-u is the pool)")
@click.option(
    "--rate", type=click.FloatRange(min=0, min_open=True), default=None, help="arrivals/s"
)
@users_option
@click.option("-r", "--spawn-rate", type=click.FloatRange(min=0, min_open=True), default=2.0)
@run_time_option
@click.option("--steps", default=None, help="step shape users:seconds,... instead of -u/-t")
@click.option("--input", "input_value", default=None, help="the input_value sent [default: hello]")
@click.option("--tweaks", default=None, help="tweaks as a JSON object")
@click.option("--warmup", type=click.FloatRange(0), default=None, help="seconds left out")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".flowprobe/load"),
    show_default=True,
)
@target_env_option()
def load(
    scenario: str,
    open_loop: bool,
    rate: float | None,
    users: int,
    spawn_rate: float,
    run_time: int,
    steps: str | None,
    input_value: str | None,
    tweaks: str | None,
    warmup: float | None,
    out: Path,
    target_env: Path | None,
) -> None:
    """Run a bounded headless locust load test; writes CSV, HTML and a JSON summary in --out."""

    def action() -> int:
        settings = {
            "arrival_rate": None if rate is None else str(rate),
            "steps": steps,
            "input": input_value,
            "tweaks": tweaks,
            "warmup": None if warmup is None else str(warmup),
        }
        plan = LaunchPlan(
            scenario=scenario,
            open_loop=open_loop,
            users=users,
            spawn_rate=spawn_rate,
            run_time_s=run_time,
            steps=steps,
            out=out,
        )
        code = launch(plan, _load_env(target_env, settings), _say, _progress)
        click.echo("", err=True)
        click.echo(f"results: {plan.stats_csv}, {plan.html}, {plan.summary}")
        return EXIT_FAILED if code else 0

    sys.exit(_guard(action))


# -- flowprobe drift: what changed in the answers clients read, between two recordings --------

_DRIFT_FORMATS = ("text", "markdown", "json")


def _drift_target(new: str, target_env: Path | None) -> Any:
    from flowprobe.settings import load_settings
    from flowprobe.target import Target

    env = _load_env(target_env, {})
    options = {"base_url": new} if new.startswith(("http://", "https://")) else {}
    return Target.from_settings(load_settings(options, env=env))


def _drift_new(old: Any, new: str, target_env: Path | None, limits: dict[str, Any]) -> Any:
    from flowprobe import drift

    if new != "live" and not new.startswith(("http://", "https://")):
        if not Path(new).is_dir():
            raise FlowprobeError(
                f"NEW {new!r} is neither a cassette folder nor a live target "
                "(`live`, or a URL such as http://127.0.0.1:7860)"
            )
        return drift.load_recording(Path(new))
    target = _drift_target(new, target_env)
    drift.require_loopback(target)
    _say(f"replaying {len(old.calls)} run calls of {old.origin} on {target.base_url} one by one")
    return drift.record_live(old, target, **limits)


@cli.command("drift")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(_DRIFT_FORMATS),
    default="text",
    show_default=True,
)
@target_env_option()
@click.option("--max-calls", type=click.IntRange(1, 1000), default=200, show_default=True)
@click.option(
    "--time-limit", type=click.FloatRange(1, 3600), default=600.0, show_default=True, help="s"
)
def drift_command(
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

    def action() -> int:
        recording = drift.load_recording(old)
        limits = {"max_calls": max_calls, "time_limit": time_limit}
        report = drift.compare(recording, _drift_new(recording, new, target_env, limits))
        rendered = {"text": report.to_text, "markdown": report.to_markdown, "json": report.to_json}
        click.echo(rendered[output_format]())
        return EXIT_FAILED if report.breaking else 0

    sys.exit(_guard(action))


# -- flowprobe baseline save / flowprobe gate: a load run against a stored baseline ------------


@cli.group()
def baseline() -> None:
    """Stored baselines of load runs (loadtests/baselines/ by convention)."""


@baseline.command("save")
@click.option(
    "--run",
    "run_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the <scenario>_summary.json `flowprobe load` wrote",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="where to store it, e.g. loadtests/baselines/stream.json",
)
def baseline_save(run_file: Path, out: Path) -> None:
    """Store a valid load run's summary, with its settings (never secrets), as a baseline."""
    from flowprobe.gate.baseline import save_baseline

    def action() -> int:
        document = save_baseline(run_file, out)
        summary = document["summary"]
        click.echo(
            f"baseline saved to {out}: {summary['requests']} calls over "
            f"{summary['duration_s']:.0f} s, {len(summary['metrics_ms'])} metrics"
        )
        return 0

    sys.exit(_guard(action))


@cli.command("gate")
@click.option(
    "--baseline",
    "baseline_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="a baseline saved by `flowprobe baseline save` (or a load summary)",
)
@click.option(
    "--run",
    "run_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the new run's <scenario>_summary.json",
)
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
def gate(
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

    def action() -> int:
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
        return 0 if result.passed else EXIT_FAILED

    sys.exit(_guard(action))


# -- flowprobe check: the suites live, a short load run, the gate; one verdict


@cli.command("check")
@with_ports
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="a baseline saved by `flowprobe baseline save`; without it, no regression check",
)
@scenario_option
@users_option
@run_time_option
@click.option("--no-load", is_flag=True, help="run the contract suites only")
@click.option("-m", "markers", default=None, help="pytest marker expression for the suites")
@click.option("-k", "keywords", default=None, help="pytest -k expression for the suites")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".flowprobe/check"),
    show_default=True,
)
@target_env_option("[default: FLOWPROBE_BASE_URL if set, else the local target, started if needed]")
def check(
    baseline: Path | None,
    scenario: str,
    users: int,
    run_time: int,
    no_load: bool,
    markers: str | None,
    keywords: str | None,
    out: Path,
    target_env: Path | None,
    **options: Any,
) -> None:
    """Go or no-go for a deployment: contract suites live, a short load run, the gate.

    Writes junit.xml, summary.md and report.html in --out (summary.md is also appended to
    $GITHUB_STEP_SUMMARY when set). Exit 0 pass, 1 broken contract or regression, 2 setup error.
    """
    from flowprobe.deploycheck.report import verdict_text, write_reports
    from flowprobe.deploycheck.run import CheckPlan, run_check

    def action() -> int:
        if target_env is not None:
            env = _load_env(target_env, {})
        else:
            env = _target_env(not os.environ.get("FLOWPROBE_BASE_URL"), **options)
        load_plan = LaunchPlan(
            scenario=scenario, users=users, run_time_s=run_time, out=out / "load"
        )
        plan = CheckPlan(
            out=out,
            markers=markers,
            keywords=keywords,
            load=None if no_load else load_plan,
            baseline=baseline,
        )
        result = run_check(plan, env, _say, _progress)
        paths = write_reports(result)
        _append_step_summary(paths["markdown"])
        click.echo(verdict_text(result))
        click.echo("reports: " + ", ".join(str(p) for p in paths.values()))
        return 0 if result.passed else EXIT_FAILED

    sys.exit(_guard(action))


def _append_step_summary(markdown: Path) -> None:
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as file:
            file.write(markdown.read_text(encoding="utf-8"))


# -- flowprobe samples: the API pane's client samples for the configured flow


@cli.command("samples")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".flowprobe/samples"),
    show_default=True,
)
@target_env_option()
def samples_command(out: Path, target_env: Path | None) -> None:
    """Write cURL, Python and JavaScript samples (plain and streaming) for the flow.

    They use the target's URL form and auth style and the flow's component ids as the tweaks
    skeleton; each reads its key from LANGFLOW_API_KEY, never from the file.
    """
    from flowprobe.samples.render import KEY_ENV, write_samples
    from flowprobe.settings import load_settings
    from flowprobe.target import Target
    from flowprobe.wire.client import RunClient
    from flowprobe.wire.flowfacts import learn_flow

    def action() -> int:
        target = Target.from_settings(load_settings(env=_load_env(target_env, {})))
        with RunClient(target) as client:
            facts = learn_flow(client)
        for path in write_samples(target, facts, out):
            click.echo(f"wrote {path}")
        click.echo(f"run one with the key in the environment: {KEY_ENV}=... bash {out}/run.sh")
        return 0

    sys.exit(_guard(action))
