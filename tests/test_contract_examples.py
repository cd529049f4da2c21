"""Every contract example under tests/contracts/examples is one test.

``<contract>/valid/*.json`` are real Langflow 1.13 answers and accepted request bodies, written
by ``tests/contracts/capture_examples.py``: each must validate with no violation.
``<contract>/valid-from-source/*.json`` are built by hand from Langflow 1.13's source, for
shapes the reference flows never produce (a ``log`` event comes from an Agent or a vector store):
each must validate too, and the captures never touch them.
``<contract>/invalid/*.json`` are hand-made one-spot mutations of those, each
``{"expected_path": "$.…", "instance": …}``: each must break its contract, and flowprobe must
report the break at ``expected_path``, since that path is what a failing suite shows a user.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowprobe import contracts
from flowprobe.contracts.validation import ANY_ELEMENT, ANY_KEY, schema_nodes
from flowprobe.jsonpath import value_at

EXAMPLES = Path(__file__).parent / "contracts" / "examples"


def example_files(kind: str) -> list[Any]:
    files = sorted(EXAMPLES.glob(f"*/{kind}/*.json"))
    return [
        pytest.param(path, id=str(path.relative_to(EXAMPLES).with_suffix(""))) for path in files
    ]


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def contract_of(path: Path) -> str:
    return path.parent.parent.name


@pytest.mark.parametrize("path", example_files("valid") + example_files("valid-from-source"))
def test_valid_example_conforms(path: Path) -> None:
    found = contracts.violations(contract_of(path), read(path))
    assert found == [], "\n".join(str(v) for v in found)


@pytest.mark.parametrize("path", example_files("invalid"))
def test_invalid_example_is_reported_at_its_path(path: Path) -> None:
    example = read(path)
    assert set(example) == {"expected_path", "instance"}, f"{path.name}: wrong keys"
    found = contracts.violations(contract_of(path), example["instance"])
    assert found, "the contract accepts this invalid example"
    paths = [v.path for v in found]
    assert example["expected_path"] in paths, f"reported at {paths}, not {example['expected_path']}"


@pytest.mark.parametrize("name", contracts.NAMES)
def test_every_contract_has_valid_and_invalid_examples(name: str) -> None:
    for kind in ("valid", "invalid"):
        assert list((EXAMPLES / name / kind).glob("*.json")), f"no {kind} example for {name}"


def stream_event_names(folder: str) -> set[str]:
    """The events of the stream-event examples in ``folder`` (an invalid one wraps its record)."""
    examples = (read(path) for path in (EXAMPLES / "stream-event" / folder).glob("*.json"))
    return {e.get("instance", e)["event"] for e in examples}


def test_the_stream_event_contract_describes_each_event_it_names_once() -> None:
    schema = contracts.schema("stream-event")
    names = schema["properties"]["event"]["enum"]
    assert sorted(names) == sorted(schema["$defs"]), "one $defs entry per event, and no other"
    guarded = [rule["if"]["properties"]["event"]["const"] for rule in schema["allOf"]]
    assert guarded == names


def test_every_stream_event_has_a_valid_and_an_invalid_example() -> None:
    names = set(contracts.schema("stream-event")["properties"]["event"]["enum"])
    valid = stream_event_names("valid") | stream_event_names("valid-from-source")
    assert names <= valid, f"no valid example of {names - valid}"
    assert names <= stream_event_names("invalid"), "an event without an invalid example"


def test_only_token_and_end_fields_are_read_by_clients_from_a_stream() -> None:
    # A client shows tokens, then reads the final answer in end; log and build events are
    # progress it may ignore, so no field of theirs is marked.
    for event in ("log", "build_start", "build_end", "end_vertex"):
        nodes = schema_nodes(f"stream-event.json#/$defs/{event}", any_key=True)
        assert not [path for path, node in nodes if node.get("x-read-by-clients")], event
    token = schema_nodes("stream-event.json#/$defs/token")
    assert [p for p, node in token if node.get("x-read-by-clients")] == [("data", "chunk")]


def test_examples_are_only_for_known_contracts() -> None:
    folders = {path.name for path in EXAMPLES.iterdir() if path.is_dir()}
    assert folders <= set(contracts.NAMES), f"unknown contracts: {folders - set(contracts.NAMES)}"


def test_the_paths_clients_read_are_listed_from_the_contract() -> None:
    paths = contracts.read_by_clients("run-response")
    assert "$.outputs[0].outputs[0].results.message.text" in paths  # through message.json
    assert "$.outputs[0].outputs[0].messages[0].message" in paths
    assert "$.outputs[0].outputs[0].results.message.flow_id" not in paths
    assert contracts.read_by_clients("upload-response") == ["$.file_path"]


def test_the_paths_clients_read_keep_their_order_and_leave_out_any_key() -> None:
    # outputs.<any component>.message is marked under additionalProperties: no key reads it.
    first = "$.outputs[0].outputs[0]"
    assert contracts.read_by_clients("run-response") == [
        "$.session_id",
        "$.outputs",
        "$.outputs[0].outputs",
        *(f"{first}.results.message.{f}" for f in ("text", "sender", "sender_name", "session_id")),
        f"{first}.outputs.message.message",
        f"{first}.messages[0].message",
    ]


def test_the_contract_walker_goes_into_additional_properties_only_when_asked() -> None:
    def marked(any_key: bool) -> set[tuple[str, ...]]:
        nodes = schema_nodes("run-response.json", any_key=any_key)
        return {path for path, node in nodes if node.get("x-read-by-clients")}

    under_any_key = ("outputs", ANY_ELEMENT, "outputs", ANY_ELEMENT, "outputs", ANY_KEY, "message")
    assert under_any_key in marked(True)
    assert under_any_key not in marked(False)
    assert marked(False) <= marked(True)


def test_value_at_reads_a_json_path() -> None:
    example = read(EXAMPLES / "run-response" / "valid" / "no-model-chat-by-name.json")
    text = value_at(example, "$.outputs[0].outputs[0].results.message.text")
    assert text == example["outputs"][0]["outputs"][0]["results"]["message"]["text"]
    with pytest.raises(LookupError, match=r"nothing at \[3\]"):
        value_at(example, "$.outputs[3]")
