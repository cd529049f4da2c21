"""Where flowprobe's shipped files live: inside the installed package, else the source checkout.

A wheel carries the contracts, reference flows and locustfiles as ``flowprobe/<name>_data``, and
the suites as the importable package ``flowprobe.suites`` (so that ``pytest --pyargs
flowprobe.suites`` runs them from any folder); see ``[tool.hatch.build.targets.wheel.
force-include]``. An editable install of the checkout finds the same folders at the repository's
root. Nothing else in flowprobe works out paths relative to its own files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flowprobe.errors import FlowprobeError

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent.parent
# Folders the wheel keeps under another name than the checkout's.
_INSTALLED_NAMES = {"suites": "suites"}
# The findings baseline for a target whose Langflow version is not known.
FINDINGS_BASELINE = "langflow-1.13-findings.json"
_BASELINE_FILE = re.compile(r"^langflow-(\d+)\.(\d+)-findings\.json$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


def _installed(name: str) -> Path:
    return PACKAGE / _INSTALLED_NAMES.get(name, f"{name}_data")


def locate(name: str) -> Path:
    """Where the folder ``name`` is (``contracts``, ``flows``, ``suites``, ``loadtests``), or,
    when neither place has it, where an installed package would keep it."""
    for candidate in (_installed(name), CHECKOUT / name):
        if candidate.is_dir():
            return candidate
    return _installed(name)


def shipped(name: str, *, what: str) -> Path:
    """The folder ``name``; a clear :class:`FlowprobeError` when it is missing."""
    found = locate(name)
    if found.is_dir():
        return found
    raise FlowprobeError(
        f"flowprobe's {what} are missing (looked for {_installed(name)} and "
        f"{CHECKOUT / name}); reinstall flowprobe"
    )


def findings_baseline() -> Path:
    """The findings baseline shipped beside the suites: used when none is configured."""
    return locate("suites") / FINDINGS_BASELINE


@dataclass(frozen=True, slots=True)
class BaselineChoice:
    """The findings baseline picked for a Langflow version (None: accept no finding), and one
    sentence saying which and why."""

    path: Path | None
    note: str


def findings_baselines() -> dict[tuple[int, int], Path]:
    """The shipped findings baselines, by Langflow (major, minor)."""
    found = {}
    folder = locate("suites")
    for path in folder.glob("langflow-*-findings.json") if folder.is_dir() else ():
        match = _BASELINE_FILE.match(path.name)
        if match:
            found[(int(match[1]), int(match[2]))] = path
    return found


def findings_baseline_for(version: str | None, *, unknown_because: str = "") -> BaselineChoice:
    """The shipped baseline for Langflow ``version`` by major.minor. A version with none of its
    own gets the nearest older one (findings usually outlive a release; the note says so), or
    none when it predates them all; an unknown version gets the default."""
    match = _VERSION.match(version.strip()) if version else None
    if match is None:
        why = unknown_because or f"Langflow version {version!r} is not major.minor"
        return BaselineChoice(findings_baseline(), f"{FINDINGS_BASELINE} (the default: {why})")
    wanted = (int(match[1]), int(match[2]))
    shipped = findings_baselines()
    if wanted in shipped:
        return BaselineChoice(shipped[wanted], f"{shipped[wanted].name} (Langflow {version})")
    older = [release for release in shipped if release < wanted]
    if older:
        nearest = shipped[max(older)]
        return BaselineChoice(
            nearest,
            f"{nearest.name}: no findings baseline for Langflow {version}, so the nearest "
            "older one; pass a baseline of your own to review its findings",
        )
    return BaselineChoice(
        None,
        f"none: no findings baseline for Langflow {version} or older, so every finding is "
        "new; pass a baseline of your own to accept some",
    )
