"""A wedged target (500 "database is locked" on every run) stops a load run early, saying why."""

from __future__ import annotations

import time

import pytest

from loopback import LockedServer, serving

WEDGED = "the target stopped running flows (database is locked)"


@pytest.mark.parametrize("user", ["Streamer", "Caller"])
def test_a_wedged_target_stops_the_run_with_the_reason(load_env, run_locust, user) -> None:
    with serving(LockedServer(delay=0.3)) as locked:
        started = time.monotonic()
        code, events, summary = run_locust(load_env("f", FLOWPROBE_BASE_URL=locked.url), user, 30)
        took = time.monotonic() - started
    # A 30 s run stops within seconds of the first answer, not after a wall of 500s.
    assert took < 15, (took, summary["errors_by_kind"], summary["reasons"])
    calls = [e for e in events if e["request_type"] == "POST"]
    assert calls
    assert {e["exception"] for e in calls} == {"target_wedged"}
    assert set(summary["errors_by_kind"]) == {"target_wedged"}
    assert summary["reasons"][0].startswith(WEDGED)
    assert summary["passed"] is False
    assert code == 1
    assert locked.calls <= 5
