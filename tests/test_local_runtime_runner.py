"""The local-runtime runner, against a stand-in ``langflow.load`` in a subprocess (offline).

The live comparison with the real Langflow is ``suites/test_local_runtime.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from flowprobe.errors import FlowprobeError
from flowprobe.local.runtime import run_flow_locally

STAND_IN = {
    "langflow/__init__.py": "",
    "langflow/load.py": (
        "def run_flow_from_json(flow, input_value, **kwargs):\n"
        "    print('a log line on stdout')\n"
        "    return [{'flow': flow['id'], 'input': input_value, 'session': kwargs['session_id']}]\n"
    ),
    "fastapi/__init__.py": "",
    "fastapi/encoders.py": "def jsonable_encoder(value):\n    return value\n",
}


def stand_in(tmp_path: Path) -> dict[str, str]:
    for name, text in STAND_IN.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return {**os.environ, "PYTHONPATH": str(tmp_path)}


def test_the_answer_and_its_timings_come_back(tmp_path: Path) -> None:
    request = {"input_value": "hi", "session_id": "s1"}
    run = run_flow_locally(Path(sys.executable), {"id": "f"}, request, stand_in(tmp_path), 30)
    assert run.body == {"outputs": [{"flow": "f", "input": "hi", "session": "s1"}]}
    assert 0 <= run.import_seconds < run.total_seconds
    assert 0 <= run.run_seconds < run.total_seconds


def test_a_failed_run_shows_its_last_lines(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}  # no langflow to import
    with pytest.raises(FlowprobeError, match=r"(?s)local runtime failed.*No module named"):
        run_flow_locally(Path(sys.executable), {}, {"input_value": "hi"}, env, 30)
