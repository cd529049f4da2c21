"""JSON paths as flowprobe writes them (``$.outputs[0].results``): build, read, and shorten.

The one walker every part of flowprobe uses to read a value at a path, and the one way a value
is shortened for a message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def path_of(steps: Iterable[str | int], root: str = "$") -> str:
    """``$.outputs[0].results`` from the steps ``("outputs", 0, "results")``."""
    return root + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in steps)


def steps_of(path: str) -> tuple[str | int, ...]:
    """The steps of ``$.a[0].b``: ``("a", 0, "b")``."""
    return tuple(int(index) if index else key for key, index in _STEP.findall(path.lstrip("$")))


def value_at(instance: Any, path: str | Iterable[str | int]) -> Any:
    """The value at ``path`` (``$.a[0].b`` or its steps); LookupError when it is not there."""
    steps = steps_of(path) if isinstance(path, str) else tuple(path)
    value = instance
    for step in steps:
        # A key reads only an object and an index only an array: "abc"[0] is no JSON step.
        found = isinstance(value, Mapping) if isinstance(step, str) else isinstance(value, list)
        if not found or (isinstance(step, str) and step not in value):
            raise LookupError(f"{_shown(path)}: nothing at {step!r}")
        if isinstance(step, int) and not -len(value) <= step < len(value):
            raise LookupError(f"{_shown(path)}: nothing at [{step}]")
        value = value[step]
    return value


def _shown(path: str | Iterable[str | int]) -> str:
    return path if isinstance(path, str) else path_of(path)


def value_or_none(instance: Any, path: str | Iterable[str | int]) -> Any:
    """The value at ``path``, or None when it is not there."""
    try:
        return value_at(instance, path)
    except LookupError:
        return None


def shorten(value: Any, limit: int = 160, *, as_json: bool = False) -> str:
    """``value`` as one line of at most ``limit`` characters; strings stay bare unless
    ``as_json``, anything else is JSON."""
    if isinstance(value, str) and not as_json:
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
