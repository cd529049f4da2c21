"""The drift report: each change to the run API's answers, ranked, as text, Markdown or JSON.

See :mod:`flowprobe.drift.compare` for how changes are found, what is breaking and how
they are ranked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

from flowprobe.drift import shapes

REMOVED, RETYPED, ADDED, STATUS = "removed", "retyped", "added", "status"
_SEVERITY = {STATUS: 1, REMOVED: 2, RETYPED: 2, ADDED: 3}  # breaking ones come first, as 0
GONE, NEW = "(gone)", "(new)"


@dataclass(frozen=True, slots=True)
class Change:
    """One change: a path of one kind of answer added, removed or retyped, or a status changed.

    ``where`` is ``answer (STATUS)``, ``event KIND`` or ``status``; for a status change ``path``
    is the request and the types are the old and new status codes. ``calls`` counts the paired
    calls whose answer shows the change.
    """

    kind: str
    where: str
    path: str
    old_type: str
    new_type: str
    calls: int
    client_read: bool
    sample_read: bool
    breaking: bool
    requests: tuple[str, ...]
    rank: int = 0

    @classmethod
    def of_shape(
        cls,
        *,
        where: str,
        path: shapes.Path,
        before: frozenset[str],
        after: frozenset[str],
        calls: int,
        client_read: bool,
        request: str,
    ) -> Change:
        """A path whose types went from ``before`` to ``after`` (empty: absent)."""
        kind = ADDED if not before else REMOVED if not after else RETYPED
        # Narrowing (string|null -> string) breaks no reader; a type never seen before does.
        breaking = client_read and kind != ADDED and bool(after - before or not after)
        return cls(
            kind=kind,
            where=where,
            path=shapes.render(path),
            old_type=shapes.render_types(before) if before else NEW,
            new_type=shapes.render_types(after) if after else GONE,
            calls=calls,
            client_read=client_read,
            sample_read=where == "answer (200)" and shapes.read_by_samples(path),
            breaking=breaking,
            requests=(request,),
        )

    @classmethod
    def of_status(cls, request: str, old: int, new: int) -> Change:
        """A paired call answered ``new`` where it was answered ``old``."""
        return cls(
            kind=STATUS,
            where="status",
            path=request,
            old_type=str(old),
            new_type=str(new),
            calls=1,
            client_read=False,
            sample_read=False,
            breaking=200 <= old < 300 and not 200 <= new < 300,
            requests=(request,),
        )

    @property
    def severity(self) -> int:
        return 0 if self.breaking else _SEVERITY[self.kind]

    def readers(self) -> str:
        if self.sample_read:
            return "read by clients and by the API pane samples"
        return "read by clients" if self.client_read else "not marked as read by clients"


def _merged(changes: Iterable[Change]) -> list[Change]:
    """One change per (kind, where, path, types): calls summed over the requests showing it."""
    merged: dict[tuple[str, ...], Change] = {}
    for change in changes:
        key = (change.kind, change.where, change.path, change.old_type, change.new_type)
        if (seen := merged.get(key)) is None:
            merged[key] = change
            continue
        requests = tuple(sorted(set(seen.requests) | set(change.requests)))
        merged[key] = replace(seen, calls=seen.calls + change.calls, requests=requests)
    return list(merged.values())


def rank(changes: Iterable[Change]) -> tuple[Change, ...]:
    """Changes merged and ranked: severity, then calls affected, then read by the samples."""
    ordered = sorted(
        _merged(changes),
        key=lambda c: (c.severity, -c.calls, not c.sample_read, c.where, c.path),
    )
    return tuple(replace(change, rank=number) for number, change in enumerate(ordered, 1))


@dataclass(frozen=True, slots=True)
class DriftReport:
    """What changed from OLD to NEW, and whether any of it breaks clients."""

    old: str
    new: str
    paired: int
    changes: tuple[Change, ...]
    only_old: tuple[str, ...] = ()
    only_new: tuple[str, ...] = ()
    not_runs: int = 0  # OLD's calls that are not runs (GET /api/v1/flows/...): not compared

    @property
    def breaking(self) -> bool:
        return any(change.breaking for change in self.changes)

    @property
    def breaking_changes(self) -> list[Change]:
        return [change for change in self.changes if change.breaking]

    def summary(self) -> str:
        text = (
            f"{self.paired} calls paired ({len(self.only_old)} only in OLD, "
            f"{len(self.only_new)} only in NEW); {len(self.changes)} changes, "
            f"{len(self.breaking_changes)} breaking"
        )
        return text + (f"; {self.not_runs} other calls not compared" if self.not_runs else "")

    def verdict(self) -> str:
        if not self.breaking:
            return (
                "PASS: nothing clients read was removed or retyped, and no call stopped succeeding"
            )
        named = ", ".join(f"{c.path} ({c.kind})" for c in self.breaking_changes[:5])
        more = len(self.breaking_changes) - 5
        return f"FAIL: {len(self.breaking_changes)} breaking: {named}" + (
            f" and {more} more" if more > 0 else ""
        )

    def to_text(self) -> str:
        """The report for a terminal: one entry of two or three lines per change."""
        lines = [f"flowprobe drift: OLD {self.old}", f"                 NEW {self.new}"]
        lines += [self.summary(), ""]
        for change in self.changes:
            lines += _text_entry(change)
        lines += _unpaired("only in OLD (not fatal)", self.only_old)
        lines += _unpaired("only in NEW (not fatal)", self.only_new)
        lines.append(self.verdict())
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The report as a Markdown section with one table row per change."""
        lines = ["## Contract drift", "", f"OLD `{self.old}`, NEW `{self.new}`: {self.summary()}."]
        lines += ["", "| # | breaking | change | where | path | old | new | calls | readers |"]
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for c in self.changes:
            cells = [str(c.rank), "**yes**" if c.breaking else "", c.kind, c.where, f"`{c.path}`"]
            cells += [c.old_type, c.new_type, str(c.calls), c.readers()]
            lines.append("| " + " | ".join(cells) + " |")
        for title, calls in (("Only in OLD", self.only_old), ("Only in NEW", self.only_new)):
            lines += [f"\n{title}: " + ", ".join(f"`{c}`" for c in calls)] if calls else []
        return "\n".join([*lines, "", f"**{self.verdict()}**", ""])

    def to_json(self) -> str:
        """The report as JSON: every field of every change, and ``breaking``."""
        data = {
            "old": self.old,
            "new": self.new,
            "breaking": self.breaking,
            "paired": self.paired,
            "changes": [asdict(change) for change in self.changes],
            "only_old": list(self.only_old),
            "only_new": list(self.only_new),
            "not_runs": self.not_runs,
        }
        return json.dumps(data, indent=2)


def _text_entry(c: Change) -> list[str]:
    flag = "BREAKING" if c.breaking else " " * 8
    head = f"#{c.rank:<3} {flag} {c.kind:<7} {c.path}  ({c.old_type} -> {c.new_type})"
    if c.kind == STATUS:
        return [head, f"     in {c.calls} calls", ""]
    where = f"     in {c.where} of {c.calls} calls; {c.readers()}"
    return [head, where, "     " + ", ".join(c.requests), ""]


def _unpaired(title: str, calls: tuple[str, ...]) -> list[str]:
    return [f"{title}:", *(f"  {call}" for call in calls), ""] if calls else []
