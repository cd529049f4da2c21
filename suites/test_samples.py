"""The API pane's client samples are part of the contract: cURL, Python and JavaScript, plain
and streaming, as `flowprobe samples` writes them for the flow under test.

Offline (replayed flow facts): the samples carry the target's URL form, auth style and the
flow's component ids, and never the key. Live: each sample runs for real (curl with jq, the
Python script, Node.js) and must print the same answer as the run API gives, read through the
path its language reads; a sample that cannot is a failure naming that path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flowprobe.jsonpath import path_of, value_or_none
from flowprobe.samples.render import KEY_ENV, SAMPLES, Sample, render, write_samples
from flowprobe.target import Target
from flowprobe.wire.answer_paths import OUTPUTS_MESSAGE, RESULTS_TEXT
from flowprobe.wire.client import RunClient, run_body
from flowprobe.wire.flowfacts import FlowFacts

SAMPLE_TIMEOUT = 120.0
Report = Callable[[str, str], None]
# The tools each language's sample needs, and how to tell that one is missing.
_NEEDS = {"curl": ("curl", "jq"), "javascript": ("node",), "python": ()}
_PANE_MESSAGE = path_of(OUTPUTS_MESSAGE, root="").removeprefix(".")


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.file_name for s in SAMPLES])
def test_a_sample_never_holds_the_key(
    sample: Sample, flowprobe_target: Target, flowprobe_flow: FlowFacts
) -> None:
    text = render(sample, flowprobe_target, flowprobe_flow)
    if flowprobe_target.api_key:
        assert flowprobe_target.api_key not in text, f"{sample.file_name} holds the API key"
    assert KEY_ENV in text, f"{sample.file_name} does not read the key from {KEY_ENV}"


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.file_name for s in SAMPLES])
def test_a_sample_calls_the_target_as_it_expects(
    sample: Sample, flowprobe_target: Target, flowprobe_flow: FlowFacts
) -> None:
    text = render(sample, flowprobe_target, flowprobe_flow)
    url = flowprobe_target.run_url(stream=sample.stream)
    assert url in text, f"{sample.file_name} does not call {url}"
    header = "Authorization" if flowprobe_target.auth == "bearer" else "x-api-key"
    assert f'"{header}' in text, f"{sample.file_name} does not send the key as {header}"
    missing = [c.id for c in flowprobe_flow.components if not _quoted_in(c.id, text)]
    assert not missing, f"{sample.file_name}'s tweaks skeleton lacks components {missing}"


def _quoted_in(component_id: str, text: str) -> bool:
    """Whether the id is in the sample as the JSON string it renders (inside shell quotes, a
    ``'`` is written ``'"'"'``)."""
    quoted = json.dumps(component_id)
    return quoted in text or quoted.replace("'", "'\"'\"'") in text


def _tool_missing(sample: Sample) -> str | None:
    for tool in _NEEDS[sample.language]:
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if sample.language == "python":
        try:
            import requests  # noqa: F401  # the library the pane's Python sample uses
        except ImportError:
            return "the requests package is not installed"
    return None


_SAMPLE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def _run_sample(sample: Sample, folder: Path, target: Target, message: str) -> Any:
    command = sample.command(folder / sample.file_name)
    command[0] = sys.executable if command[0] == "python" else command[0]
    # What a sample needs and no more: it runs code rendered from what the target served.
    env = {k: os.environ[k] for k in _SAMPLE_ENV if k in os.environ}
    env[KEY_ENV] = target.api_key or ""
    return subprocess.run(
        [*command, message],
        env=env,
        capture_output=True,
        text=True,
        timeout=SAMPLE_TIMEOUT,
        check=False,
    )


def _answer_text(body: Any) -> str:
    text = value_or_none(body, RESULTS_TEXT)
    return "" if text is None else str(text).strip()


@pytest.mark.flowprobe_live(reason="each sample calls the target from its own process")
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.file_name for s in SAMPLES])
def test_a_sample_prints_the_answer_through_the_path_it_reads(
    sample: Sample,
    tmp_path: Path,
    flowprobe_target: Target,
    flowprobe_flow: FlowFacts,
    flowprobe_client: RunClient,
    flowprobe_nonce: Callable[[str], str],
    flowprobe_finding: Report,
) -> None:
    if (reason := _tool_missing(sample)) is not None:
        pytest.skip(reason)
    write_samples(flowprobe_target, flowprobe_flow, tmp_path)
    message = f"flowprobe sample {flowprobe_nonce(sample.file_name)}"
    # The samples send a new session id on every call, so the call they are compared with
    # does too, whatever the session setting: a memory flow answers each from an empty history.
    fresh = flowprobe_client.defaults.new_session()
    expected = flowprobe_client.run(run_body(input_value=message, session_id=fresh))
    assert expected.status == 200, f"the run API itself answered {expected.status}"
    done = _run_sample(sample, tmp_path, flowprobe_target, message)
    printed = done.stdout.strip()
    if done.returncode != 0 and sample.language == "javascript":
        _report_the_javascript_path(sample, done.stderr, expected.body, flowprobe_finding)
        return
    failed = (
        f"the {sample.file_name} sample did not print the answer at {sample.reads}: "
        f"exit {done.returncode}, printed {printed[:200]!r}, said {done.stderr.strip()[-300:]!r}"
    )
    assert done.returncode == 0, failed
    assert printed == (expected.answer_text() or "").strip(), failed


def _report_the_javascript_path(sample: Sample, said: str, body: Any, report: Report) -> None:
    """Langflow 1.13 answers ``outputs.message.message`` as the text itself: a finding."""
    assert sample.reads in said, (
        f"the {sample.file_name} sample failed without naming {sample.reads}: {said[-300:]!r}"
    )
    message = value_or_none(body, OUTPUTS_MESSAGE)  # where the JavaScript path starts
    answer = _answer_text(body)
    failed = (
        f"the {sample.file_name} sample did not print the answer at {sample.reads}, and "
        f"{_PANE_MESSAGE} does not hold it either "
        f"({said.strip()[-200:]!r})"
    )
    assert isinstance(message, str), failed
    assert message.strip() == answer, failed
    report(
        "pane-javascript-path-gone",
        f"{sample.file_name}: {sample.reads} is missing; outputs.message.message is the text",
    )
