"""What the suites need to know about the flow under test, learned from the flow itself.

A suite must work on any user's flow, not only flowprobe's reference flows: it learns the flow's
id (from the flows API, by UUID or endpoint name, never from a run answer's shape), its
components (``GET /api/v1/flows/{id}``; notes on the canvas are not components), which of them
takes the chat input, which renders a prompt, which is a language model (by what it does, not
by one field name) and where a model reads a system prompt (a field a nonce can travel in).
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from flowprobe.errors import TargetError
from flowprobe.wire.client import RunClient, run_body

MODEL_FIELDS = frozenset({"model_name", "model"})
# How a canvas note is stored: its node type, and the type inside its data.
NOTE_NODE_TYPE = "noteNode"
NOTE_DATA_TYPE = "note"
LANGUAGE_MODEL = "LanguageModel"
MODEL_INPUT = "ModelInput"
# Fields through which a model component takes its system prompt, in the order they are tried.
SYSTEM_PROMPT_FIELDS = ("system_prompt", "system_message")
NUMERIC = ("int", "float", "slider")  # a slider (temperature) holds a number too


@dataclass(frozen=True, slots=True)
class Component:
    """One component of the flow: id, type, display name, and its field names."""

    id: str
    type: str
    display_name: str
    fields: frozenset[str] = field(default_factory=frozenset)
    template: str | None = None  # the stored value of a ``template`` field, if it has one
    is_model: bool = False
    model_choice: str | None = None  # the field that picks the model (a ``ModelInput``)
    system_prompt: tuple[str, str] | None = None  # a model's: (field name, stored text)
    numeric_fields: tuple[str, ...] = ()  # fields that hold a number, in the flow's order


@dataclass(frozen=True, slots=True)
class NonceCarrier:
    """A text field the flow's model sees, where a nonce can travel: which component, which
    field, and the text stored in it (kept after the nonce, so the flow still works)."""

    component: Component
    field: str
    stored: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowFacts:
    """The flow under test, as the suites see it."""

    flow_id: str
    endpoint_name: str | None
    name: str
    components: tuple[Component, ...]
    # (source id, target id) of every edge; empty when unknown
    edges: tuple[tuple[str, str], ...] = ()

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
        """The first language model component (a model choice, a LanguageModel output, or the
        legacy ``temperature`` with a model name)."""
        return next((c for c in self.components if c.is_model), None)

    @property
    def nonce_carrier(self) -> NonceCarrier | None:
        """Where a nonce reaches the model: a prompt template, else a model's system prompt."""
        prompt = self.prompt
        if prompt is not None:
            return NonceCarrier(prompt, "template", prompt.template or "")
        for component in self.components:
            if component.is_model and component.system_prompt is not None:
                name, stored = component.system_prompt
                return NonceCarrier(component, name, stored)
        return None

    def named_once(self, component: Component) -> bool:
        """Whether no other component has ``component``'s display name (so a tweak by display
        name reaches it alone)."""
        return sum(c.display_name == component.display_name for c in self.components) == 1

    @property
    def file_reader(self) -> Component | None:
        """A component that reads the files named in its ``path`` field (Read File)."""
        return self.first(type_contains="File", has_field="path")

    @property
    def streams_tokens(self) -> bool:
        """Whether tokens are expected in the stream: a model answers into a Chat Output.

        A model whose answer goes elsewhere first (a loop, a parser, another agent) streams no
        tokens to the caller; with no edges known, any model counts."""
        models = {c.id for c in self.components if c.is_model}
        if not models:
            return self.model is not None
        if not self.edges:
            return True
        outputs = {c.id for c in self.components if "chatoutput" in c.type.lower()}
        return any(source in models and target in outputs for source, target in self.edges)


def _is_note(node: dict[str, Any]) -> bool:
    # A note has a node dict (and even a template) of its own, but never runs.
    data = node.get("data") or {}
    return node.get("type") == NOTE_NODE_TYPE or data.get("type") == NOTE_DATA_TYPE


