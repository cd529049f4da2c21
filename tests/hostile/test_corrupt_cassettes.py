"""A corrupt cassette fails its test in one sentence that says what to do, not a YAML traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_corrupt_cassette_fails_its_test_in_one_sentence(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    shutil.copytree(ROOT / "cassettes", cassettes)
    broken = sorted((cassettes / "test_auth").glob("*.yaml"))[0]
    broken.write_text("{{{: [ not yaml\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWPROBE_")}
    env.update(FLOWPROBE_MODE="replay", FLOWPROBE_CASSETTE_DIR=str(cassettes))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_auth.py", "-p", "no:cacheprovider", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert f"cassette {broken} cannot be read (line 1, column" in done.stdout
    assert "record it again with `flowprobe record`" in done.stdout
    assert "_yaml.pyx" not in done.stdout
    assert "Traceback" not in done.stdout
