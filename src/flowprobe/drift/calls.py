"""Run calls as recorded: a cassette set read into :class:`Recording` of :class:`Call`.

Only run calls (``/api/v1/run/{flow}``) are kept; their path is written with the flow as
``{flow}`` (the recording's flow name, from ``target.json``) or ``{flow-id}`` (a UUID), so that
the same call pairs up between two servers. A call's answer is read in parts: the JSON answer,
or each event of a stream, parsed with :mod:`flowprobe.wire.stream`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from flowprobe.cassettes import body_matcher
from flowprobe.drift import shapes
from flowprobe.errors import FlowprobeError
from flowprobe.wire.stream import parse_all

__all__ = ["Call", "Recording", "load_recording", "normal_path"]

RUN_PREFIX = "/api/v1/run/"


@dataclass(frozen=True, slots=True)
class Call:
    """One run call: the request as recorded (secrets scrubbed) and the answer it got."""

    method: str
    path: str  # e.g. /api/v1/run/{flow}; the recorded URL's path is in ``url_path``
    url_path: str
    query: str
    body: bytes
    headers: Mapping[str, str]
    status: int
    answer: bytes
    source: str

    @property
    def stream(self) -> str:
        return dict(parse_qsl(self.query)).get("stream", "")

    @property
    def request(self) -> str:
        """``POST /api/v1/run/{flow}?stream=false``: what pairs and groups calls."""
        return f"{self.method} {self.path}?stream={self.stream}"

    def same_request(self, other: Call) -> bool:
        """Whether ``other`` is this call made again: same request line and matching body."""
        if self.request != other.request:
            return False
        try:
            body_matcher(self, other)
        except AssertionError:
            return False
        return True

    def parts(self) -> Iterator[tuple[str, Any]]:
        """Each readable piece of the answer: ``("answer", json)`` or ``("event end", record)``."""
        if self.stream == "true" and self.status == 200:
            events, _ = parse_all(self.answer)
            if events:
                for event in events:
                    yield f"event {event.event}", {"event": event.event, "data": event.data}
                return
        try:
            yield "answer", json.loads(self.answer)
        except (json.JSONDecodeError, UnicodeDecodeError):
            yield "answer", shapes.NOT_JSON


@dataclass(frozen=True, slots=True)
class Recording:
    """The run calls of one cassette set or one live replay, in the order they were made."""

    origin: str
    flow: str | None
    calls: tuple[Call, ...]
    skipped: int = 0  # recorded interactions that are not run calls


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def normal_path(url_path: str, flow: str | None) -> str | None:
    """The run path with the flow written ``{flow}`` (its name) or ``{flow-id}`` (a UUID);
    ``None`` for a call that is not a run. A hosted ``/lf/{id}`` prefix is dropped."""
    _, found, segment = url_path.partition(RUN_PREFIX)
    if not found or "/" in segment:
        return None
    if segment == flow:
        segment = "{flow}"
    elif _is_uuid(segment):
        segment = "{flow-id}"
    return RUN_PREFIX + segment


def _read_cassette(path: Path, flow: str | None, source: str) -> list[Call | None]:
    """Each interaction of one cassette as a run call, or None where it is some other call."""
    try:
        requests, responses = deserialize(path.read_text(encoding="utf-8"), yamlserializer)[:2]
        return [_call(q, r, flow, source) for q, r in zip(requests, responses, strict=True)]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise FlowprobeError(f"{path} is not a vcrpy cassette ({type(exc).__name__})") from None


def _reads_an_uploaded_file(body: bytes) -> bool:
    """Whether a run's tweaks name a file path: one uploaded earlier in the recording, which a
    replay does not upload again, so the run's answer depends on state a replay lacks."""
    try:
        tweaks = json.loads(body or b"{}").get("tweaks")
    except (ValueError, AttributeError):
        return False
    fields = tweaks.values() if isinstance(tweaks, dict) else ()
    return any(isinstance(f, dict) and ("path" in f or "file_path" in f) for f in fields)


def _call(request: Any, response: Mapping[str, Any], flow: str | None, source: str) -> Call | None:
    url = urlsplit(request.uri)
    path = normal_path(url.path, flow)
    if path is None or _reads_an_uploaded_file(request.body or b""):
        return None
    return Call(
        method=request.method,
        path=path,
        url_path=url.path,
        query=url.query,
        body=request.body or b"",
        headers={k.lower(): str(v) for k, v in request.headers.items()},
        status=int(response["status"]["code"]),
        answer=response["body"]["string"] or b"",
        source=source,
    )


def _recorded_flow(directory: Path) -> str | None:
    try:
        return str(json.loads((directory / "target.json").read_text(encoding="utf-8"))["flow"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_recording(directory: Path) -> Recording:
    """Every run call of the cassette set in ``directory`` (its ``*.yaml``, sorted by name)."""
    if not directory.is_dir():
        raise FlowprobeError(f"{directory} is not a folder of cassettes")
    flow = _recorded_flow(directory)
    calls: list[Call] = []
    skipped = 0
    for path in sorted(directory.rglob("*.yaml")):
        for call in _read_cassette(path, flow, str(path.relative_to(directory))):
            skipped += call is None
            calls += [call] if call else []
    if not calls:
        raise FlowprobeError(
            f"{directory} is not a cassette set: no run call in its *.yaml files "
            "(write one with `flowprobe record`)"
        )
    return Recording(origin=str(directory), flow=flow, calls=tuple(calls), skipped=skipped)
