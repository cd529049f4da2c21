"""Tests for the package surface and the contracts: __all__, schema files, the registry."""

from __future__ import annotations

import importlib.metadata
import json
import socket
import types
from pathlib import Path
from typing import Any

import pytest
import referencing.exceptions
from jsonschema import Draft202012Validator

import flowprobe
from flowprobe import contracts
from flowprobe.errors import ContractViolation, FlowprobeError

CONTRACT_FILES = sorted(contracts.contracts_dir().glob("*.json"))
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def test_all_is_sorted() -> None:
    assert flowprobe.__all__ == sorted(flowprobe.__all__)
    assert len(set(flowprobe.__all__)) == len(flowprobe.__all__)


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(flowprobe).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    public.discard("annotations")  # the __future__ import, not an API
    assert sorted(public) == flowprobe.__all__


def test_the_version_is_the_installed_distribution_s() -> None:
    assert flowprobe.__version__ == importlib.metadata.version("flowprobe")


@pytest.mark.parametrize("name", flowprobe.__all__)
def test_every_public_name_is_importable(name: str) -> None:
    assert getattr(flowprobe, name) is not None
    namespace: dict[str, Any] = {}
    exec(f"from flowprobe import {name}", namespace)  # noqa: S102 - a fixed, listed name
    assert namespace[name] is getattr(flowprobe, name)


def test_the_contract_files_are_the_known_contracts() -> None:
    assert [path.stem for path in CONTRACT_FILES] == sorted(contracts.NAMES)


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda path: path.name)
class TestContractFile:
    def test_is_a_valid_2020_12_schema(self, path: Path) -> None:
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))

    def test_declares_its_draft_and_a_stable_id(self, path: Path) -> None:
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$schema"] == DRAFT_2020_12
        assert schema["$id"].startswith("https://flowprobe.dev/contracts/")
        assert schema["$id"] == contracts.ID_PREFIX + path.name

    def test_is_in_the_registry_under_its_id(self, path: Path) -> None:
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert contracts.registry().contents(schema["$id"]) == schema
        assert contracts.schema(path.stem) == schema


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test loudly."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the registry tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


UNKNOWN = "https://example.com/schemas/not-a-contract.json"


@pytest.mark.usefixtures("no_network")
class TestRegistryStaysOffline:
    def test_a_lookup_of_an_unknown_url_is_unresolvable(self) -> None:
        with pytest.raises(referencing.exceptions.Unresolvable):
            contracts.registry().resolver().lookup(UNKNOWN)

    def test_a_ref_to_an_unknown_url_is_refused_when_validating(self) -> None:
        validator = Draft202012Validator({"$ref": UNKNOWN}, registry=contracts.registry())
        # jsonschema wraps the referencing error in a class that is also an Unresolvable.
        with pytest.raises(referencing.exceptions.Unresolvable):
            validator.validate({"input_value": "hi"})

    def test_a_ref_between_contracts_resolves(self) -> None:
        resolved = contracts.registry().resolver().lookup(contracts.ID_PREFIX + "tweaks.json")
        assert resolved.contents["$id"] == contracts.ID_PREFIX + "tweaks.json"


class TestViolations:
    def test_str_names_the_json_path(self) -> None:
        answer = {"session_id": "s", "outputs": [{"inputs": {}, "outputs": [{"component_id": 1}]}]}
        found = contracts.violations("run-response", answer)
        assert found
        paths = [violation.path for violation in found]
        assert "$.outputs[0].outputs[0]" in paths
        assert any(str(v).startswith("$.outputs[0].outputs[0]: expected ") for v in found)

    def test_a_wrong_type_names_the_field_path(self) -> None:
        [violation] = contracts.violations("run-request", {"input_value": 3})
        assert violation.path == "$.input_value"
        assert str(violation) == '$.input_value: expected type ["string", "null"], received 3'

    def test_a_conforming_instance_has_none(self) -> None:
        assert contracts.violations("run-request", {"input_value": "hi", "tweaks": {}}) == []
        contracts.check("run-request", {"input_value": "hi"})

    def test_check_raises_an_assertion_with_the_path(self) -> None:
        with pytest.raises(ContractViolation) as caught:
            contracts.check("run-request", {"input_type": "voice"})
        assert isinstance(caught.value, AssertionError)
        assert caught.value.path == "$.input_type"
        assert "at:       $.input_type" in str(caught.value)
        assert 'received: "voice"' in str(caught.value)

    def test_an_unknown_contract_name_is_a_flowprobe_error(self) -> None:
        with pytest.raises(FlowprobeError, match="no contract named 'run-answer'"):
            contracts.schema("run-answer")
