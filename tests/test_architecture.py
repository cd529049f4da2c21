"""The import graph of flowprobe's own package: no loops, and no arrow that points upward.

Layers, lowest first (docs/architecture.md): a module may import its own layer's modules only
within its own subpackage, and any lower layer. An arrow upward (the wire importing a verdict,
a verdict importing a load user) is how an architecture rots one convenient import at a time.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import flowprobe

PACKAGE = Path(flowprobe.__file__).resolve().parent
LAYERS = (
    {"errors", "jsonpath", "redaction", "resources", "settings", "target", "cassettes"},
    {"contracts"},
    {"wire"},
    {"checks"},
    {"drift", "samples", "local"},
    {"load"},
    {"gate"},
    {"deploycheck"},
    {"cli", "commands", "pytest_plugin", "__init__", "__main__"},
)

# Layers whose members may import each other: the small base modules, and the entry points.
OPEN = (0, len(LAYERS) - 1)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """flowprobe modules ``name`` imports, at any depth of the file (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            submodules = {f"{node.module}.{a.name}" for a in node.names}
            # `from flowprobe import contracts` imports the submodule, not the package's names
            found |= submodules if submodules & MODULES.keys() else {node.module}
    return {target for target in found if target in MODULES and target != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _area(name: str) -> str:
    """The subpackage or top-level module a module belongs to: ``wire``, ``cli``, ..."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(name: str) -> int:
    if name.endswith(".__main__"):  # `python -m ...` entry points are entry points
        return len(LAYERS) - 1
    area = _area(name)
    for index, layer in enumerate(LAYERS):
        if area in layer:
            return index
    raise AssertionError(f"{name} is in no layer: add {area!r} to LAYERS and the docs")


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        _layer(name)


def _against_layers(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for name, targets in graph.items():
        for target in targets:
            same_area = _area(name) == _area(target)
            if _layer(target) > _layer(name) or (
                _layer(target) == _layer(name) and not same_area and _layer(name) not in OPEN
            ):
                wrong.append(f"{name} -> {target}")
    return sorted(wrong)


def test_no_arrow_points_upward_or_sideways() -> None:
    wrong = _against_layers(GRAPH)
    assert wrong == [], "imports against the layers: " + ", ".join(wrong)


def test_no_import_loops() -> None:
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            raise AssertionError("import loop: " + " -> ".join((*trail, name)))
        if name in done:
            return
        for target in GRAPH[name]:
            # a package importing its own submodules to re-export them is not a loop
            if not target.startswith(name + "."):
                visit(target, (*trail, name))
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, ())


def test_the_checker_sees_an_upward_and_a_sideways_arrow() -> None:
    graph = {
        "flowprobe.wire.client": {"flowprobe.checks.answer", "flowprobe.errors"},
        "flowprobe.drift.compare": {"flowprobe.samples.render"},
        "flowprobe.checks.answer": {"flowprobe.wire.client"},
    }
    assert _against_layers(graph) == [
        "flowprobe.drift.compare -> flowprobe.samples.render",
        "flowprobe.wire.client -> flowprobe.checks.answer",
    ]


def _documented_layers() -> dict[int, set[str]]:
    """The layers as docs/architecture.md's table names them (top level: its modules)."""
    doc = (PACKAGE.parent.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    layers: dict[int, set[str]] = {}
    for row in doc.splitlines():
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            named = cells[2] if cells[1] == "top level" else cells[1]
            found = {name.rstrip("/") for name in re.findall(r"`([^`]+)`", named)}
            if cells[1] == "top level":  # only the module names, not what each owns
                found = {name for name in found if name.isidentifier()} & LAYERS[0]
            layers.setdefault(int(cells[0]), set()).update(found)
    return layers


def test_the_documented_layers_are_the_checked_ones() -> None:
    assert _documented_layers() == dict(enumerate(LAYERS))
