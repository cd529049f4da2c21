"""JSON shapes: which paths an answer has and the JSON type at each, and which paths clients read.

A shape maps each path of a decoded JSON value to the set of JSON types seen there. A path is a
tuple of steps: an object key, or ``[]`` for any element of an array (indexes are dropped, so
``outputs[0].outputs[1]`` and ``outputs[1].outputs[0]`` are one path, ``outputs[].outputs[]``).
The empty tuple is the answer itself.

The paths clients read come from the contracts: a property marked ``"x-read-by-clients": true``
in ``contracts/*.json``, found by the contracts' one walker
(:func:`flowprobe.contracts.validation.schema_nodes`), here also into ``additionalProperties``
(any key, ``*``). The objects on the way to a marked path are read too: a client cannot reach
``results.message.text`` once ``results`` is a list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from flowprobe import contracts
from flowprobe.contracts.validation import ANY_ELEMENT, ANY_KEY, schema_nodes
from flowprobe.wire.answer_paths import PANE_JAVASCRIPT_TEXT, RESULTS_TEXT, Steps

Path = tuple[str, ...]
Shape = dict[Path, frozenset[str]]


def pattern_of(steps: Steps) -> Path:
    """The shape path of an access path: each index becomes any element (``[]``)."""
    return tuple(ANY_ELEMENT if isinstance(step, int) else step for step in steps)


# Where the API pane's samples read the answer's text (DESIGN.md): JavaScript, and most clients.
SAMPLE_PATHS: tuple[Path, ...] = (pattern_of(PANE_JAVASCRIPT_TEXT), pattern_of(RESULTS_TEXT))


class _NotJson:
    """Stands for an answer that is not JSON at all (its type is ``text``)."""

    def __repr__(self) -> str:
        return "NOT_JSON"


NOT_JSON: Any = _NotJson()


def json_type(value: Any) -> str:
    """The JSON type of a decoded value: object, array, string, number, boolean or null."""
    if value is NOT_JSON:
        return "text"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _walk(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    yield path, json_type(value)
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, (*path, str(key)))
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child, (*path, ANY_ELEMENT))


def merge(values: Iterable[Any]) -> Shape:
    """The union of the shapes of ``values``: each path with every type seen at it."""
    seen: dict[Path, set[str]] = {}
    for value in values:
        for path, kind in _walk(value, ()):
            seen.setdefault(path, set()).add(kind)
    return {path: frozenset(kinds) for path, kinds in seen.items()}


def union(many: Iterable[Shape]) -> Shape:
    """The union of shapes: each path with every type any of them has there."""
    seen: dict[Path, frozenset[str]] = {}
    for shape in many:
        for path, kinds in shape.items():
            seen[path] = seen.get(path, frozenset()) | kinds
    return seen


def render(path: Path) -> str:
    """``outputs[].outputs[].results.message.text``; the answer itself is ``(whole answer)``."""
    text = ""
    for step in path:
        text += step if step == ANY_ELEMENT or not text else "." + step
    return text or "(whole answer)"


def render_types(types: frozenset[str]) -> str:
    return "|".join(sorted(types)) if types else "-"


@cache
def client_read_paths(reference: str) -> frozenset[Path]:
    """Paths read by clients in the schema at ``reference``, e.g. ``run-response.json`` or
    ``stream-event.json#/$defs/token``, with every path on the way to them."""
    nodes = schema_nodes(reference, any_key=True)
    marked = {path for path, node in nodes if node.get("x-read-by-clients") is True}
    return frozenset(path[:end] for path in marked for end in range(len(path) + 1))


def stream_event_kinds() -> frozenset[str]:
    """The event kinds the stream-event contract describes (``token``, ``end``, ...)."""
    return frozenset(contracts.schema("stream-event").get("$defs", {}))


def _matches(path: Path, pattern: Path) -> bool:
    if len(path) != len(pattern):
        return False
    steps = zip(path, pattern, strict=True)
    return all(p == step or (p == ANY_KEY and step != ANY_ELEMENT) for step, p in steps)


def is_read(path: Path, patterns: Iterable[Path]) -> bool:
    """Whether ``path`` is one of ``patterns`` (``*`` standing for any key)."""
    return any(_matches(path, pattern) for pattern in patterns)


def read_by_samples(path: Path) -> bool:
    """Whether the API pane's samples read ``path`` or go through it to reach the text."""
    return any(sample[: len(path)] == path for sample in SAMPLE_PATHS)
