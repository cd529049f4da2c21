"""flowprobe's JSON Schema contracts, loaded once into one immutable registry.

Every schema under ``contracts/`` (or, in an installed wheel, ``flowprobe/contracts_data``) is
registered by its ``$id``. A ``$ref`` that points outside the registry fails with
``referencing.exceptions.Unresolvable`` instead of reaching the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from flowprobe.errors import ContractViolation, FlowprobeError
from flowprobe.jsonpath import path_of, shorten
from flowprobe.resources import shipped

ID_PREFIX = "https://flowprobe.dev/contracts/"
REQUEST_CONTRACTS = frozenset({"run-request", "tweaks"})
NAMES = (
    "error",
    "message",
    "run-request",
    "run-response",
    "stream-event",
    "tweaks",
    "upload-response",
)


def contracts_dir() -> Path:
    """The folder holding the schema files: inside the wheel, else the source checkout's."""
    return shipped("contracts", what="contracts")


@cache
def registry() -> Registry[Any]:
    """Every contract, keyed by its ``$id``."""
    resources = []
    for path in sorted(contracts_dir().glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema, DRAFT202012)))
    return Registry().with_resources(resources).crawl()


def schema(name: str) -> dict[str, Any]:
    """The schema of contract ``name`` (e.g. ``"run-response"``)."""
    if name not in NAMES:
        raise FlowprobeError(f"no contract named {name!r}; known: {', '.join(NAMES)}")
    contents: dict[str, Any] = registry().contents(f"{ID_PREFIX}{name}.json")
    return contents


@cache
def validator(name: str) -> Draft202012Validator:
    """A cached validator for contract ``name``, with an explicit format checker."""
    return Draft202012Validator(schema(name), registry=registry(), format_checker=FormatChecker())


@dataclass(frozen=True, slots=True)
class Violation:
    """One way an instance breaks a contract, in words a person can act on."""

    contract: str
    path: str
    expected: str
    received: str

    def __str__(self) -> str:
        return f"{self.path}: expected {self.expected}, received {self.received}"

    @property
    def title(self) -> str:
        """The promise broken: ``the answer breaks the run-response contract``."""
        what = "the request" if self.contract in REQUEST_CONTRACTS else "the answer"
        return f"{what} breaks the {self.contract} contract"

    def as_assertion(self) -> ContractViolation:
        """The test failure a suite raises for this violation."""
        return ContractViolation(
            self.title,
            path=self.path,
            expected=self.expected,
            received=self.received,
        )


def json_path(error: ValidationError) -> str:
    """``$.outputs[0].results`` style path of an error's instance."""
    return path_of(error.absolute_path)


def _expected(error: ValidationError) -> str:
    keyword = str(error.validator)
    message = str(error.message)
    if keyword == "required":
        missing = message.split("'")[1] if "'" in message else message
        return f"a field {missing!r}"
    if keyword in ("oneOf", "anyOf") and error.context:
        return "one of: " + "; ".join(sorted({e.message for e in error.context})[:3])
    if keyword == "additionalProperties":
        return f"no fields beyond those the contract names ({message})"
    return f"{keyword} {shorten(error.validator_value, 80, as_json=True)}"


def _violation(contract: str, error: ValidationError) -> Violation:
    deepest = best_match([error])
    received = (
        "(missing)"
        if deepest.validator == "required"
        else shorten(deepest.instance, 120, as_json=True)
    )
    if deepest.validator == "required":
        received = f"an object with fields {sorted(deepest.instance)[:8]}"
    return Violation(contract, json_path(deepest), _expected(deepest), received)


def iter_violations(name: str, instance: Any) -> Iterator[Violation]:
    """Every violation of contract ``name`` by ``instance``, the most relevant first."""
    errors = sorted(validator(name).iter_errors(instance), key=lambda e: e.path)
    for error in errors:
        yield _violation(name, error)


def violations(name: str, instance: Any) -> list[Violation]:
    """All violations of contract ``name`` by ``instance`` ([] when it conforms)."""
    return list(iter_violations(name, instance))


def check(name: str, instance: Any) -> None:
    """Raise :class:`ContractViolation` naming the first broken rule, if any."""
    __tracebackhide__ = True
    for violation in iter_violations(name, instance):
        raise violation.as_assertion()


ANY_ELEMENT = "[]"
"""The step :func:`schema_nodes` takes into an array's ``items``: any element."""
ANY_KEY = "*"
"""The step :func:`schema_nodes` takes into ``additionalProperties``: any other key."""
_BRANCHES = ("allOf", "anyOf", "oneOf")
_CONDITIONS = ("if", "then", "else")
_MAX_DEPTH = 40  # no contract nests deeper; a $ref cycle stops here


def schema_nodes(
    reference: str, *, any_key: bool = False
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every subschema of the contract at ``reference`` (``run-response.json``, or
    ``stream-event.json#/$defs/token``) with the steps to the value it describes.

    A step is a property name, :data:`ANY_ELEMENT` into ``items``, or (with ``any_key``)
    :data:`ANY_KEY` into ``additionalProperties``. ``$ref`` is followed, and the
    ``allOf``/``anyOf``/``oneOf``/``if``/``then``/``else`` branches describe the same value.
    """
    resolved = registry().resolver(ID_PREFIX).lookup(ID_PREFIX + reference)
    yield from _nodes(resolved.contents, resolved.resolver, (), 0, any_key)


def _nodes(
    node: Any, resolver: Any, path: tuple[str, ...], depth: int, any_key: bool
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return
    if isinstance(node.get("$ref"), str):
        resolved = resolver.lookup(node["$ref"])
        yield from _nodes(resolved.contents, resolved.resolver, path, depth + 1, any_key)
    yield path, node
    children = [(child, (*path, key)) for key, child in (node.get("properties") or {}).items()]
    children.append((node.get("items"), (*path, ANY_ELEMENT)))
    if any_key:
        children.append((node.get("additionalProperties"), (*path, ANY_KEY)))
    branches = [*(b for k in _BRANCHES for b in node.get(k) or ()), *map(node.get, _CONDITIONS)]
    children += [(child, path) for child in branches]
    for child, steps in children:
        yield from _nodes(child, resolver, steps, depth + 1, any_key)


def read_by_clients(name: str) -> list[str]:
    """JSON paths of every field contract ``name`` marks ``x-read-by-clients`` (arrays at [0]).

    Fields under ``additionalProperties`` are left out: they have no key to read them at.
    """
    schema(name)  # an unknown name fails with the known ones
    marked = (path for path, node in schema_nodes(f"{name}.json") if node.get("x-read-by-clients"))
    paths = [path_of(0 if step == ANY_ELEMENT else step for step in path) for path in marked]
    return list(dict.fromkeys(paths))
