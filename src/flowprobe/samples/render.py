"""Client samples for one flow, in the shape of Langflow's API pane: cURL, Python, JavaScript.

Each sample calls the target's run endpoint in its URL form and auth style, with the flow's
real component ids as the tweaks skeleton, reads the key from ``LANGFLOW_API_KEY`` (it is never
written into a file), and prints the answer through the access path its language's sample
reads, exiting non-zero with that path named when the answer lacks it. Streaming variants read
Langflow's stream (JSON records separated by blank lines) and print the ``end`` event's answer.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
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
    """The text of ``sample`` for ``target``'s flow.

    Everything the target or its settings supplied (the flow's name, its component ids, the
    URL) enters the sample only as a literal of the sample's language: a hostile component id
    stays data and never becomes code.
    """
    template = resources.files("flowprobe").joinpath(f"samples/templates/{sample.file_name}.tmpl")
    header = "Authorization" if target.auth == "bearer" else "x-api-key"
    url = target.run_url(stream=sample.stream)
    quote = _QUOTERS[sample.language]
    values = {
        "__URL__": quote(url),
        "__URL_TEXT__": _comment_text(url),
        "__FLOW_NAME__": _comment_text(facts.name, quoted=True),
        "__FILE_NAME__": sample.file_name,
        "__TWEAKS__": quote(tweaks_skeleton(facts)),
        "__AUTH_HEADER__": header,
        "__AUTH_PREFIX__": "Bearer " if header == "Authorization" else "",
    }
    text = template.read_text(encoding="utf-8")
    # One pass: a value that happens to spell a placeholder is never expanded again.
    placeholders = re.compile("|".join(map(re.escape, values)))
    text = placeholders.sub(lambda match: values[match.group(0)], text)
    return target.redact(text)  # the key is never in a template; this keeps it so


def _shell_literal(value: object) -> str:
    """``value`` as one single-quoted shell word (JSON for anything but a string)."""
    return shlex.quote(value if isinstance(value, str) else json.dumps(value))


def _code_literal(value: object) -> str:
    """``value`` as a Python or JavaScript literal: ASCII-only JSON, whose string escapes both
    languages read alike, so no quote, newline or line separator in it can end the literal."""
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, indent=2)


_QUOTERS: dict[str, Callable[[object], str]] = {
    "curl": _shell_literal,
    "python": _code_literal,
    "javascript": _code_literal,
}


def _comment_text(value: str, *, quoted: bool = False) -> str:
    """``value`` safe inside a comment or docstring of every sample language: one ASCII line,
    its quotes and backslashes escaped, so it can neither end the line nor close a docstring."""
    text = json.dumps(value)
    return text if quoted else text[1:-1]


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
