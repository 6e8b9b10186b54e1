"""The layers of docs/design.md ("The layers, and where a request goes"), checked on the
imports themselves: a module imports only what lies below it."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Top-level packages, deepest first: each may import only those before it.
PACKAGES = ["graph", "ingest", "api", "cli"]

# Modules of graph/, deepest first: each may import only those before it (graph/store/ is one
# layer: the protocol and its backends).
GRAPH_LAYERS = [
    "errors",
    "text",
    "memory",
    "faults",
    "settings",
    "models",
    "building",
    "onnx_runtime",
    "embeddings",
    "store",
    "session",
    "projection",
    "clusters",
    "timing",
    "export",
    "transfer",
    "resolution",
    "inputs",
    "reads",
    "facts",
    "search",
    "recognize",
    "sensemaking",
    "insights",
]


def lessons_imports(path: Path) -> set[tuple[str, str]]:
    """(package, module) of every `lessons.<package>.<module>` a file imports."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "lessons" and len(parts) >= 3 and parts[1] in PACKAGES:
                found.add((parts[1], parts[2]))
    return found


def test_packages_import_only_packages_below_them() -> None:
    for rank, package in enumerate(PACKAGES):
        for path in (REPO / package).rglob("*.py"):
            above = {p for p, _ in lessons_imports(path)} - set(PACKAGES[: rank + 1])
            assert not above, f"{path.relative_to(REPO)} imports lessons.{above} (above it)"


def test_graph_modules_import_only_layers_below_them() -> None:
    modules = {p.stem for p in (REPO / "graph").glob("*.py")} - {"__init__"} | {"store"}
    assert modules == set(GRAPH_LAYERS), "place every graph/ module in GRAPH_LAYERS"
    for path in [*(REPO / "graph").glob("*.py"), *(REPO / "graph" / "store").glob("*.py")]:
        own = "store" if path.parent.name == "store" else path.stem
        if own == "__init__":
            continue
        allowed = set(GRAPH_LAYERS[: GRAPH_LAYERS.index(own)]) | {own}
        imported = {m for p, m in lessons_imports(path) if p == "graph"} & set(GRAPH_LAYERS)
        assert imported <= allowed, (
            f"{path.relative_to(REPO)} imports {sorted(imported - allowed)}, above it"
        )
