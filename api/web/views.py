"""What the pages show, shaped for the templates: links to entities, a failure's neighbourhood
for the graph drawing, and bar charts drawn as SVG on the server.

Nothing here reads the store; pages.py reads it through the service functions and passes
the results here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from lessons.graph.models import Label
from lessons.graph.reads import FailureGraph

# Pages of their own; other nodes (experiments, lessons, actions, documents, teams) are shown
# on their failure's page.
PAGE_OF_LABEL = {
    Label.FAILURE: "failures",
    Label.CAUSE: "causes",
    Label.PRACTICE: "practices",
    Label.COMPONENT: "components",
}

GRAPH_NODES = 80  # nodes drawn at first; "show more" doubles it


def href(label: Label | str, node_id: str) -> str | None:
    """The page of a node, or None if it has none of its own."""
    page = PAGE_OF_LABEL.get(Label(label))
    return f"/{page}/{quote(node_id, safe='')}" if page else None


def caption(properties: dict[str, Any], node_id: str) -> str:
    """A short name for a node: its title, name, hypothesis or text."""
    for key in ("title", "name", "hypothesis", "text"):
        value = properties.get(key)
        if isinstance(value, str) and value:
            return value if len(value) <= 60 else value[:57] + "..."
    return node_id


@dataclass(frozen=True)
class Drawing:
    """A failure's neighbourhood as Cytoscape elements, at most `shown` of `total` nodes."""

    elements: list[dict[str, Any]]
    shown: int
    total: int


def drawing(graph: FailureGraph, max_nodes: int) -> Drawing:
    """The failure first, then its nearest nodes in the order the store gave them, up to
    `max_nodes`, with the edges between the nodes kept."""
    nodes = sorted(graph.nodes, key=lambda n: n.id != graph.failure_id)[:max_nodes]
    kept = {n.id for n in nodes}
    elements: list[dict[str, Any]] = []
    for n in nodes:
        data = {"id": n.id, "label": caption(n.properties, n.id), "kind": str(n.label)}
        if (page := href(n.label, n.id)) is not None:
            data["href"] = page  # only nodes with a page have one (Cytoscape's `node[href]`)
        if n.id == graph.failure_id:
            data["focus"] = "yes"
        elements.append({"data": data})
    elements += [
        {"data": {"id": " ".join(e.key), "source": e.source, "target": e.target, "rel": str(e.rel)}}
        for e in graph.edges
        if e.source in kept and e.target in kept
    ]
    return Drawing(elements=elements, shown=len(nodes), total=len(graph.nodes))


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: what it counts, how many, its page, and its length (0-1)."""

    label: str
    value: float
    href: str | None
    share: float
    note: str = ""


def bars(
    items: Sequence[tuple[str, float, str | None]], *, note: str = "", top: int = 15
) -> list[Bar]:
    """Bars for (label, value, href) items, the longest for the largest value."""
    shown = list(items)[:top]
    most = max((value for _, value, _ in shown), default=0) or 1
    return [Bar(label, value, link, value / most, note) for label, value, link in shown]
