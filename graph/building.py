"""The one way a failure's facts become nodes and edges, for the import and for facts written
by hand (`graph/facts.py`), so both follow the same rules:

- a node is kept once per id, the first time it is given; an edge once per (source, type,
  target), the first time too: a document that names a cause twice keeps the role it gave
  it first, and so does a request;
- a practice that is only *named* (what a lesson was adopted as, what an action implements,
  one adopted by hand) is `adopted`; one *described* with a status keeps it, and a described
  practice has `proposed` by default (`Practice`'s default);
- a practice no lesson of the failure names is still something the failure taught: a lesson
  that says it is added (`lesson_for_practice`);
- a failure is built from the fields callers and documents share (`failure_node`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lessons.graph.models import (
    Cause,
    Component,
    Edge,
    Failure,
    Label,
    Lesson,
    Node,
    Practice,
    PracticeStatus,
    RelType,
    Team,
    entity_id,
)

# The properties a failure takes from whoever describes it (a document or a caller).
FAILURE_FIELDS = (
    "title",
    "summary",
    "occurred_at",
    "detected_by",
    "severity",
    "status",
    "impact",
    "detection",
    "resolution",
    "tags",
)


def failure_node(failure_id: str, fields: Mapping[str, Any], **more: Any) -> Failure:
    """A failure from the `FAILURE_FIELDS` in `fields` (others are left out) and `more`; a
    naive `occurred_at` is taken as UTC."""
    given = {k: fields[k] for k in FAILURE_FIELDS if k in fields}
    when = given.get("occurred_at")
    if isinstance(when, datetime) and when.tzinfo is None:
        given["occurred_at"] = when.replace(tzinfo=UTC)
    given["tags"] = tuple(given.get("tags") or ())
    return Failure(id=failure_id, **given, **more)


@dataclass
class GraphBuilder:
    """Nodes and edges of one write, collected by the rules above; `named_only` are the
    shared entities only referred to (their stored properties are kept), `defined` those a
    document describes."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)
    named_only: set[str] = field(default_factory=set)
    defined: set[str] = field(default_factory=set)

    def node(self, node: Node) -> str:
        """Add a node (the first one with its id stays); its id."""
        self.nodes.setdefault(node.id, node)
        return node.id

    def edge(self, edge: Edge) -> None:
        """Add an edge (the first one between the same nodes with the same type stays)."""
        self.edges.setdefault(edge.key, edge)

    def entity(self, label: Label, name: str, **properties: Any) -> str:
        """The id of the shared entity named `name`, added as new with `properties` (a
        practice only named is adopted)."""
        node_id = entity_id(label, name)
        if node_id in self.nodes:
            return node_id
        given = {k: v for k, v in properties.items() if v is not None}
        if label is Label.CAUSE:
            return self.node(Cause(id=node_id, name=name, **given))
        if label is Label.PRACTICE:
            given.setdefault("status", PracticeStatus.ADOPTED)
            return self.node(Practice(id=node_id, name=name, **given))
        if label is Label.COMPONENT:
            return self.node(Component(id=node_id, name=name))
        return self.node(Team(id=node_id, name=name))

    def named(self, label: Label, name: str) -> str:
        """A shared entity the document only refers to (a tested cause, an adopted practice)."""
        node_id = self.entity(label, name)
        self.named_only.add(node_id)
        return node_id

    def described(self, node: Node) -> str:
        """A shared entity the document describes: it replaces one only named before."""
        self.nodes[node.id] = node
        self.defined.add(node.id)
        return node.id

    def lesson_for_practice(
        self, failure_id: str, lesson_id: str, practice_id: str, text: str, **where: Any
    ) -> None:
        """A lesson `lesson_id` of the failure that says `text`, adopted as the practice."""
        self.node(Lesson(id=lesson_id, text=text))
        self.edge(Edge(source=failure_id, rel=RelType.TAUGHT, target=lesson_id, **where))
        self.edge(Edge(source=lesson_id, rel=RelType.ADOPTED_AS, target=practice_id, **where))
