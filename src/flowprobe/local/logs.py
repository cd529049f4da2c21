"""The local target's log files, as an error message shows them: their last lines, indented."""

from __future__ import annotations

from pathlib import Path


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` of the log at ``path``, indented; ``(no log)`` if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])
