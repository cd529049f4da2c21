"""What the suites learn from a flow's JSON: its components (notes are not), which of them is a
language model (by what it does), and where a nonce can reach the model."""

from __future__ import annotations

from typing import Any

from flowprobe.wire.flowfacts import FlowFacts, _components, _edges


def _node(node_id: str, data_type: str, template: dict[str, Any], **extra: Any) -> dict[str, Any]:
    node = {"template": template, "display_name": extra.pop("display_name", data_type), **extra}
    return {"id": node_id, "type": "genericNode", "data": {"type": data_type, "node": node}}


def _facts(*nodes: dict[str, Any]) -> FlowFacts:
    flow = {"data": {"nodes": list(nodes)}}
    return FlowFacts(flow_id="f", endpoint_name=None, name="n", components=_components(flow))


CHAT_INPUT = _node("ChatInput-a", "ChatInput", {"input_value": {"value": ""}})
PROMPT = _node("Prompt-b", "Prompt", {"template": {"value": "Answer {question}"}})
AGENT = _node(
    "Agent-c",
    "Agent",
    {
        "model": {"_input_type": "ModelInput", "type": "model", "input_types": ["LanguageModel"]},
        "system_prompt": {"value": "You are helpful."},
        "max_iterations": {"type": "int", "value": 15},
    },
    display_name="Agent",
)
LEGACY = _node(
    "OpenAIModel-d", "OpenAIModel", {"temperature": {"value": 0.1}, "model_name": {"value": "x"}}
)
# Langflow's starter projects store notes with a template of their own, and some with no type.
NOTE: dict[str, Any] = {
    "id": "note-e",
    "type": "noteNode",
    "data": {"type": "note", "node": {"template": {"a": 1}}},
}
UNTYPED_NOTE = {"id": "undefined-f", "type": "noteNode", "data": {"node": {"template": {"b": 2}}}}


def test_notes_are_not_components() -> None:
    facts = _facts(CHAT_INPUT, NOTE, UNTYPED_NOTE, AGENT)
    assert [c.id for c in facts.components] == ["ChatInput-a", "Agent-c"]


def test_a_model_choice_makes_a_model_and_names_its_field() -> None:
    model = _facts(CHAT_INPUT, AGENT).model
    assert model is not None
    assert model.id == "Agent-c"
    assert model.model_choice == "model"
    assert model.system_prompt == ("system_prompt", "You are helpful.")


def test_a_language_model_output_makes_a_model() -> None:
    maker = _node("Custom-g", "Custom", {"x": {}}, outputs=[{"types": ["LanguageModel"]}])
    assert _facts(CHAT_INPUT, maker).model is not None


def test_the_legacy_temperature_and_model_name_make_a_model() -> None:
    model = _facts(CHAT_INPUT, LEGACY).model
    assert model is not None
    assert model.id == "OpenAIModel-d"
    assert model.model_choice is None


def test_a_flow_without_model_fields_has_no_model() -> None:
    temperature_only = _node("Other-h", "Other", {"temperature": {"value": 1}})
    facts = _facts(CHAT_INPUT, PROMPT, temperature_only)
    assert facts.model is None
    assert not facts.streams_tokens


def test_the_nonce_goes_into_a_prompt_template_first() -> None:
    carrier = _facts(CHAT_INPUT, AGENT, PROMPT).nonce_carrier
    assert carrier is not None
    assert (carrier.component.id, carrier.field, carrier.stored) == (
        "Prompt-b",
        "template",
        "Answer {question}",
    )


def test_without_a_prompt_the_nonce_goes_into_the_models_system_prompt() -> None:
    carrier = _facts(CHAT_INPUT, AGENT).nonce_carrier
    assert carrier is not None
    assert (carrier.component.id, carrier.field) == ("Agent-c", "system_prompt")


def test_a_flow_with_no_prompt_and_no_system_prompt_has_no_carrier() -> None:
    assert _facts(CHAT_INPUT, LEGACY).nonce_carrier is None


def test_a_display_name_shared_by_two_components_is_not_named_once() -> None:
    twin = _node("Agent-z", "Agent", {"system_prompt": {"value": ""}}, display_name="Agent")
    facts = _facts(AGENT, twin, CHAT_INPUT)
    assert not facts.named_once(facts.components[0])
    assert facts.named_once(facts.components[2])


def test_a_components_numeric_fields_are_known() -> None:
    typed = _node("M-i", "M", {"temperature": {"type": "slider"}, "n": {"type": "int"}, "s": {}})
    assert _facts(typed).components[0].numeric_fields == ("temperature", "n")
    assert _facts(AGENT).components[0].numeric_fields == ("max_iterations",)


def _wired(*edges: tuple[str, str]) -> FlowFacts:
    nodes = [
        AGENT,
        _node("ChatOutput-d", "ChatOutput", {"input_value": {"value": ""}}),
        _node("LoopComponent-e", "LoopComponent", {"data": {"value": ""}}),
    ]
    flow = {"data": {"nodes": nodes, "edges": [{"source": s, "target": t} for s, t in edges]}}
    return FlowFacts(
        flow_id="f",
        endpoint_name=None,
        name="n",
        components=_components(flow),
        edges=_edges(flow),
    )


def test_tokens_stream_only_from_a_model_answering_into_a_chat_output() -> None:
    assert _wired(("Agent-c", "ChatOutput-d")).streams_tokens
    # A model feeding a loop first (Langflow's Research Translation Loop) streams no tokens.
    looped = _wired(("Agent-c", "LoopComponent-e"), ("LoopComponent-e", "ChatOutput-d"))
    assert looped.model is not None
    assert not looped.streams_tokens
    assert _facts(AGENT).streams_tokens  # no edges known: any model counts
