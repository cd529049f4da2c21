"""`flowprobe check` against the local target, live: it passes on the healthy target, and fails
naming the metric when the model slows down and naming the path when a field is renamed.

Run by CI after `flowprobe up` (with `.flowprobe/target.env` sourced); skipped otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from faultproxy import FaultProxy

STUB_URL = os.environ.get("FLOWPROBE_STUB_URL", "")
pytestmark = pytest.mark.skipif(
    not (STUB_URL and os.environ.get("FLOWPROBE_BASE_URL")),
    reason="needs the local target: run `flowprobe up` and source .flowprobe/target.env",
)
# Short runs keep CI quick; the check and its baseline must use the same load settings.
LOAD = ["--scenario", "stream", "-u", "2", "-t", "12"]
SUITES = ["-m", "not fuzz", "-k", "test_shape"]
SLOWER_FIRST_TOKEN_MS = 600.0


def _flowprobe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowprobe", *args],
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A baseline saved from a healthy load run with the check's own load settings."""
    folder = tmp_path_factory.mktemp("baseline")
    load = _flowprobe("load", *LOAD, "--out", str(folder / "load"))
    assert load.returncode == 0, load.stderr[-3000:]
    saved = folder / "baseline.json"
    done = _flowprobe(
        "baseline",
        "save",
        "--run",
        str(folder / "load" / "stream_summary.json"),
        "--out",
        str(saved),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return saved


@pytest.fixture
def slower_model() -> Iterator[None]:
    """The stub's first token comes SLOWER_FIRST_TOKEN_MS later; restored afterwards."""
    settings_url = STUB_URL.removesuffix("/v1") + "/stub/settings"
    before = httpx.get(settings_url, timeout=10).json()
    slower = before["first_token_delay_ms"] + SLOWER_FIRST_TOKEN_MS
    httpx.put(settings_url, json={"first_token_delay_ms": slower}, timeout=10).raise_for_status()
    try:
        yield
    finally:
        httpx.put(settings_url, json=before, timeout=10).raise_for_status()


def test_check_passes_on_the_healthy_target(baseline: Path, tmp_path: Path) -> None:
    done = _flowprobe("check", "--baseline", str(baseline), *LOAD, *SUITES, "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.startswith("flowprobe check: PASS")
    for report in ("junit.xml", "summary.md", "report.html"):
        assert (tmp_path / report).stat().st_size > 0


def test_check_fails_naming_the_metric_when_the_first_token_comes_late(
    baseline: Path, tmp_path: Path, slower_model: None
) -> None:
    done = _flowprobe("check", "--baseline", str(baseline), *LOAD, *SUITES, "--out", str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    regressions = [line for line in done.stdout.splitlines() if "load regression:" in line]
    assert any("time_to_first_token" in line for line in regressions), done.stdout
    assert any("threshold" in line for line in regressions), done.stdout
    assert "time_to_first_token" in (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_check_fails_naming_the_path_when_a_field_is_renamed(tmp_path: Path) -> None:
    with FaultProxy(
        upstream=os.environ["FLOWPROBE_BASE_URL"],
        fault="renamed-field",
        api_key=os.environ.get("FLOWPROBE_API_KEY"),
    ) as proxy:
        env = dict(os.environ, FLOWPROBE_BASE_URL=proxy.url)
        done = _flowprobe("check", "--no-load", *SUITES, "--out", str(tmp_path), env=env)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    contract = [line for line in done.stdout.splitlines() if "contract:" in line]
    # The contract names the object that lost its field, and the field.
    assert any("results.message" in line and "'text'" in line for line in contract), done.stdout
