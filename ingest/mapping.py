"""Canonical records -> the nodes and edges of the knowledge graph.

Per-failure parts (experiments, lessons, actions) get ids under the failure's id; causes,
components, teams and practices are shared entities whose ids come from their normalised
names, so two documents naming the same cause point at one `Cause` node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lessons.graph.models import (
    Action,
    Cause,
    Component,
    Document,
    Edge,
    Experiment,
    Failure,
    Label,
    Lesson,
    Node,
    Practice,
    PracticeStatus,
    RelType,
    Team,
    entity_id,
    failure_id,
)
from lessons.graph.store import DocumentGraph
from lessons.ingest.record import PostmortemRecord, SourceSpan


@dataclass
class _Builder:
    """Collects nodes (first one per id wins) and edges (first one per key wins)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)
    named_only: set[str] = field(default_factory=set)  # causes and practices only referred to
    defined: set[str] = field(default_factory=set)

    def node(self, node: Node) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def edge(self, edge: Edge) -> None:
        self.edges.setdefault(edge.key, edge)

    def cause(self, name: str, description: str | None = None, *, defined: bool = False) -> str:
        """A cause the document describes (`defined`) or only refers to (tests, addresses)."""
        cause_id = self.node(
            Cause(id=entity_id(Label.CAUSE, name), name=name, description=description)
        )
        (self.defined if defined else self.named_only).add(cause_id)
        return cause_id

    def practice(self, name: str) -> str:
        """A practice the document only refers to (a lesson's `adopted_as`, `implements`)."""
        practice_id = entity_id(Label.PRACTICE, name)
        if practice_id not in self.nodes:
            self.node(Practice(id=practice_id, name=name, status=PracticeStatus.ADOPTED))
        self.named_only.add(practice_id)
        return practice_id


def record_failure_id(record: PostmortemRecord, default: str) -> str:
    """The failure id of a record: its own `id`, else `default` (from the file name)."""
    return failure_id(record.id or default)


def build_document_graph(
    document: Document, records: list[tuple[str, PostmortemRecord]]
) -> DocumentGraph:
    """The graph a document's records describe; `records` pairs each record with its failure id.

    Recurrence links are kept on each `Failure` as `recurrence_of`; the pipeline turns them
    into edges once their targets exist (they may be imported later).
    """
    graph = _Builder()
    for fid, record in records:
        _add_record(graph, fid, record, document.id)
    return DocumentGraph(
        document=document,
        nodes=list(graph.nodes.values()),
        edges=list(graph.edges.values()),
        named_only=graph.named_only - graph.defined,
    )


def _add_record(graph: _Builder, fid: str, record: PostmortemRecord, document_id: str) -> None:
    graph.node(
        Failure(
            id=fid,
            title=record.title,
            summary=record.summary,
            occurred_at=record.occurred_at,
            detected_by=record.detected_by,
            severity=record.severity,
            status=record.status,
            impact=record.impact,
            detection=record.detection,
            resolution=record.resolution,
            tags=tuple(record.tags),
            timeline=tuple(f"{e.at} {e.event}".strip() for e in record.timeline),
            went_well=tuple(record.went_well),
            lucky=tuple(record.lucky),
            recurrence_of=tuple(failure_id(target) for target in record.recurrence_of),
            notes=record.notes,
        )
    )
    graph.edge(Edge(source=fid, rel=RelType.DOCUMENTED_IN, target=document_id))
    for cause in record.causes:
        cause_id = graph.cause(cause.name, cause.description, defined=True)
        graph.edge(
            Edge(
                source=fid,
                rel=RelType.CAUSED_BY,
                target=cause_id,
                role=cause.role,
                status=cause.status,
                evidence=cause.evidence,
                **_where(cause.source),
            )
        )
    for component in record.components:
        component_id = graph.node(
            Component(id=entity_id(Label.COMPONENT, component.name), name=component.name)
        )
        graph.edge(
            Edge(source=fid, rel=RelType.AFFECTED, target=component_id, **_where(component.source))
        )
    if record.team:
        team_id = graph.node(Team(id=entity_id(Label.TEAM, record.team), name=record.team))
        graph.edge(Edge(source=fid, rel=RelType.OWNED_BY, target=team_id))
    for number, exp in enumerate(record.experiments, start=1):
        experiment_id = graph.node(
            Experiment(
                id=f"{fid}/experiment-{number}",
                hypothesis=exp.hypothesis,
                method=exp.method,
                outcome=exp.outcome,
                finding=exp.finding,
            )
        )
        graph.edge(
            Edge(
                source=fid,
                rel=RelType.INVESTIGATED_BY,
                target=experiment_id,
                **_where(exp.source),
            )
        )
        for name in exp.tested_causes:
            graph.edge(Edge(source=experiment_id, rel=RelType.TESTED, target=graph.cause(name)))
    for practice in record.practices:
        practice_id = entity_id(Label.PRACTICE, practice.name)
        graph.defined.add(practice_id)
        graph.nodes[practice_id] = Practice(
            id=practice_id,
            name=practice.name,
            description=practice.description,
            status=practice.status,
            adopted_at=practice.adopted_at,
        )
        for name in practice.addresses:
            graph.edge(Edge(source=practice_id, rel=RelType.ADDRESSES, target=graph.cause(name)))
    taught: set[str] = set()
    for number, lesson in enumerate(record.lessons, start=1):
        lesson_id = graph.node(Lesson(id=f"{fid}/lesson-{number}", text=lesson.text))
        graph.edge(Edge(source=fid, rel=RelType.TAUGHT, target=lesson_id, **_where(lesson.source)))
        for name in lesson.adopted_as:
            practice_id = graph.practice(name)
            taught.add(practice_id)
            graph.edge(Edge(source=lesson_id, rel=RelType.ADOPTED_AS, target=practice_id))
    for practice in record.practices:
        # A practice no lesson names is still something this failure taught.
        practice_id = entity_id(Label.PRACTICE, practice.name)
        if practice_id not in taught:
            taught.add(practice_id)
            lesson_id = graph.node(
                Lesson(
                    id=f"{fid}/lesson-for-{practice_id.split(':', 1)[1]}",
                    text=practice.description or practice.name,
                )
            )
            where = _where(practice.source)
            graph.edge(Edge(source=fid, rel=RelType.TAUGHT, target=lesson_id, **where))
            graph.edge(Edge(source=lesson_id, rel=RelType.ADOPTED_AS, target=practice_id, **where))
    for number, action in enumerate(record.actions, start=1):
        action_id = graph.node(
            Action(
                id=f"{fid}/action-{number}",
                text=action.text,
                owner=action.owner,
                status=action.status,
                due=action.due,
            )
        )
        graph.edge(
            Edge(source=fid, rel=RelType.HAS_ACTION, target=action_id, **_where(action.source))
        )
        if action.implements:
            practice_id = graph.practice(action.implements)
            graph.edge(Edge(source=action_id, rel=RelType.IMPLEMENTS, target=practice_id))


def _where(source: SourceSpan | None) -> dict[str, Any]:
    """Edge properties saying where in its document an item was read."""
    if source is None:
        return {}
    return {"section": source.section or None, "lines": (source.line_start, source.line_end)}
