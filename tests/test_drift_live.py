"""`flowprobe drift cassettes live` against the local Langflow: it passes there, and it fails
naming the path when a proxy in front of it renames a field every client reads.

Run by CI after `flowprobe up` (with `.flowprobe/target.env` sourced); skipped without the local
target (FLOWPROBE_STUB_URL comes from `flowprobe up`). The committed cassettes were recorded from
that same local target, so they are the OLD side; each run makes their few dozen calls again,
one at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faultproxy import FaultProxy

ROOT = Path(__file__).resolve().parent.parent
FLOWPROBE = Path(sys.executable).parent / "flowprobe"
DRIFT_TIMEOUT = 300.0
MOST_CLIENTS = "outputs[].outputs[].results.message.text"
pytestmark = pytest.mark.skipif(
    not (os.environ.get("FLOWPROBE_STUB_URL") and os.environ.get("FLOWPROBE_BASE_URL")),
    reason="needs the local target: run `flowprobe up` and source .flowprobe/target.env",
)


def drift(new: str) -> subprocess.CompletedProcess[str]:
    command = [str(FLOWPROBE), "drift", "cassettes", new]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=DRIFT_TIMEOUT, check=False
    )


def assert_no_key(done: subprocess.CompletedProcess[str]) -> None:
    key = os.environ.get("FLOWPROBE_API_KEY")
    assert not key or key not in done.stdout + done.stderr


def test_drift_passes_against_the_local_langflow() -> None:
    done = drift("live")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("PASS")
    assert "(0 only in OLD, 0 only in NEW)" in done.stdout
    assert_no_key(done)


def test_drift_fails_naming_a_renamed_field_clients_read() -> None:
    with FaultProxy(
        upstream=os.environ["FLOWPROBE_BASE_URL"],
        fault="renamed-field",
        api_key=os.environ.get("FLOWPROBE_API_KEY"),
    ) as proxy:
        done = drift(proxy.url)
    assert done.returncode == 1, done.stdout + done.stderr
    verdict = done.stdout.rstrip().splitlines()[-1]
    assert verdict.startswith("FAIL: 2 breaking:"), done.stdout
    assert f"{MOST_CLIENTS} (removed)" in verdict
    assert f"data.result.{MOST_CLIENTS} (removed)" in verdict
    assert_no_key(done)
