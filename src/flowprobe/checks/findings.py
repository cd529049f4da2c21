"""Findings: ways a target answers that clients should not rely on, though no contract
forbids them outright (a silent 200 that drops the body, a 500 for a client's mistake, a server
traceback inside an error event).

A user lists the findings they accept in a baseline file (JSON: ``{"finding-id": "why"}``); an
accepted finding is reported but passes, a new one fails, so that only new findings fail CI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flowprobe.errors import SettingsError

FINDINGS = {
    "wrong-typed-tweak-500": "a tweak value of the wrong type answers 500, not a 4xx",
    "debug-output-unserializable": "output_type=debug answers 500 (Langflow cannot serialize "
    "the flow's debug output), so no client can read it",
    "numeric-input-silently-dropped": "input_value as a number answers 200 and runs the flow "
    "on its defaults, dropping the whole body",
    "list-tweaks-silently-dropped": "tweaks as a list answer 200 and run the flow on its "
    "defaults, dropping the whole body",
    "unknown-input-type-silently-dropped": "an unknown input_type answers 200 and runs the "
    "flow on its defaults, dropping the whole body",
    "non-object-body-accepted": "a JSON body that is not an object answers 200 (runs defaults)",
    "unknown-output-component-empty": "an unknown output_component answers 200 with no outputs",
    "traceback-in-error-event": "an error event carries a server traceback",
    "messages-newlines-rewritten": "messages[0].message rewrites an answer's newlines for "
    "markdown (one becomes two), so it differs from results.message.text",
    "pane-javascript-path-gone": "outputs[0].outputs[0].outputs.message.message is the answer "
    "text itself, so the API pane's JavaScript path ...outputs.message.message.text is missing",
    "empty-upload-accepted": "an empty file is accepted for upload with 201, not refused",
    "deprecated-upload-path-unreadable": "the deprecated upload endpoint (which "
    "langflow.load.upload_file calls) answers an absolute server path that the flow's Read "
    "File component refuses to read",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding seen in this run."""

    id: str
    detail: str
    accepted: bool

    def describe(self) -> str:
        state = "accepted (in baseline)" if self.accepted else "NEW"
        return f"{self.id} [{state}]: {FINDINGS.get(self.id, '')} ({self.detail})"


def load_baseline(path: Path | None) -> dict[str, str]:
    """The accepted findings, ``{id: reason}``; {} without a baseline."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"the findings baseline {path} does not exist") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise SettingsError(f"the findings baseline {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"the findings baseline {path} must be a JSON object of id: reason")
    unknown = sorted(set(data) - set(FINDINGS))
    if unknown:
        raise SettingsError(
            f"the findings baseline {path} names unknown findings {unknown}; "
            f"known: {sorted(FINDINGS)}"
        )
    return {str(k): str(v) for k, v in data.items()}
