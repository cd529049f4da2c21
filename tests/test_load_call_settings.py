"""The load users honour flowprobe's per-call settings: ``FLOWPROBE_TWEAKS`` goes under the
load run's own tweaks, and ``FLOWPROBE_SESSION`` applies unless ``FLOWPROBE_LOAD_SESSION`` is
set (checked on the resolved setup; locust is not imported here)."""

from __future__ import annotations

import json

import pytest

from flowprobe.load.config import load_run_setup

TARGET = {
    "FLOWPROBE_BASE_URL": "http://127.0.0.1:9",
    "FLOWPROBE_FLOW": "f",
    "FLOWPROBE_API_KEY": "k",
}


def test_the_tweaks_setting_goes_under_the_load_tweaks() -> None:
    env = {
        **TARGET,
        "FLOWPROBE_TWEAKS": json.dumps({"Agent-a": {"model": "user-choice"}, "g": 1}),
        "FLOWPROBE_LOAD_TWEAKS": json.dumps({"Agent-a": {"system_prompt": "load"}}),
    }
    setup = load_run_setup(env)
    merged = {"Agent-a": {"model": "user-choice", "system_prompt": "load"}, "g": 1}
    assert setup.call_tweaks() == merged
    # The setting may hold keys: it is merged per call, and every report shows it redacted.
    assert "user-choice" not in json.dumps(setup.config.as_dict())
    assert "user-choice" not in json.dumps(setup.redacted(), default=str)


@pytest.mark.parametrize(
    ("session", "mode"),
    [("fresh", "per-request"), ("none", "none"), ("my-session", "fixed:my-session")],
)
def test_a_session_setting_becomes_the_load_session_mode(session: str, mode: str) -> None:
    assert load_run_setup({**TARGET, "FLOWPROBE_SESSION": session}).config.session == mode


def test_the_load_session_setting_wins() -> None:
    env = {**TARGET, "FLOWPROBE_SESSION": "none", "FLOWPROBE_LOAD_SESSION": "per-user"}
    assert load_run_setup(env).config.session == "per-user"


def test_without_either_setting_each_user_keeps_one_session() -> None:
    assert load_run_setup(TARGET).config.session == "per-user"
