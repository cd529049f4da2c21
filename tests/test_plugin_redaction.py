"""The key never reaches pytest's output: tracebacks show every frame's arguments, and captured
output may echo the key in any encoding."""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import pytest

# pytester forgets the modules a run imports; vcr must outlive the runs (see test_plugin.py).
import vcr  # noqa: F401

pytest_plugins = ["pytester"]

KEY = "lf-key/with+plus=never-shown-42"


@pytest.fixture(autouse=True)
def live_target(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FLOWPROBE_MODE", "live")
    monkeypatch.setenv("FLOWPROBE_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("FLOWPROBE_FLOW", "f")
    monkeypatch.setenv("FLOWPROBE_API_KEY", KEY)


def test_a_failure_shows_neither_the_key_nor_its_encodings(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.flowprobe]\n")
    pytester.makepyfile(
        """
        from urllib.parse import quote

        def call(params, url):
            print("calling", url)
            raise RuntimeError("the target is down")

        def test_the_key_in_the_query(flowprobe_target):
            key = flowprobe_target.api_key
            call({"x-api-key": key}, "http://127.0.0.1:9/run?x-api-key=" + quote(key, safe=""))
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--junitxml=out.xml", "--tb=long")
    result.assert_outcomes(failed=1)
    shown = result.stdout.str() + (pytester.path / "out.xml").read_text(encoding="utf-8")
    assert "the target is down" in shown
    assert "params = " in shown  # the frame's arguments are shown, only redacted
    assert KEY not in shown
    assert quote(KEY, safe="") not in shown


def test_a_key_inside_the_users_tweaks_is_not_shown_either(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider_key = "provider-key-in-a-tweak-91"
    tweaks = json.dumps({"Agent-1": {"api_key": provider_key}})
    monkeypatch.setenv("FLOWPROBE_TWEAKS", tweaks)
    pytester.makepyprojecttoml("[tool.flowprobe]\n")
    pytester.makepyfile(
        f"""
        def test_an_echoing_server():
            echoed = {{"detail": "bad body", "input": {{"api_key": "{provider_key}"}}}}
            assert echoed == {{}}
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    shown = result.stdout.str() + (pytester.path / "out.xml").read_text(encoding="utf-8")
    assert "bad body" in shown
    assert provider_key not in shown
