"""Helpers shared by flowprobe's suites: nonce-carrying tweaks and flow lookups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flowprobe.wire.flowfacts import FlowFacts


@pytest.fixture
def nonce_tweaks(
    flowprobe_flow: FlowFacts, flowprobe_nonce: Callable[[str], str]
) -> Callable[..., tuple[str, dict[str, Any]]]:
    """Tweaks that put a fresh nonce into the flow's prompt template.

    ``nonce_tweaks(label, by="id"|"display_name"|"global")`` returns (nonce, tweaks). The stored
    template is kept after the nonce, so the flow's own variables still resolve.
    """
    prompt = flowprobe_flow.prompt
    if prompt is None:
        pytest.skip("the flow has no component with a template field to carry a nonce")

    def make(label: str = "", by: str = "id") -> tuple[str, dict[str, Any]]:
        nonce = flowprobe_nonce(label)
        template = f"[{nonce}] {prompt.template or ''}"
        if by == "global":
            return nonce, {"template": template}
        key = prompt.id if by == "id" else prompt.display_name
        return nonce, {key: {"template": template}}

    return make
