"""The pre-flight call before a load run: one plain run call, so that an unreachable target, a
refused key or a missing flow stops the run in seconds with the reason, instead of running the
whole duration into a wall of failures whose cause only a CSV file names."""

from __future__ import annotations

from collections.abc import Mapping

from flowprobe.errors import TargetError
from flowprobe.load.config import load_run_setup
from flowprobe.wire.client import Deadlines, RunClient, run_body

# A generous deadline: a cold flow may build its components on the first call.
PREFLIGHT_SECONDS = 120.0


def preflight(env: Mapping[str, str]) -> str:
    """One run call with the run's own target, input and tweaks; a :class:`TargetError` naming
    what is wrong unless it answers 200. Returns a line saying how long it took."""
    setup = load_run_setup(env)
    total = min(float(setup.settings.get("timeout") or PREFLIGHT_SECONDS), PREFLIGHT_SECONDS)
    deadlines = Deadlines(connect=10.0, idle=total, total=total)
    body = run_body(input_value=setup.config.input, tweaks=setup.config.tweaks or None)
    with RunClient(setup.target, deadlines=deadlines) as client:
        answer = client.run(body)
    target = setup.target
    if answer.status in (401, 403):
        raise TargetError(
            f"pre-flight: {target.redact(target.run_url())} refused the key (HTTP "
            f"{answer.status}); check FLOWPROBE_API_KEY (or --api-key-env)"
        )
    if answer.status == 404:
        raise TargetError(
            f"pre-flight: the target has no flow {target.flow!r} (HTTP 404); check FLOWPROBE_FLOW"
        )
    if answer.status != 200:
        raise TargetError(
            f"pre-flight: a plain run call answered HTTP {answer.status} "
            f"({target.redact(answer.text[:200])}); the load run would only count failures"
        )
    return f"pre-flight: one run call answered 200 in {answer.elapsed:.2f} s"
