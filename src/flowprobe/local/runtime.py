"""Running a flow JSON in Langflow's local runtime (``langflow.load.run_flow_from_json``).

Langflow is never imported into flowprobe's process (its pins and import cost stay out): the
call runs in a subprocess with the Python of the local target's Langflow environment, which
reads the request as JSON on stdin and prints the outputs, serialized as Langflow's API
serializes them, after a marker line.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowprobe.errors import FlowprobeError

MARKER = "flowprobe-local-runtime-answer:"
# Runs inside the Langflow environment; timed so the import cost shows apart from the run.
RUNNER = f"""
import json, sys, time
request = json.load(sys.stdin)
started = time.perf_counter()
from fastapi.encoders import jsonable_encoder
from langflow.load import run_flow_from_json
imported = time.perf_counter()
outputs = run_flow_from_json(request.pop("flow"), request.pop("input_value"), **request)
ran = time.perf_counter()
timing = {{"import": imported - started, "run": ran - imported}}
print({MARKER!r} + json.dumps({{"outputs": jsonable_encoder(outputs), **timing}}), flush=True)
"""


@dataclass(frozen=True, slots=True)
class LocalRun:
    """What the local runtime answered, and where its time went (seconds)."""

    body: dict[str, Any]  # {"outputs": [...]}, like the run API's answer without session_id
    import_seconds: float
    run_seconds: float
    total_seconds: float


def run_flow_locally(
    python: Path, flow: dict[str, Any], request: dict[str, Any], env: dict[str, str], timeout: float
) -> LocalRun:
    """Run ``flow`` with ``request`` (run_flow_from_json's keyword arguments) in a subprocess."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [str(python), "-c", RUNNER],
            input=json.dumps({"flow": flow, **request}),
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise FlowprobeError(f"the local runtime did not answer within {timeout:.0f} s") from None
    total = time.perf_counter() - started
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARKER):
            answer = json.loads(line.removeprefix(MARKER))
            body = {"outputs": answer["outputs"]}
            return LocalRun(body, answer["import"], answer["run"], total)
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
    raise FlowprobeError(f"the local runtime failed (exit {done.returncode}):\n{tail}")
