"""Contract drift between two recordings of the run API: what changed that clients read.

A :class:`Recording` is every run call of a cassette set (:func:`load_recording`), or the same
calls replayed against a live target (:func:`record_live`). :func:`compare` pairs the calls of
OLD and NEW by request (method, path with the flow written ``{flow}`` or ``{flow-id}``, the
``stream`` query, and the body as ``flowprobe.cassettes``'s body matcher compares it; repeated
requests pair in order), then, per kind of answer (the request, the status, and for a stream
each event kind: ``event token``, ``event end``, ...), diffs the union of the answers' JSON
shapes (:mod:`flowprobe.drift.shapes`): paths added, removed, or whose JSON type changed.

Breaking (the check fails): a path the contracts mark ``x-read-by-clients`` (or one on the way
to it) is removed, or retyped to a type it never had; or a call that succeeded (2xx) no longer
does. Ranking, best first: (1) breaking changes, (2) other status changes, (3) other removals
and retypings, (4) additions; within each, the change seen in more paired calls first, then the
one on a path the API pane's samples read (``outputs[0].outputs[0].results.message.text``, or
``outputs[0].outputs[0].outputs.message.message.text`` for JavaScript), then by path.
Calls only one side made are listed, never fatal. Calls other than runs are not compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flowprobe.drift import shapes
from flowprobe.drift.calls import Call, Recording
from flowprobe.drift.report import Change, DriftReport, rank

__all__ = ["Pairing", "compare", "pair_calls"]


@dataclass(slots=True)
class _Kind:
    """The answers of one kind of call, the OLD and NEW shape of each paired call."""

    request: str
    status: int
    where: str
    old: list[shapes.Shape] = field(default_factory=list)
    new: list[shapes.Shape] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Pairing:
    """OLD's and NEW's calls paired by request, and those only one side made."""

    pairs: list[tuple[Call, Call]]
    only_old: list[Call]
    only_new: list[Call]


def pair_calls(old: Recording, new: Recording) -> Pairing:
    """Each OLD call with the first NEW call not yet paired that makes the same request."""
    left = list(new.calls)
    pairs, only_old = [], []
    for call in old.calls:
        index = next((i for i, other in enumerate(left) if call.same_request(other)), None)
        if index is None:
            only_old.append(call)
        else:
            pairs.append((call, left.pop(index)))
    return Pairing(pairs, only_old, left)


def _by_part(call: Call) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for where, value in call.parts():
        grouped.setdefault(where, []).append(value)
    return grouped


def _kinds(pairs: Iterable[tuple[Call, Call]]) -> list[_Kind]:
    kinds: dict[tuple[str, int, str], _Kind] = {}
    for old, new in pairs:
        if old.status != new.status:
            continue  # reported as a status change; its bodies are not the same kind of answer
        old_parts, new_parts = _by_part(old), _by_part(new)
        for where in sorted(old_parts.keys() | new_parts.keys()):
            key = (old.request, old.status, where)
            kind = kinds.setdefault(key, _Kind(*key))
            kind.old.append(shapes.merge(old_parts.get(where, [])))
            kind.new.append(shapes.merge(new_parts.get(where, [])))
    return list(kinds.values())


def _client_read(kind: _Kind) -> frozenset[shapes.Path]:
    if kind.status != 200:
        return frozenset()
    if kind.where == "answer" and not kind.request.endswith("stream=true"):
        return shapes.client_read_paths("run-response.json")
    event = kind.where.removeprefix("event ")
    if kind.where.startswith("event ") and event in shapes.stream_event_kinds():
        return shapes.client_read_paths(f"stream-event.json#/$defs/{event}")
    return frozenset()


def _kind_changes(kind: _Kind) -> Iterator[Change]:
    old, new = shapes.union(kind.old), shapes.union(kind.new)
    read = _client_read(kind)
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path, frozenset()), new.get(path, frozenset())
        if before == after:
            continue
        side = kind.new if not before else kind.old
        yield Change.of_shape(
            where=f"{kind.where} ({kind.status})" if kind.where == "answer" else kind.where,
            path=path,
            before=before,
            after=after,
            calls=sum(path in shape for shape in side),
            client_read=shapes.is_read(path, read),
            request=kind.request,
        )


def _status_changes(pairs: Iterable[tuple[Call, Call]]) -> Iterator[Change]:
    for old, new in pairs:
        if old.status != new.status:
            yield Change.of_status(old.request, old.status, new.status)


def compare(old: Recording, new: Recording) -> DriftReport:
    """What changed from ``old`` to ``new``, ranked (see the module docstring)."""
    pairing = pair_calls(old, new)
    pairs = pairing.pairs
    changes = [*_status_changes(pairs), *(c for k in _kinds(pairs) for c in _kind_changes(k))]
    return DriftReport(
        old=old.origin,
        new=new.origin,
        paired=len(pairs),
        changes=rank(changes),
        only_old=tuple(f"{c.request} ({c.source})" for c in pairing.only_old),
        only_new=tuple(f"{c.request} ({c.source})" for c in pairing.only_new),
        not_runs=old.skipped,
    )
