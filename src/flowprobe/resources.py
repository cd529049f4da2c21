"""Where flowprobe's shipped files live: inside the installed package, else the source checkout.

A wheel carries the contracts, reference flows, suites and locustfiles as ``flowprobe/<name>_data``
(see ``[tool.hatch.build.targets.wheel.force-include]``); an editable install of the checkout
finds the same folders at the repository's root. Nothing else in flowprobe works out paths
relative to its own files.
"""

from __future__ import annotations

from pathlib import Path

from flowprobe.errors import FlowprobeError

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent.parent


def locate(name: str) -> Path:
    """Where the folder ``name`` is (``contracts``, ``flows``, ``suites``, ``loadtests``), or,
    when neither place has it, where an installed package would keep it."""
    for candidate in (PACKAGE / f"{name}_data", CHECKOUT / name):
        if candidate.is_dir():
            return candidate
    return PACKAGE / f"{name}_data"


def shipped(name: str, *, what: str) -> Path:
    """The folder ``name``; a clear :class:`FlowprobeError` when it is missing."""
    found = locate(name)
    if found.is_dir():
        return found
    raise FlowprobeError(
        f"flowprobe's {what} are missing (looked for {PACKAGE / f'{name}_data'} and "
        f"{CHECKOUT / name}); reinstall flowprobe"
    )
