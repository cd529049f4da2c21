"""Where flowprobe's shipped files live: inside the installed package, else the source checkout.

A wheel carries the contracts, reference flows and locustfiles as ``flowprobe/<name>_data``, and
the suites as the importable package ``flowprobe.suites`` (so that ``pytest --pyargs
flowprobe.suites`` runs them from any folder); see ``[tool.hatch.build.targets.wheel.
force-include]``. An editable install of the checkout finds the same folders at the repository's
root. Nothing else in flowprobe works out paths relative to its own files.
"""

from __future__ import annotations

from pathlib import Path

from flowprobe.errors import FlowprobeError

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent.parent
# Folders the wheel keeps under another name than the checkout's.
_INSTALLED_NAMES = {"suites": "suites"}
FINDINGS_BASELINE = "langflow-1.13-findings.json"


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
