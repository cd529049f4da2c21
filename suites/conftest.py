"""Helpers shared by flowprobe's suites: nonce-carrying tweaks, flow lookups, and reading a
debug answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from flowprobe import checks
from flowprobe.wire.client import RunResult
from flowprobe.wire.flowfacts import FlowFacts, NonceCarrier

UNSERIALIZABLE_DEBUG = "debug-output-unserializable"


@pytest.fixture
def nonce_carrier(flowprobe_flow: FlowFacts) -> NonceCarrier:
    """The text field the flow's model sees (a prompt template, else a model's system prompt)."""
    carrier = flowprobe_flow.nonce_carrier
    if carrier is None:
        pytest.skip(
            "the flow has no field its model sees to carry a nonce: no prompt template, and no "
            "model with a system_prompt or system_message field"
        )
    return carrier


@pytest.fixture
def nonce_tweaks(
    flowprobe_flow: FlowFacts, nonce_carrier: NonceCarrier, flowprobe_nonce: Callable[[str], str]
) -> Callable[..., tuple[str, dict[str, Any]]]:
    """Tweaks that put a fresh nonce into the text the flow's model sees.

    ``nonce_tweaks(label, by="id"|"display_name"|"global")`` returns (nonce, tweaks). The stored
    text is kept after the nonce, so the flow's own variables still resolve.
    """
    component, name = nonce_carrier.component, nonce_carrier.field

    def make(label: str = "", by: str = "id") -> tuple[str, dict[str, Any]]:
        nonce = flowprobe_nonce(label)
        text = f"[{nonce}] {nonce_carrier.stored}"
        if by == "global":
            return nonce, {name: text}
        if by == "display_name" and not flowprobe_flow.named_once(component):
            pytest.skip(f"another component is also named {component.display_name!r}")
        key = component.id if by == "id" else component.display_name
        return nonce, {key: {name: text}}

    return make


@pytest.fixture
def debug_answer(
    flowprobe_finding: Callable[[str, str], None],
) -> Callable[[RunResult], dict[str, Any]]:
    """``debug_answer(result)``: an ``output_type=debug`` answer, checked against the contract.

    Langflow 1.13 cannot serialize the debug output of some flows (a Loop's): it answers 500
    "Unable to serialize unknown type". That is the finding ``debug-output-unserializable``, and
    the test, which needs the debug output to see anything, is skipped with that reason.
    """

    def read(result: RunResult) -> dict[str, Any]:
        if result.status == 500 and "Unable to serialize" in result.text:
            flowprobe_finding(
                UNSERIALIZABLE_DEBUG,
                f"output_type=debug answers 500 for this flow ({result.text[:160]})",
            )
            pytest.skip(
                f"Langflow cannot serialize this flow's debug output ({UNSERIALIZABLE_DEBUG})"
            )
        return checks.check_run_answer(result)

    return read
