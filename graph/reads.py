"""Reading failures and the entities they share: the one read model of a failure's
neighbourhood (`FailureContext`, which `show`, search hits, recognize matches and the API all
carry), a failure's graph for drawing, causes, practices and components with the failures
that share them, and lists of each, ordered by id and read a page at a time (`after` the
last id of the previous page).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from lessons.graph.errors import NotFoundError, ValidationError
from lessons.graph.inputs import FailureFilter, as_utc
from lessons.graph.models import (
    Action,
    Cause,
    CauseRole,
    CauseStatus,
    Component,
    Document,
    Edge,
    Experiment,
    ExperimentOutcome,
    Failure,
    Label,
    Lesson,
    Node,
    Practice,
    PracticeStatus,
    RelType,
    Team,
    role_rank,
)
from lessons.graph.resolution import resolve_ref
from lessons.graph.store import GraphStore, node_pages

MAX_DEPTH = 3  # deepest neighbourhood a graph request may ask for


# -- a failure and its neighbourhood -------------------------------------------------------


class Source(BaseModel):
    """Where in its document an item was read: the section's heading and the lines."""

    section: str | None = None
    lines: tuple[int, int] | None = None

    @classmethod
    def of(cls, edge: Edge) -> Source | None:
        """The source an edge from the failure records, if any."""
        if edge.section is None and edge.lines is None:
            return None
        return cls(section=edge.section, lines=edge.lines)


class CauseView(BaseModel):
    """A cause as seen from one failure: its role, and whether it is accepted (and why)."""

    id: str
    name: str
    role: CauseRole
    status: CauseStatus = CauseStatus.ACCEPTED
    evidence: str | None = None
    source: Source | None = None


class ExperimentView(BaseModel):
    """An experiment run while making sense of a failure."""

    id: str
    hypothesis: str
    outcome: ExperimentOutcome
    finding: str | None
    tested_causes: list[str]  # their names
    tested_cause_ids: list[str] = []
    source: Source | None = None


class LessonView(BaseModel):
    """A lesson a failure taught."""

    id: str
    text: str
    adopted_as: list[str] = []  # ids of the practices it became (in `practices`)
    source: Source | None = None


class PracticeView(BaseModel):
    """A practice adopted after a failure."""

    id: str
    name: str
    status: PracticeStatus
    adopted_at: date | None


class ActionView(BaseModel):
    """A follow-up item of a failure."""

    id: str
    text: str
    owner: str | None
    status: str
    due: date | None = None
    source: Source | None = None


class FailureContext(BaseModel):
    """A failure with what caused it, what was tried, and what was learned and adopted."""

    failure: Failure
    causes: list[CauseView] = []
    experiments: list[ExperimentView] = []
    lessons: list[LessonView] = []
    practices: list[PracticeView] = []
    actions: list[ActionView] = []
    components: list[str] = []
    team: str | None = None
    recurrence_of: list[str] = []
    recurred_as: list[str] = []
    documents: list[str] = []


# What hangs off a failure's lessons and experiments: the practices a lesson became and the
# causes an experiment tested. Read as outgoing edges (`neighbours(then=...)`), which only
# lessons and experiments have: a shared cause or component found on the way never fans out
# to every failure it touched.
LEARNED = [RelType.ADOPTED_AS, RelType.TESTED]


def failure_context(store: GraphStore, failure_id: str) -> FailureContext:
    """Everything one hop around a failure, plus its lessons' practices and what its
    experiments tested."""
    return failure_contexts(store, [failure_id])[failure_id]


def failure_contexts(store: GraphStore, failure_ids: Sequence[str]) -> dict[str, FailureContext]:
    """`failure_context` of many failures in one store call, however many there are: their
    neighbours, and the practices and causes their lessons and experiments lead to."""
    if not failure_ids:
        return {}
    around = store.neighbours(failure_ids, then=LEARNED)
    nodes = {n.id: n for n in around.nodes}
    out: dict[str, list[str]] = {}
    for edge in around.edges:
        if edge.rel in LEARNED:
            out.setdefault(edge.source, []).append(edge.target)
    touching: dict[str, list[Edge]] = {fid: [] for fid in failure_ids}
    for edge in sorted(around.edges, key=lambda e: _natural_order(e.target)):
        for end in {edge.source, edge.target} & touching.keys():
            touching[end].append(edge)
    return {fid: _context(fid, nodes, touching[fid], out) for fid in failure_ids}


