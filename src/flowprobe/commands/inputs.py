"""``--inputs``, ``--inputs-order``, ``--input-length`` and ``--seed``: what each load call sends,
shared by ``flowprobe load`` and ``flowprobe sweep``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from flowprobe.load.inputs import ORDERS, input_source
from flowprobe.load.metrics import END_TO_END, TIME_TO_FIRST_TOKEN
from flowprobe.load.summary import LoadSummary, Metric

F = TypeVar("F", bound=Callable[..., Any])

_options = [
    click.option(
        "--inputs",
        "inputs_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="a JSONL dataset: one {input_value, tweaks?, session_id?} object per line",
    ),
    click.option(
        "--inputs-order",
        type=click.Choice(ORDERS),
        default=None,
        help="take the dataset's records at random (seeded by --seed) or in order [default: "
        "sample]",
    ),
    click.option(
        "--input-length",
        default=None,
        metavar="MIN-MAX",
        help="synthetic inputs instead of a dataset: words cut to MIN..MAX characters "
        "(uniform), e.g. 20-400",
    ),
    click.option(
        "--seed",
        type=click.IntRange(min=0),
        default=None,
        help="seed for sampled and synthetic inputs and Poisson arrivals [default: 0]",
    ),
]


def input_options(func: F) -> F:
    """The input source options of a load command."""
    for option in reversed(_options):
        func = option(func)
    return func


def input_settings(
    inputs_file: Path | None,
    inputs_order: str | None,
    input_length: str | None,
    seed: int | None,
    input_value: str | None = None,
) -> dict[str, str | None]:
    """The options as load settings, each checked now: a dataset is read whole and a bad line
    stops the command before anything runs."""
    if inputs_file is not None and input_length is not None:
        raise click.UsageError("--inputs and --input-length are two input sources: pass one")
    if input_value is not None and (inputs_file is not None or input_length is not None):
        raise click.UsageError(
            "--input is the one input of every call: drop it, or drop --inputs/--input-length"
        )
    if inputs_order is not None and inputs_file is None:
        raise click.UsageError("--inputs-order applies only to a dataset: add --inputs FILE")
    path = None if inputs_file is None else str(inputs_file.resolve())
    # Reads and checks the dataset (or the range) exactly as each load process will.
    input_source(path or "", input_length or "", inputs_order or "sample", seed or 0)
    return {
        "inputs": path,
        "inputs_order": inputs_order,
        "input_length": input_length,
        "seed": None if seed is None else str(seed),
    }


def by_input_length_table(summary: LoadSummary) -> list[str]:
    """Lines of a table: calls, TTFT and end-to-end p50/p95 per input length bucket."""
    buckets = summary.by_input_length()
    if not buckets:
        return []
    lines = [
        f"{'input chars':>11} {'calls':>6} {'ttft p50':>9} {'ttft p95':>9} "
        f"{'e2e p50':>8} {'e2e p95':>8}  (ms)"
    ]
    for label, entries in buckets.items():
        ttft, e2e = entries.get(TIME_TO_FIRST_TOKEN), entries.get(END_TO_END)
        calls = e2e.count if e2e is not None else 0
        lines.append(
            f"{label:>11} {calls:>6} {_ms(ttft, 'p50'):>9} {_ms(ttft, 'p95'):>9} "
            f"{_ms(e2e, 'p50'):>8} {_ms(e2e, 'p95'):>8}"
        )
    return lines


def _ms(entry: Metric | None, name: str) -> str:
    return "-" if entry is None else f"{entry.percentile(name):g}"


def show_by_input_length(summary_path: Path) -> None:
    """Print the by-input-length table of the summary a run wrote (nothing if it wrote none)."""
    try:
        document = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for line in by_input_length_table(LoadSummary.from_json(document, source=str(summary_path))):
        click.echo(line)
