"""`flowprobe samples`: what the samples say for each URL form, and that each one parses."""

from __future__ import annotations

import py_compile
import shutil
import subprocess
from pathlib import Path

import pytest

from flowprobe.samples.render import KEY_ENV, SAMPLES, Sample, render, write_samples
from flowprobe.target import Target
from flowprobe.wire.flowfacts import Component, FlowFacts

KEY = "sk-flowprobe-sample-secret"
FLOW = FlowFacts(
    flow_id="5f0c5e1e-f10b-4000-8000-000000000001",
    endpoint_name="my-flow",
    name="My flow",
    components=(
        Component(id="ChatInput-a1", type="ChatInput", display_name="Chat Input"),
        Component(id="Prompt-b2", type="Prompt", display_name="Prompt"),
    ),
)
SELF_HOSTED = Target(base_url="http://127.0.0.1:7860", flow="my-flow", api_key=KEY)
HOSTED = Target(
    base_url="https://lf.example.com", flow="my-flow", api_key=KEY, langflow_id="org-42"
)
IDS = [s.file_name for s in SAMPLES]


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_self_hosted_samples_send_x_api_key_from_the_environment(sample: Sample) -> None:
    text = render(sample, SELF_HOSTED, FLOW)
    assert SELF_HOSTED.run_url(stream=sample.stream) in text
    assert "x-api-key" in text
    assert "Bearer" not in text
    assert KEY_ENV in text
    assert KEY not in text


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_hosted_samples_send_a_bearer_token_to_the_lf_url(sample: Sample) -> None:
    text = render(sample, HOSTED, FLOW)
    assert "https://lf.example.com/lf/org-42/api/v1/run/my-flow" in text
    assert "Authorization" in text
    assert "Bearer " in text
    assert KEY not in text


@pytest.mark.parametrize("sample", SAMPLES, ids=IDS)
def test_the_tweaks_skeleton_names_every_component(sample: Sample) -> None:
    text = render(sample, SELF_HOSTED, FLOW)
    assert '"ChatInput-a1"' in text
    assert '"Prompt-b2"' in text
    assert sample.reads in text  # the path it reads is named where it fails


def test_every_sample_parses(tmp_path: Path) -> None:
    paths = {p.name: p for p in write_samples(SELF_HOSTED, FLOW, tmp_path)}
    assert sorted(paths) == sorted(IDS)
    for name, path in paths.items():
        if name.endswith(".py"):
            py_compile.compile(str(path), doraise=True)
        elif name.endswith(".sh"):
            subprocess.run(["bash", "-n", str(path)], check=True)
            assert path.stat().st_mode & 0o111, f"{name} is not executable"
        elif shutil.which("node"):
            subprocess.run(["node", "--check", str(path)], check=True)
