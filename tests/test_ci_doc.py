"""docs/ci.md tells the truth: its YAML parses, and every flowprobe command in it is one that
flowprobe's command line accepts, with options that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from flowprobe.cli import cli

DOC = (Path(__file__).resolve().parent.parent / "docs" / "ci.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", DOC, flags=re.S)
# What CI substitutes for the variables the examples use.
VARIABLES = {"$LANGFLOW_URL": "https://staging.example.com"}


def _commands() -> list[str]:
    """Each `flowprobe ...` command in a code block, its folded YAML lines joined."""
    found: list[str] = []
    for _, text in BLOCKS:
        lines = [line.strip() for line in text.splitlines()]
        for number, line in enumerate(lines):
            start = line.removeprefix("- ").removeprefix("run: ")
            if not start.startswith("flowprobe "):
                continue
            parts = [start]
            for more in lines[number + 1 :]:
                if not more.startswith("-") or more.startswith("- "):
                    break
                parts.append(more)
            found.append(" ".join(parts).split("#", 1)[0])
    return found


COMMANDS = _commands()


def test_the_doc_shows_install_test_check_and_the_step_summary() -> None:
    assert "pip install flowprobe" in DOC
    assert "$GITHUB_STEP_SUMMARY" in DOC
    names = {shlex.split(c)[1] for c in COMMANDS}
    assert {"test", "check", "load", "baseline", "record"} <= names


@pytest.mark.parametrize(
    "text", [t for kind, t in BLOCKS if kind == "yaml"], ids=["github", "gitlab"]
)
def test_every_yaml_example_parses(text: str) -> None:
    assert isinstance(yaml.safe_load(text), dict)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_parses_with_options_that_exist(command: str) -> None:
    for name, value in VARIABLES.items():
        command = command.replace(f'"{name}"', value)
    args = shlex.split(command.replace("...", "x"))[1:]
    chosen: click.Command = cli
    while isinstance(chosen, click.Group):
        chosen = chosen.commands[args.pop(0)]
    chosen.make_context(chosen.name or "", args)  # raises a UsageError for a wrong option
