"""flowprobe's JSON Schema contracts: the registry and validation (:mod:`.validation`) and the
OpenAPI document built from them (:mod:`.openapi`)."""

from __future__ import annotations

from flowprobe.contracts.validation import (
    ID_PREFIX,
    NAMES,
    REQUEST_CONTRACTS,
    Violation,
    check,
    contracts_dir,
    iter_violations,
    read_by_clients,
    registry,
    schema,
    validator,
    violations,
)

__all__ = [
    "ID_PREFIX",
    "NAMES",
    "REQUEST_CONTRACTS",
    "Violation",
    "check",
    "contracts_dir",
    "iter_violations",
    "read_by_clients",
    "registry",
    "schema",
    "validator",
    "violations",
]
