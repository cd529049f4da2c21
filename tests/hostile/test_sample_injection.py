"""A target's component ids and flow name are data in the generated samples, never code.

A hostile target serves component ids and a flow name built to break out of each language's
quoting; every sample must still parse, running it must not run anything the target chose, and
the tweaks it sends must name exactly the components the target served.
"""

from __future__ import annotations

import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_fakes import ANSWER_TEXT, fake_langflow

from flowprobe.samples.render import KEY_ENV, SAMPLES, Sample, render, write_samples
from flowprobe.target import Target
from flowprobe.wire.flowfacts import Component, FlowFacts

MARKER = "PWNED"
HOSTILE_IDS = (
    f"x'$(touch {MARKER}-1)'",
    f'x"$(touch {MARKER}-2)"',
    f"`touch {MARKER}-3`",
    f"x';touch {MARKER}-4;'",
    f'";require("fs").writeFileSync("{MARKER}-5","");"',
    f'"""+__import__("os").system("touch {MARKER}-6")+"""',
    f"line\ntouch {MARKER}-7\n",
    f"sep\u2028require('fs').writeFileSync('{MARKER}-8','')//",
    "</script><script>alert(1)</script>",
    "back\\slash\\",
    "${IFS}$HOME",
    "__TWEAKS__",  # spells a placeholder: must not be expanded a second time
    "ünïcødé-😀",
    "Prompt-b2",
)
HOSTILE_NAME = f'flow\n*/ """ \'; touch {MARKER}-9 # __TWEAKS__ \u2029'
FLOW = FlowFacts(
    flow_id="5f0c5e1e-f10b-4000-8000-000000000001",
    endpoint_name="my-flow",
    name=HOSTILE_NAME,
    components=tuple(Component(id=i, type="X", display_name=i) for i in HOSTILE_IDS),
)
KEY = "sk-flowprobe-hostile-sample-key"
IDS = [s.file_name for s in SAMPLES]
_TOOLS = {"curl": ("curl", "jq"), "python": (), "javascript": ("node",)}


def _target(base_url: str = "http://127.0.0.1:7860", auth: str | None = None) -> Target:
    hosted = {"langflow_id": "org-42"} if auth == "bearer" else {}
    return Target(base_url=base_url, flow="my-flow", api_key=KEY, **hosted)


def _missing_tool(sample: Sample) -> str | None:
    for tool in _TOOLS[sample.language]:
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.mark.parametrize("auth", [None, "bearer"])
@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_a_sample_with_hostile_ids_still_parses(
    sample: Sample, auth: str | None, tmp_path: Path
) -> None:
    path = tmp_path / sample.file_name
    path.write_text(render(sample, _target(auth=auth), FLOW), encoding="utf-8")
    if sample.language == "python":
        py_compile.compile(str(path), doraise=True)
    elif sample.language == "curl":
        subprocess.run(["bash", "-n", str(path)], check=True)
    elif shutil.which("node") is None:
        pytest.skip("node is not installed: the JavaScript sample cannot be checked")
    else:
        subprocess.run(["node", "--check", str(path)], check=True)


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_running_a_sample_runs_nothing_the_target_chose(sample: Sample, tmp_path: Path) -> None:
    if (reason := _missing_tool(sample)) is not None:
        pytest.skip(reason)
    with fake_langflow() as server:
        write_samples(_target(server.url), FLOW, tmp_path)
        command = sample.command(tmp_path / sample.file_name)
        command[0] = sys.executable if command[0] == "python" else command[0]
        env = {k: v for k, v in os.environ.items() if k != KEY_ENV} | {KEY_ENV: KEY}
        done = subprocess.run(
            [*command, "hello"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
    assert not list(tmp_path.glob(f"{MARKER}*")), f"{sample.file_name} ran the target's code"
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ANSWER_TEXT
    (sent,) = server.received
    assert list(sent["tweaks"]) == list(HOSTILE_IDS), "the tweaks name other components"


def test_the_injection_the_issue_reported_is_now_a_quoted_word(tmp_path: Path) -> None:
    facts = FlowFacts(
        flow_id="f",
        endpoint_name=None,
        name="n",
        components=(Component(id="x'$(touch PWNED)'", type="X", display_name="x"),),
    )
    (sample,) = [s for s in SAMPLES if s.file_name == "run.sh"]
    script = render(sample, _target(), facts)
    line = next(line for line in script.splitlines() if line.startswith("TWEAKS="))
    # Let bash itself evaluate the assignment: the value is the JSON, and nothing ran.
    shown = subprocess.run(
        ["bash", "-c", f'{line}\nprintf %s "$TWEAKS"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == "{\"x'$(touch PWNED)'\": {}}"
    assert not (tmp_path / "PWNED").exists()