def _context(
    failure_id: str, nodes: dict[str, Node], edges: list[Edge], out: dict[str, list[str]]
) -> FailureContext:
    """One failure's context from its edges and the nodes and `out` links of a walk."""
    failure = nodes[failure_id]
    if not isinstance(failure, Failure):
        raise ValidationError(f"{failure_id!r} is a {failure.label}, not a failure")
    context = FailureContext(failure=failure)
    practices: dict[str, Practice] = {}
    for edge in edges:
        if edge.source == failure_id:
            target = nodes[edge.target]
            if isinstance(target, Cause):
                context.causes.append(
                    CauseView(
                        id=target.id,
                        name=target.name,
                        role=edge.role or CauseRole.ROOT,
                        status=edge.status or CauseStatus.ACCEPTED,
                        evidence=edge.evidence,
                        source=Source.of(edge),
                    )
                )
            elif isinstance(target, Component):
                context.components.append(target.name)
            elif isinstance(target, Team):
                context.team = target.name
            elif isinstance(target, Lesson):
                adopted = [p for t in out.get(target.id, []) if isinstance(p := nodes[t], Practice)]
                context.lessons.append(
                    LessonView(
                        id=target.id,
                        text=target.text,
                        adopted_as=sorted(p.id for p in adopted),
                        source=Source.of(edge),
                    )
                )
                practices.update((p.id, p) for p in adopted)
            elif isinstance(target, Experiment):
                tested = [c for t in out.get(target.id, []) if isinstance(c := nodes[t], Cause)]
                context.experiments.append(
                    ExperimentView(
                        id=target.id,
                        hypothesis=target.hypothesis,
                        outcome=target.outcome,
                        finding=target.finding,
                        tested_causes=sorted(c.name for c in tested),
                        tested_cause_ids=sorted(c.id for c in tested),
                        source=Source.of(edge),
                    )
                )
            elif isinstance(target, Action):
                context.actions.append(
                    ActionView(
                        id=target.id,
                        text=target.text,
                        owner=target.owner,
                        status=target.status,
                        due=target.due,
                        source=Source.of(edge),
                    )
                )
            elif isinstance(target, Document):
                context.documents.append(target.path)
            elif edge.rel is RelType.RECURRENCE_OF:
                context.recurrence_of.append(target.id)
        elif edge.rel is RelType.RECURRENCE_OF and edge.target == failure_id:
            context.recurred_as.append(edge.source)
    context.practices = [
        PracticeView(id=p.id, name=p.name, status=p.status, adopted_at=p.adopted_at)
        for p in practices.values()
    ]
    context.causes.sort(key=lambda c: (role_rank(c.role), c.name))
    return context


