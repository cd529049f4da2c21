"""Client samples for one flow, in the shape of Langflow's API pane: cURL, Python, JavaScript.

Each sample calls the target's run endpoint in its URL form and auth style, with the flow's
real component ids as the tweaks skeleton, reads the key from ``LANGFLOW_API_KEY`` (it is never
written into a file), and prints the answer through the access path its language's sample
reads, exiting non-zero with that path named when the answer lacks it. Streaming variants read
Langflow's stream (JSON records separated by blank lines) and print the ``end`` event's answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from flowprobe.jsonpath import path_of
from flowprobe.target import Target
from flowprobe.wire.answer_paths import END_RESULT, PANE_JAVASCRIPT_TEXT, RESULTS_TEXT, Steps
from flowprobe.wire.flowfacts import FlowFacts

KEY_ENV = "LANGFLOW_API_KEY"


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample file: its name, language, how to run it, and the path it reads."""

    file_name: str
    language: str
    stream: bool
    reads: str

    def command(self, path: Path) -> list[str]:
        """The command line that runs the sample at ``path`` (the interpreter comes first)."""
        runner = {"curl": ["bash"], "python": ["python"], "javascript": ["node"]}[self.language]
        return [*runner, str(path)]


def _reads(steps: Steps, *, stream: bool) -> str:
    """``outputs[0]...`` as a sample names the path it reads; a stream's ``end`` event data
    holds the answer under ``result``."""
    if stream:
        steps = (*END_RESULT[1:], *steps)
    return path_of(steps, root="").removeprefix(".")


_PYTHON_PATH = RESULTS_TEXT
_JS_PATH = PANE_JAVASCRIPT_TEXT
SAMPLES = (
    Sample("run.sh", "curl", False, _reads(_PYTHON_PATH, stream=False)),
    Sample("run_stream.sh", "curl", True, _reads(_PYTHON_PATH, stream=True)),
    Sample("run.py", "python", False, _reads(_PYTHON_PATH, stream=False)),
    Sample("run_stream.py", "python", True, _reads(_PYTHON_PATH, stream=True)),
    Sample("run.mjs", "javascript", False, _reads(_JS_PATH, stream=False)),
    Sample("run_stream.mjs", "javascript", True, _reads(_JS_PATH, stream=True)),
)


def tweaks_skeleton(facts: FlowFacts) -> dict[str, dict[str, object]]:
    """``{component_id: {}}`` for every component of the flow, in the flow's order."""
    return {component.id: {} for component in facts.components}


def render(sample: Sample, target: Target, facts: FlowFacts) -> str:
    """The text of ``sample`` for ``target``'s flow."""
    template = resources.files("flowprobe").joinpath(f"samples/templates/{sample.file_name}.tmpl")
    skeleton = tweaks_skeleton(facts)
    header = "Authorization" if target.auth == "bearer" else "x-api-key"
    values = {
        "__RUN_URL__": target.run_url().removesuffix("?stream=false"),
        "__FLOW_NAME__": json.dumps(facts.name),
        "__FILE_NAME__": sample.file_name,
        "__TWEAKS_COMPACT__": json.dumps(skeleton),
        "__TWEAKS__": json.dumps(skeleton, indent=2),
        "__AUTH_HEADER__": header,
        "__AUTH_PREFIX__": "Bearer " if header == "Authorization" else "",
    }
    text = template.read_text(encoding="utf-8")
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return target.redact(text)  # the key is never in a template; this keeps it so


def write_samples(target: Target, facts: FlowFacts, out: Path) -> list[Path]:
    """Write every sample into ``out``; the shell scripts are made executable."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for sample in SAMPLES:
        path = out / sample.file_name
        path.write_text(render(sample, target, facts), encoding="utf-8")
        if sample.language == "curl":
            path.chmod(0o755)
        written.append(path)
    return written
