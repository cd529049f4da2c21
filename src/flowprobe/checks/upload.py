"""Named checks of an upload's answer (see :mod:`flowprobe.wire.upload` for the upload itself).

:func:`uploaded_violations` and :func:`refused_violations` judge an answer already read, without
raising and without I/O; :func:`check_uploaded` and :func:`check_refused` raise the first.
"""

from __future__ import annotations

from typing import Any

from flowprobe.checks.verdict import (
    CONTRACT,
    Violation,
    contract_violations,
    http_kind,
    raise_first,
    status_violations,
    violation,
)
from flowprobe.wire.client import RunResult


def uploaded_violations(status: int, body: Any, text: str, flow_id: str) -> list[Violation]:
    """How an accepted upload's answer breaks its promises: not a 201, not the contract, or a
    ``flowId`` other than ``flow_id``."""
    found = status_violations(status, 201, "an accepted upload answers 201", text or None)
    found = found or contract_violations("upload-response", body)
    if found or body["flowId"] == flow_id:
        return found
    return [
        violation(
            "an upload answer names the flow the file was uploaded for",
            CONTRACT,
            path="$.flowId",
            expected=flow_id,
            received=body["flowId"],
        )
    ]


def check_uploaded(result: RunResult, flow_id: str) -> str:
    """The path an accepted upload answered, after checking its status, contract and flow."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    raise_first(uploaded_violations(result.status, result.body, result.text, flow_id))
    return str(result.body["file_path"])


def refused_violations(
    status: int, body: Any, text: str, statuses: tuple[int, ...], promise: str
) -> list[Violation]:
    """How a refusal breaks ``promise``: a status not in ``statuses``, or no error body."""
    if status not in statuses:
        expected = " or ".join(map(str, statuses))
        received = f"{status} {text[:160]}"
        return [
            violation(
                promise, http_kind(status), path="HTTP status", expected=expected, received=received
            )
        ]
    return contract_violations("error", body)


def check_refused(result: RunResult, statuses: tuple[int, ...], promise: str) -> None:
    """A refused upload: one of ``statuses``, an error body, and no file path."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    raise_first(refused_violations(result.status, result.body, result.text, statuses, promise))
