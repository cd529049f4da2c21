"""The findings baseline follows the target's Langflow version: asked of a live target, read
from target.json on replay, written there when recording; the setting still overrides it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from flowprobe import resources
from flowprobe.errors import TargetError
from flowprobe.target import Target
from flowprobe.wire.version import langflow_version
from loopback import serving

pytest_plugins = ["pytester"]
KEY = "lf-version-key-never-shown-5"


class _VersionHandler(BaseHTTPRequestHandler):
    server: VersionServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.asked.append((self.path, self.headers.get("x-api-key")))
        answer = json.dumps(self.server.answer).encode()
        self.send_response(200 if self.path == "/api/v1/version" else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class VersionServer(ThreadingHTTPServer):
    """Answers ``GET /api/v1/version`` with ``answer``; keeps each path asked, with its key."""

    daemon_threads = True

    def __init__(self, answer: Any) -> None:
        super().__init__(("127.0.0.1", 0), _VersionHandler)
        self.answer = answer
        self.asked: list[tuple[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def langflow_1_11() -> Iterator[VersionServer]:
    with serving(VersionServer({"version": "1.11.2", "package": "Langflow"})) as server:
        yield server


@pytest.mark.parametrize(
    ("version", "picked", "said"),
    [
        ("1.13.0", "langflow-1.13-findings.json", "(Langflow 1.13.0)"),
        ("1.12.8", "langflow-1.12-findings.json", "(Langflow 1.12.8)"),
        ("1.14.1", "langflow-1.13-findings.json", "no findings baseline for Langflow 1.14.1"),
        ("2.0.0", "langflow-1.13-findings.json", "the nearest older one"),
        ("1.11.2", None, "none: no findings baseline for Langflow 1.11.2 or older"),
        (None, "langflow-1.13-findings.json", "the default"),
        ("nightly", "langflow-1.13-findings.json", "'nightly' is not major.minor"),
    ],
)
def test_a_version_picks_its_baseline_or_says_what_it_fell_back_to(
    version: str | None, picked: str | None, said: str
) -> None:
    choice = resources.findings_baseline_for(version)
    assert (choice.path.name if choice.path else None) == picked
    assert said in choice.note


def test_every_shipped_baseline_is_found_by_its_version() -> None:
    assert {(1, 12), (1, 13)} <= set(resources.findings_baselines())


def test_the_version_is_asked_with_the_targets_key(langflow_1_11: VersionServer) -> None:
    target = Target(base_url=langflow_1_11.url, flow="f", api_key=KEY)
    assert langflow_version(target) == "1.11.2"
    assert langflow_1_11.asked == [("/api/v1/version", KEY)]


@pytest.mark.parametrize("answer", [{"package": "Langflow"}, ["1.13.0"], {"version": ""}])
def test_an_answer_without_a_version_is_said_so(answer: Any) -> None:
    with serving(VersionServer(answer)) as server:
        target = Target(base_url=server.url, flow="f", api_key=KEY)
        with pytest.raises(TargetError, match="answered no version"):
            langflow_version(target)


SOURCE = """
def test_a_langflow_1_13_finding(flowprobe_finding):
    flowprobe_finding("empty-upload-accepted", "201 for an empty file")
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def _run(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")


def test_a_live_target_on_a_version_with_no_baseline_reports_findings_as_new(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, langflow_1_11: VersionServer
) -> None:
    clean_env.setenv("FLOWPROBE_MODE", "live")
    clean_env.setenv("FLOWPROBE_BASE_URL", langflow_1_11.url)
    clean_env.setenv("FLOWPROBE_FLOW", "f")
    clean_env.setenv("FLOWPROBE_API_KEY", KEY)
    pytester.makepyprojecttoml("[tool.flowprobe]\n")
    pytester.makepyfile(SOURCE)
    result = _run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["findings baseline: none: no findings baseline for Langflow 1.11.2 or older*"]
    )
    assert langflow_1_11.asked == [("/api/v1/version", KEY)]
    assert KEY not in result.stdout.str()


def test_the_setting_overrides_the_version(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, langflow_1_11: VersionServer
) -> None:
    clean_env.setenv("FLOWPROBE_MODE", "live")
    clean_env.setenv("FLOWPROBE_BASE_URL", langflow_1_11.url)
    pytester.makepyprojecttoml('[tool.flowprobe]\nflow = "f"\nfindings_baseline = "mine.json"\n')
    (pytester.path / "mine.json").write_text('{"empty-upload-accepted": "ours"}')
    pytester.makepyfile(SOURCE)
    _run(pytester).assert_outcomes(passed=1)
    assert langflow_1_11.asked == []  # nothing to learn


@pytest.mark.parametrize(("recorded", "outcome"), [("1.11.0", "failed"), ("1.13.4", "passed")])
def test_a_replay_uses_the_version_recorded_in_target_json(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, recorded: str, outcome: str
) -> None:
    pytester.makepyprojecttoml("[tool.flowprobe]\n")
    folder = pytester.mkdir("cassettes")
    target = {"base_url": "http://127.0.0.1:9", "flow": "f", "langflow_version": recorded}
    (folder / "target.json").write_text(json.dumps(target), encoding="utf-8")
    pytester.makepyfile(SOURCE)
    result = _run(pytester)
    result.assert_outcomes(**{outcome: 1})
    result.stdout.fnmatch_lines([f"findings baseline: *Langflow {recorded}*"])


def test_a_recording_keeps_the_version_in_target_json(
    pytester: pytest.Pytester, clean_env: pytest.MonkeyPatch, langflow_1_11: VersionServer
) -> None:
    clean_env.setenv("FLOWPROBE_MODE", "record")
    clean_env.setenv("FLOWPROBE_BASE_URL", langflow_1_11.url)
    clean_env.setenv("FLOWPROBE_FLOW", "f")
    pytester.makepyprojecttoml("[tool.flowprobe]\n")
    pytester.makepyfile("def test_nothing(flowprobe_target):\n    pass\n")
    _run(pytester).assert_outcomes(passed=1)
    stored = json.loads((pytester.path / "cassettes" / "target.json").read_text("utf-8"))
    assert stored == {"base_url": langflow_1_11.url, "flow": "f", "langflow_version": "1.11.2"}
