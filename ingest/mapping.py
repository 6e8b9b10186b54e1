"""Canonical records -> the nodes and edges of the knowledge graph.

Per-failure parts (experiments, lessons, actions) get ids under the failure's id; causes,
components, teams and practices are shared entities whose ids come from their normalised
names, so two documents naming the same cause point at one `Cause` node.
"""

from __future__ import annotations

from typing import Any

from lessons.graph.building import GraphBuilder, failure_node
from lessons.graph.models import (
    Action,
    Document,
    Edge,
    Experiment,
    Label,
    Lesson,
    Practice,
    RelType,
    entity_id,
    failure_id,
)
from lessons.graph.store import DocumentGraph
from lessons.ingest.record import PostmortemRecord, SourceSpan


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
    graph = GraphBuilder()
    for fid, record in records:
        _add_record(graph, fid, record, document.id)
    return DocumentGraph(
        document=document,
        nodes=list(graph.nodes.values()),
        edges=list(graph.edges.values()),
        named_only=graph.named_only - graph.defined,
    )


def _add_record(graph: GraphBuilder, fid: str, record: PostmortemRecord, document_id: str) -> None:
    graph.node(
        failure_node(
            fid,
            dict(record),
            timeline=tuple(f"{e.at} {e.event}".strip() for e in record.timeline),
            went_well=tuple(record.went_well),
            lucky=tuple(record.lucky),
            recurrence_of=tuple(failure_id(target) for target in record.recurrence_of),
            notes=record.notes,
        )
    )
    graph.edge(Edge(source=fid, rel=RelType.DOCUMENTED_IN, target=document_id))
    _add_causes_and_context(graph, fid, record)
    _add_experiments(graph, fid, record)
    _add_lessons_and_practices(graph, fid, record)
    _add_actions(graph, fid, record)


def _add_causes_and_context(graph: GraphBuilder, fid: str, record: PostmortemRecord) -> None:
    """The record's causes (described), components and team."""
    for cause in record.causes:
        cause_id = graph.entity(Label.CAUSE, cause.name, description=cause.description)
        graph.defined.add(cause_id)
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
        component_id = graph.entity(Label.COMPONENT, component.name)
        graph.edge(
            Edge(source=fid, rel=RelType.AFFECTED, target=component_id, **_where(component.source))
        )
    if record.team:
        team_id = graph.entity(Label.TEAM, record.team)
        graph.edge(Edge(source=fid, rel=RelType.OWNED_BY, target=team_id))


def _add_experiments(graph: GraphBuilder, fid: str, record: PostmortemRecord) -> None:
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
            cause_id = graph.named(Label.CAUSE, name)
            graph.edge(Edge(source=experiment_id, rel=RelType.TESTED, target=cause_id))


def _add_lessons_and_practices(graph: GraphBuilder, fid: str, record: PostmortemRecord) -> None:
    """The practices the record describes, its lessons with the practices they were adopted
    as, and a lesson for each described practice no lesson names."""
    for practice in record.practices:
        practice_id = graph.described(
            Practice(
                id=entity_id(Label.PRACTICE, practice.name),
                name=practice.name,
                description=practice.description,
                status=practice.status,
                adopted_at=practice.adopted_at,
            )
        )
        for name in practice.addresses:
            cause_id = graph.named(Label.CAUSE, name)
            graph.edge(Edge(source=practice_id, rel=RelType.ADDRESSES, target=cause_id))
    taught: set[str] = set()
    for number, lesson in enumerate(record.lessons, start=1):
        lesson_id = graph.node(Lesson(id=f"{fid}/lesson-{number}", text=lesson.text))
        graph.edge(Edge(source=fid, rel=RelType.TAUGHT, target=lesson_id, **_where(lesson.source)))
        for name in lesson.adopted_as:
            practice_id = graph.named(Label.PRACTICE, name)
            taught.add(practice_id)
            graph.edge(Edge(source=lesson_id, rel=RelType.ADOPTED_AS, target=practice_id))
    for practice in record.practices:
        practice_id = entity_id(Label.PRACTICE, practice.name)
        if practice_id not in taught:
            taught.add(practice_id)
            graph.lesson_for_practice(
                fid,
                f"{fid}/lesson-for-{practice_id.split(':', 1)[1]}",
                practice_id,
                practice.description or practice.name,
                **_where(practice.source),
            )


def _add_actions(graph: GraphBuilder, fid: str, record: PostmortemRecord) -> None:
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
            practice_id = graph.named(Label.PRACTICE, action.implements)
            graph.edge(Edge(source=action_id, rel=RelType.IMPLEMENTS, target=practice_id))


def _where(source: SourceSpan | None) -> dict[str, Any]:
    """Edge properties saying where in its document an item was read."""
    if source is None:
        return {}
    return {"section": source.section or None, "lines": (source.line_start, source.line_end)}
