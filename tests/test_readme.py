"""The README tells the truth: its settings table lists every setting, its two commands lead."""

from __future__ import annotations

from pathlib import Path

from flowprobe.settings import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    for setting in SETTINGS:
        assert f"`{setting.option}` | `{setting.env}`" in README, setting.name


def test_the_two_commands_come_first() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(first_block) == 2
    assert "flowprobe test" in first_block[0]
    assert first_block[1].split("#")[0].strip().endswith("pytest")