def _natural_order(node_id: str) -> list[str | int]:
    """`f/lesson-2` before `f/lesson-10`: the order the document wrote them in."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", node_id)]


def get_failure(store: GraphStore, failure_id: str) -> FailureContext:
    """A failure with its causes, experiments, lessons, practices, actions and recurrences."""
    the_failure(store, failure_id)
    return failure_context(store, failure_id)


def the_failure(store: GraphStore, failure_id: str) -> Failure:
    """The failure with this id; `NotFoundError` if there is none (or the id is not a
    failure's), the same answer for every caller."""
    node = store.get_many([failure_id]).get(failure_id)
    if not isinstance(node, Failure):
        raise NotFoundError(failure_id)
    return node


class GraphNode(BaseModel):
    """A node of a neighbourhood, for drawing: its id, label and properties."""

    id: str
    label: Label
    properties: dict[str, Any]


class FailureGraph(BaseModel):
    """A failure and everything within `depth` hops of it."""

    failure_id: str
    depth: int
    nodes: list[GraphNode]
    edges: list[Edge]


def failure_graph(store: GraphStore, failure_id: str, depth: int = 1) -> FailureGraph:
    """A failure and everything within `depth` (1 to MAX_DEPTH) hops of it, for drawing."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValidationError(f"depth must be between 1 and {MAX_DEPTH}, not {depth}")
    the_failure(store, failure_id)
    around = store.neighbours(failure_id, depth=depth)
    return FailureGraph(
        failure_id=failure_id,
        depth=depth,
        nodes=[GraphNode(id=n.id, label=n.label, properties=n.properties()) for n in around.nodes],
        edges=sorted(around.edges, key=lambda e: e.key),
    )


# -- lists of failures ---------------------------------------------------------------------


def list_failures(
    store: GraphStore,
    where: FailureFilter | None = None,
    *,
    limit: int = 20,
    after: str = "",
) -> list[Failure]:
    """Up to `limit` failures matching `where` whose ids come after `after`, ordered by id."""
    where = where or FailureFilter()
    linked = _failures_linked(store, where)
    if linked is not None:
        return _linked_page(store, linked, where, limit, after)
    return _scanned_page(store, where, limit, after)


def _linked_page(
    store: GraphStore, ids: set[str], where: FailureFilter, limit: int, after: str
) -> list[Failure]:
    """The next page among the failures `ids` (those linked to the filter's entities)."""
    candidates = sorted(i for i in ids if i > after)
    matches: list[Failure] = []
    for start in range(0, len(candidates), 500):
        chunk = candidates[start : start + 500]
        found = store.get_many(chunk)
        matches += [
            n for i in chunk if isinstance(n := found.get(i), Failure) and _matches(n, where)
        ]
        if len(matches) >= limit:
            break
    return matches[:limit]


def _scanned_page(store: GraphStore, where: FailureFilter, limit: int, after: str) -> list[Failure]:
    """The next page of all failures, walked in id order from `after`."""
    matches: list[Failure] = []
    for page in node_pages(store, Label.FAILURE, 500, after=after):
        matches += [n for n in page if isinstance(n, Failure) and _matches(n, where)]
        if len(matches) >= limit:
            break
    return matches[:limit]


def _failures_linked(store: GraphStore, where: FailureFilter) -> set[str] | None:
    """Ids of the failures linked to every entity the filter names (None: no such filter)."""
    linked: set[str] | None = None
    for label, rel, ref in (
        (Label.COMPONENT, RelType.AFFECTED, where.component),
        (Label.CAUSE, RelType.CAUSED_BY, where.cause),
        (Label.TEAM, RelType.OWNED_BY, where.team),
    ):
        if ref is None:
            continue
        entity = resolve_ref(store, label, ref)
        ids: set[str] = set()
        if entity is not None:
            around = store.neighbours(entity.id, [rel])
            ids = {n.id for n in around.nodes if isinstance(n, Failure)}
        linked = ids if linked is None else linked & ids
    return linked


def _matches(failure: Failure, where: FailureFilter) -> bool:
    if where.tag is not None and where.tag not in failure.tags:
        return False
    if where.severity is not None and failure.severity != where.severity:
        return False
    if where.occurred_from is None and where.occurred_to is None:
        return True
    when = as_utc(failure.occurred_at)
    if when is None:
        return False
    start, end = as_utc(where.occurred_from), as_utc(where.occurred_to)
    return (start is None or when >= start) and (end is None or when <= end)


# -- causes, practices and components ------------------------------------------------------


class FailureRef(BaseModel):
    """A failure named from elsewhere (a cause, practice or component it shares)."""

    id: str
    title: str
    occurred_at: datetime | None
    severity: str | None
    role: CauseRole | None = None  # how a cause contributed to this failure


class EntityRef(BaseModel):
    """A node named from elsewhere, by id and name."""

    id: str
    name: str


class CauseDetail(BaseModel):
    """A cause, the failures it contributed to, and the practices that address it."""

    cause: Cause
    failures: list[FailureRef]
    practices: list[EntityRef]

    @property
    def id(self) -> str:
        """The cause's id."""
        return self.cause.id


class PracticeDetail(BaseModel):
    """A practice, the failures that led to it, and the causes it addresses."""

    practice: Practice
    failures: list[FailureRef]
    addresses: list[EntityRef]

    @property
    def id(self) -> str:
        """The practice's id."""
        return self.practice.id


class ComponentDetail(BaseModel):
    """A component and the failures that affected it."""

    component: Component
    failures: list[FailureRef]

    @property
    def id(self) -> str:
        """The component's id."""
        return self.component.id


def get_cause(store: GraphStore, ref: str) -> CauseDetail:
    """A cause (by id or name) with the failures it contributed to and the practices for it."""
    cause = _entity(store, Label.CAUSE, ref)
    assert isinstance(cause, Cause)
    around = store.neighbours(cause.id, [RelType.CAUSED_BY, RelType.ADDRESSES])
    nodes = {n.id: n for n in around.nodes}
    failures = [
        _failure_ref(nodes[e.source], e.role)
        for e in around.edges
        if e.rel is RelType.CAUSED_BY and e.target == cause.id
    ]
    practices = [
        _entity_ref(nodes[e.source])
        for e in around.edges
        if e.rel is RelType.ADDRESSES and e.target == cause.id
    ]
    return CauseDetail(cause=cause, failures=_by_id(failures), practices=_by_id(practices))


def get_practice(store: GraphStore, ref: str) -> PracticeDetail:
    """A practice (by id or name) with the failures that led to it and the causes it addresses."""
    practice = _entity(store, Label.PRACTICE, ref)
    assert isinstance(practice, Practice)
    # Failures reach a practice through a lesson they taught or an action they own.
    paths = [RelType.ADOPTED_AS, RelType.TAUGHT, RelType.IMPLEMENTS, RelType.HAS_ACTION]
    around = store.neighbours(practice.id, paths, depth=2)
    addressed = store.neighbours(practice.id, [RelType.ADDRESSES])
    return PracticeDetail(
        practice=practice,
        failures=_by_id([_failure_ref(n) for n in around.nodes if isinstance(n, Failure)]),
        addresses=_by_id([_entity_ref(n) for n in addressed.nodes if isinstance(n, Cause)]),
    )


def get_component(store: GraphStore, ref: str) -> ComponentDetail:
    """A component (by id or name) with the failures that affected it."""
    component = _entity(store, Label.COMPONENT, ref)
    assert isinstance(component, Component)
    around = store.neighbours(component.id, [RelType.AFFECTED])
    failures = [_failure_ref(n) for n in around.nodes if isinstance(n, Failure)]
    return ComponentDetail(component=component, failures=_by_id(failures))


def list_causes(store: GraphStore, *, limit: int = 20, after: str = "") -> list[CauseDetail]:
    """Up to `limit` causes whose ids come after `after`, by id, each with its failures."""
    return [get_cause(store, n.id) for n in store.list_nodes(Label.CAUSE, limit=limit, after=after)]


def list_practices(store: GraphStore, *, limit: int = 20, after: str = "") -> list[PracticeDetail]:
    """Up to `limit` practices whose ids come after `after`, by id, each with its failures."""
    nodes = store.list_nodes(Label.PRACTICE, limit=limit, after=after)
    return [get_practice(store, n.id) for n in nodes]


def list_components(
    store: GraphStore, *, limit: int = 20, after: str = ""
) -> list[ComponentDetail]:
    """Up to `limit` components whose ids come after `after`, by id, each with its failures."""
    nodes = store.list_nodes(Label.COMPONENT, limit=limit, after=after)
    return [get_component(store, n.id) for n in nodes]


def _entity(store: GraphStore, label: Label, ref: str) -> Node:
    node = resolve_ref(store, label, ref)
    if node is None:
        raise NotFoundError(ref)
    return node


def _failure_ref(node: Node, role: CauseRole | None = None) -> FailureRef:
    assert isinstance(node, Failure)
    return FailureRef(
        id=node.id,
        title=node.title,
        occurred_at=node.occurred_at,
        severity=node.severity,
        role=role,
    )


def _entity_ref(node: Node) -> EntityRef:
    assert isinstance(node, Cause | Practice | Component | Team)
    return EntityRef(id=node.id, name=node.name)


R = TypeVar("R", FailureRef, EntityRef)


def _by_id(refs: list[R]) -> list[R]:
    return sorted(refs, key=lambda r: r.id)
