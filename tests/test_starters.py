"""Langflow's starter projects in the local target: names, the model choice, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowprobe.errors import FlowprobeError
from flowprobe.local import starters
from flowprobe.local.config import LocalConfig


def _model_field(value: object = "") -> dict[str, object]:
    return {"_input_type": "ModelInput", "type": "model", "value": value}


def _flow() -> dict[str, object]:
    return {
        "nodes": [
            {"id": "Agent-1", "data": {"node": {"template": {"model": _model_field(), "x": 1}}}},
            {"id": "note-1", "data": {"type": "note", "node": {"template": {}}}},
            {"id": "Prompt-1", "data": {"node": {"template": {"template": {"value": "hi"}}}}},
        ],
        "edges": [{"source": "Prompt-1", "target": "Agent-1"}],
    }


def test_only_model_fields_change_and_the_original_is_untouched() -> None:
    original = _flow()
    before = json.dumps(original, sort_keys=True)
    changed, count = starters.with_stub_model(original)
    assert count == 1
    assert json.dumps(original, sort_keys=True) == before
    agent = changed["nodes"][0]["data"]["node"]["template"]
    assert agent["model"]["value"] == starters.STUB_MODEL
    agent["model"]["value"] = ""
    assert json.dumps(changed, sort_keys=True) == before


def test_endpoint_names_are_slugs() -> None:
    assert starters.endpoint_name("Memory Chatbot") == "starter-memory-chatbot"
    assert starters.endpoint_name("Document Q&A") == "starter-document-q-a"


def test_names_match_without_case_and_unknown_names_are_listed(tmp_path: Path) -> None:
    projects = {"Memory Chatbot": tmp_path / "a.json", "Simple Agent": tmp_path / "b.json"}
    assert starters.resolve(("memory chatbot",), projects) == ["Memory Chatbot"]
    with pytest.raises(FlowprobeError, match=r"no starter project 'Nope'.*Memory Chatbot"):
        starters.resolve(("Nope",), projects)


def test_a_langflow_without_starter_projects_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FlowprobeError, match="no Langflow starter projects"):
        starters.starter_projects(tmp_path)


def test_starter_projects_are_found_in_a_langflow_environment(tmp_path: Path) -> None:
    folder = tmp_path / "lib/python3.11/site-packages/langflow/initial_setup/starter_projects"
    folder.mkdir(parents=True)
    (folder / "Simple Agent.json").write_text("{}", encoding="utf-8")
    assert starters.starter_projects(tmp_path) == {"Simple Agent": folder / "Simple Agent.json"}


def test_the_stub_is_named_by_its_ipv6_loopback_address() -> None:
    # Langflow rewrites 127.0.0.1 and localhost in a provider's base URL inside a container.
    url = LocalConfig(stub_port=7999).stub_url_v6
    assert url == "http://[::1]:7999/v1"
    assert "127.0.0.1" not in url
    assert "localhost" not in url


def test_every_shipped_starter_with_a_model_gets_the_stub() -> None:
    try:
        projects = starters.starter_projects()
    except FlowprobeError:
        pytest.skip("Langflow is not installed here (flowprobe up installs it)")
    for name in ("Memory Chatbot", "Simple Agent", "Blog Writer", "Basic Prompting"):
        flow = json.loads(projects[name].read_text(encoding="utf-8"))
        _, count = starters.with_stub_model(flow["data"])
        assert count >= 1, name
