"""What the suites need to know about the flow under test, learned from the flow itself.

A suite must work on any user's flow, not only flowprobe's reference flows: it learns the flow's
id (from a run answer, so an endpoint name works too), its components (``GET
/api/v1/flows/{id}``), which of them takes the chat input, which renders a prompt, and whether a
language model sits in it (only then do tokens stream).
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from flowprobe.errors import TargetError
from flowprobe.jsonpath import value_or_none
from flowprobe.wire.answer_paths import RESULTS_TEXT
from flowprobe.wire.client import RunClient, run_body

MODEL_FIELDS = frozenset({"model_name", "model"})


@dataclass(frozen=True, slots=True)
class Component:
    """One component of the flow: id, type, display name, and its field names."""

    id: str
    type: str
    display_name: str
    fields: frozenset[str] = field(default_factory=frozenset)
    template: str | None = None  # the stored value of a ``template`` field, if it has one


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowFacts:
    """The flow under test, as the suites see it."""

    flow_id: str
    endpoint_name: str | None
    name: str
    components: tuple[Component, ...]

    def first(self, *, type_contains: str = "", has_field: str = "") -> Component | None:
        for component in self.components:
            if type_contains.lower() in component.type.lower() and (
                not has_field or has_field in component.fields
            ):
                return component
        return None

    @property
    def chat_input(self) -> Component | None:
        return self.first(type_contains="ChatInput")

    @property
    def prompt(self) -> Component | None:
        """A component whose ``template`` field renders the prompt (where a nonce can go)."""
        return self.first(has_field="template")

    @property
    def model(self) -> Component | None:
        for component in self.components:
            if "temperature" in component.fields and component.fields & MODEL_FIELDS:
                return component
        return None

    @property
    def file_reader(self) -> Component | None:
        """A component that reads the files named in its ``path`` field (Read File)."""
        return self.first(type_contains="File", has_field="path")

    @property
    def streams_tokens(self) -> bool:
        return self.model is not None


def _flow_id_from_answer(body: Any) -> str | None:
    result = value_or_none(body, RESULTS_TEXT[:-1])  # the message that carries the text
    if not isinstance(result, dict):
        return None
    found = result.get("flow_id") or (result.get("data") or {}).get("flow_id")
    return str(found) if found else None


def _components(flow: dict[str, Any]) -> tuple[Component, ...]:
    found = []
    for node in (flow.get("data") or {}).get("nodes", []):
        data = node.get("data") or {}
        template = (data.get("node") or {}).get("template") or {}
        if not template:
            continue  # notes and other decorations
        display = (data.get("node") or {}).get("display_name") or data.get("type") or ""
        fields = frozenset(k for k in template if not k.startswith("_"))
        stored = (template.get("template") or {}).get("value")
        text = stored if isinstance(stored, str) else None
        found.append(
            Component(str(node["id"]), str(data.get("type", "")), str(display), fields, text)
        )
    return tuple(found)


def learn_flow(client: RunClient) -> FlowFacts:
    """Ask the target about its flow: one run call for the id, one GET for the components."""
    answer = client.run(run_body(input_value="flowprobe: learning the flow"))
    if answer.status in (401, 403):
        raise TargetError(
            f"{client.target.run_url()} refused the key (HTTP {answer.status}); "
            "check FLOWPROBE_API_KEY (and FLOWPROBE_AUTH for a hosted target)"
        )
    if answer.status != 200:
        raise TargetError(
            f"the flow did not answer a plain run call (HTTP {answer.status}: "
            f"{client.target.redact(answer.text[:200])}); the suites need a flow that runs"
        )
    flow_id = (
        client.target.flow if client.target.flow_is_uuid else _flow_id_from_answer(answer.body)
    )
    if not flow_id:
        raise TargetError("the run answer names no flow_id; set FLOWPROBE_FLOW to the flow's UUID")
    return read_flow(client, str(flow_id))


def read_flow(client: RunClient, flow_id: str) -> FlowFacts:
    """The flow with UUID ``flow_id``, read from ``GET /api/v1/flows/{flow_id}``."""
    url = client.target.api_url(f"flows/{flow_id}")
    response = client.http.get(url, headers=client.target.auth_headers())
    if response.status_code != 200:
        raise TargetError(
            f"GET {url} answered HTTP {response.status_code}; the suites read the flow's "
            "components from it, so the key must be allowed to read the flow"
        )
    flow = response.json()
    return FlowFacts(
        flow_id=flow_id,
        endpoint_name=flow.get("endpoint_name"),
        name=str(flow.get("name", "")),
        components=_components(flow),
    )


def find_flow(client: RunClient, flow: str) -> FlowFacts:
    """The flow named by its UUID or endpoint name, found without running it.

    A flow that reads an uploaded file cannot answer a plain run call, so its UUID (which the
    upload endpoints need) comes from the flow listing instead of a run answer.
    """
    with contextlib.suppress(ValueError):
        return read_flow(client, str(uuid.UUID(flow)))
    url = client.target.api_url("flows/")
    params = {"header_flows": "true", "get_all": "true", "remove_example_flows": "true"}
    response = client.http.get(url, params=params, headers=client.target.auth_headers())
    if response.status_code != 200:
        raise TargetError(f"GET {url} answered HTTP {response.status_code}; cannot find {flow!r}")
    for header in response.json():
        if isinstance(header, dict) and header.get("endpoint_name") == flow:
            return read_flow(client, str(header["id"]))
    raise TargetError(f"the target has no flow with the endpoint name {flow!r}")