def _model_choice(template: dict[str, Any]) -> str | None:
    """The field that chooses a language model: a ``ModelInput``, or one taking a model."""
    for name, spec in template.items():
        if not isinstance(spec, dict) or name.startswith("_"):
            continue
        takes = spec.get("input_types") or []
        if (
            spec.get("_input_type") == MODEL_INPUT
            or spec.get("type") == "model"
            or LANGUAGE_MODEL in takes
        ):
            return name
    return None


def _makes_a_model(node: dict[str, Any]) -> bool:
    outputs = ((node.get("data") or {}).get("node") or {}).get("outputs") or []
    return any(LANGUAGE_MODEL in (out.get("types") or []) for out in outputs)


def _stored_text(template: dict[str, Any], name: str) -> str | None:
    spec = template.get(name)
    value = spec.get("value") if isinstance(spec, dict) else None
    return value if isinstance(value, str) else None


def _system_prompt(template: dict[str, Any]) -> tuple[str, str] | None:
    for name in SYSTEM_PROMPT_FIELDS:
        if name in template:
            return name, _stored_text(template, name) or ""
    return None


def _numeric_fields(template: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        name
        for name, spec in template.items()
        if isinstance(spec, dict) and not name.startswith("_") and spec.get("type") in NUMERIC
    )


def _component(node: dict[str, Any]) -> Component | None:
    data = node.get("data") or {}
    template = (data.get("node") or {}).get("template") or {}
    if not template or _is_note(node):
        return None  # notes and other decorations
    display = (data.get("node") or {}).get("display_name") or data.get("type") or ""
    fields = frozenset(k for k in template if not k.startswith("_"))
    choice = _model_choice(template)
    legacy = "temperature" in fields and bool(fields & MODEL_FIELDS)
    is_model = choice is not None or legacy or _makes_a_model(node)
    return Component(
        str(node["id"]),
        str(data.get("type", "")),
        str(display),
        fields,
        _stored_text(template, "template"),
        is_model=is_model,
        model_choice=choice,
        system_prompt=_system_prompt(template) if is_model else None,
        numeric_fields=_numeric_fields(template),
    )


def _components(flow: dict[str, Any]) -> tuple[Component, ...]:
    nodes = (flow.get("data") or {}).get("nodes", [])
    return tuple(c for c in map(_component, nodes) if c is not None)


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
    # The flow itself comes from the flows API, never from the answer's shape: an answer that
    # breaks the run-response contract must reach the suites, which say how it broke.
    return find_flow(client, client.target.flow)


def read_flow(client: RunClient, flow_id: str) -> FlowFacts:
    """The flow with UUID ``flow_id``, read from ``GET /api/v1/flows/{flow_id}``."""
    url = client.target.api_url(f"flows/{flow_id}")
    response = client.http.get(url, headers=client.target.auth_headers())
    if response.status_code != 200:
        raise TargetError(
            f"GET {url} answered HTTP {response.status_code}; the suites read the flow's "
            "components from it, so the key must be allowed to read the flow"
        )
    flow = _json_of(response, url)
    if not isinstance(flow, dict):
        raise TargetError(f"GET {url} answered no flow object; the suites read the flow from it")
    return FlowFacts(
        flow_id=flow_id,
        endpoint_name=flow.get("endpoint_name"),
        name=str(flow.get("name", "")),
        components=_components(flow),
        edges=_edges(flow),
    )


def _edges(flow: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    found = []
    for edge in (flow.get("data") or {}).get("edges") or []:
        if isinstance(edge, dict) and edge.get("source") and edge.get("target"):
            found.append((str(edge["source"]), str(edge["target"])))
    return tuple(found)


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
    listed = _json_of(response, url)
    for header in listed if isinstance(listed, list) else []:
        if isinstance(header, dict) and header.get("endpoint_name") == flow:
            return read_flow(client, str(header["id"]))
    raise TargetError(f"the target has no flow with the endpoint name {flow!r}")


def _json_of(response: httpx.Response, url: str) -> Any:
    """The JSON body of a flows API answer; a :class:`TargetError` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        shown = response.text[:100]
        raise TargetError(f"GET {url} answered a body that is not JSON ({shown!r})") from None
