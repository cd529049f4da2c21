"""Load tier: locust users, metrics and distributed mode.

``import locust`` patches the standard library through gevent, which breaks other pytest
plugins loaded before it, so locust only ever runs in subprocesses started by these tests: the
pytest process itself never imports it. The tier is slow and opt-in:
``FLOWPROBE_LOAD_TESTS=1 pytest tests/load``; otherwise nothing here is collected.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flowprobe.load.command import LocustRun
from flowprobe.load.summary import LoadSummary

if os.environ.get("FLOWPROBE_LOAD_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


@pytest.fixture
def fake_langflow() -> Iterator[Any]:
    """The fake Langflow in a thread of this (unpatched) process: 30 ms to token 0, 5 tokens."""
    from langflow_fake import FakeLangflow

    server = FakeLangflow(first_token_delay=0.03, inter_token_delay=0.005, tokens=5)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    yield server
    server.kill()
    thread.join()


@pytest.fixture
def load_env(tmp_path: Path, fake_langflow: Any) -> Callable[..., dict[str, str]]:
    def make(flow: str = "ok", **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWPROBE_")}
        env.update(
            FLOWPROBE_BASE_URL=fake_langflow.base_url,
            FLOWPROBE_FLOW=flow,
            FLOWPROBE_API_KEY="load-test-key",
            FLOWPROBE_LOAD_VALIDATE_EVERY="1",
            FLOWPROBE_LOAD_SUMMARY=str(tmp_path / "summary.json"),
            FLOWPROBE_TEST_EVENTS=str(tmp_path / "events.jsonl"),
            PYTHONPATH=str(ROOT),
        )
        env.update(extra)
        return env

    return make


@pytest.fixture
def run_locust(tmp_path: Path) -> Callable[..., tuple[int, list[dict[str, Any]], dict[str, Any]]]:
    """Run a headless locust for a few seconds; return its exit code, events and summary."""

    def run(env: dict[str, str], user: str, seconds: int = 2) -> Any:
        command = LocustRun(
            locustfiles=[HERE / "recording_locustfile.py"], user_classes=[user], run_time_s=seconds
        ).command()
        done = subprocess.run(
            command,
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=False,
        )
        events_file = tmp_path / "events.jsonl"
        lines = events_file.read_text().splitlines() if events_file.exists() else []
        summary_file = tmp_path / "summary.json"
        summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
        assert summary, done.stderr[-3000:]
        # What the run wrote is a LoadSummary that the gate and the check read back unchanged.
        assert LoadSummary.from_json(summary).to_json() == summary
        return done.returncode, [json.loads(line) for line in lines], summary

    return run
