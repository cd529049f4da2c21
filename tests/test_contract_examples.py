"""Every contract example under tests/contracts/examples is one test.

``<contract>/valid/*.json`` are real Langflow 1.13 answers and accepted request bodies, written
by ``tests/contracts/capture_examples.py``: each must validate with no violation.
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


@pytest.mark.parametrize("path", example_files("valid"))
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


def test_examples_are_only_for_known_contracts() -> None:
    folders = {path.name for path in EXAMPLES.iterdir() if path.is_dir()}
    assert folders <= set(contracts.NAMES), f"unknown contracts: {folders - set(contracts.NAMES)}"
