"""Failures and what was learned from them, written and read one at a time.

These are the service functions the HTTP API calls (it has no logic of its own): create, get,
change, delete and list failures; add causes (with their role), experiments, lessons,
practices, actions and recurrence links to a failure; read causes, practices and components
with the failures that share them; search for them; a failure's neighbourhood as a graph.

What is written here is written *by hand*: no document claims it, so re-importing a document
never removes it. Shared entities (causes, components, teams, practices) are found by their
normalised name, as the import does, and never overwritten when they exist already; parts
that belong to one failure get ids under the failure's id (`<failure>/added-lesson-1`, ...),
a namespace the import never uses, so a later import of the failure's document cannot
overwrite them.

Every text field rejects lone surrogates (they cannot be stored as UTF-8) and is otherwise
kept verbatim: quotes, Cypher or FTS syntax, NUL bytes, any Unicode.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from lessons.graph.embeddings import Embedder, node_vectors
from lessons.graph.errors import (
    AlreadyExistsError,
    NotFoundError,
    UnknownReferenceError,
    ValidationError,
)
from lessons.graph.models import (
    MAX_FAILURE_ID,
    Action,
    Cause,
    CauseRole,
    CauseStatus,
    Component,
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
    entity_id,
    failure_id,
    slugify,
)
from lessons.graph.resolution import resolve_names
from lessons.graph.search import (
    CauseView,
    FailureContext,
    SearchHit,
    failure_context,
    ranked_candidates,
    search,
)
from lessons.graph.store import GraphStore, node_pages

MAX_PAGE = 100  # most items one page of a list may hold
MAX_DEPTH = 3  # deepest neighbourhood a graph request may ask for
MAX_SEARCH_DEPTH = 100  # search ranks this many hits at most (offset + limit)


# -- what callers send ------------------------------------------------------------------


def _storable(text: str) -> str:
    """Reject text that cannot be encoded as UTF-8 (lone surrogates); keep anything else."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"text contains an unpaired surrogate at position {e.start}") from e
    return text


# What the OpenAPI schema says of names and ids: at least one letter or digit, in any script.
HAS_WORD = r"[\p{L}\p{N}]"


def _has_word(text: str) -> str:
    """Reject a name with no letter or digit: no id can be made of it (`slugify`)."""
    if not slugify(text):
        raise ValueError("has no letters or digits: name it in words (any language)")
    return text


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Dates and times as ISO 8601 text (or Python values): pydantic alone reads `0` or "0"
    as a Unix time, which no one sending a date means."""
    if isinstance(value, int | float) or (isinstance(value, str) and not ISO_DAY.match(value)):
        raise ValueError("give a date as YYYY-MM-DD (a time as YYYY-MM-DDTHH:MM:SS)")
    return value


Day = Annotated[date, BeforeValidator(_iso_text)]
Moment = Annotated[datetime, BeforeValidator(_iso_text)]
Title = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_storable)]
Name = Annotated[
    str,
    Field(min_length=1, max_length=300, json_schema_extra={"pattern": HAS_WORD}),
    AfterValidator(_storable),
    AfterValidator(_has_word),
]
NameOrId = Annotated[str, Field(min_length=1, max_length=300)]  # looked up, never created
Text = Annotated[str, Field(min_length=1, max_length=20_000), AfterValidator(_storable)]
Short = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]
FailureId = Annotated[
    str,
    Field(
        max_length=MAX_FAILURE_ID,
        json_schema_extra={"pattern": HAS_WORD},
        description="kept when it is an id (ASCII letters, digits, '.', '_' or '-', starting "
        "with a letter or digit), else made of its words ('INC 42' -> 'inc-42'), as imports do",
    ),
    AfterValidator(_storable),
    AfterValidator(_has_word),
    AfterValidator(failure_id),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FailureDraft(_Input):
    """A new failure; without an `id`, one is made from the title."""

    id: FailureId | None = None
    title: Title
    summary: Text
    occurred_at: Moment | None = Field(None, description="naive times are taken as UTC")
    detected_by: Short | None = None
    severity: Short | None = None
    status: Short | None = None
    impact: Text | None = None
    detection: Text | None = None
    resolution: Text | None = None
    tags: list[Short] = Field(default=[], max_length=50)
    components: list[Name] = Field(default=[], max_length=50, description="names or ids")
    team: Name | None = Field(None, description="name or id of the owning team")


class FailureChanges(_Input):
    """Properties to change: fields left out stay as they are, `null` clears an optional one."""

    title: Title | SkipJsonSchema[None] = None
    summary: Text | SkipJsonSchema[None] = None
    occurred_at: Moment | None = None
    detected_by: Short | None = None
    severity: Short | None = None
    status: Short | None = None
    impact: Text | None = None
    detection: Text | None = None
    resolution: Text | None = None
    tags: Annotated[list[Short], Field(max_length=50)] | SkipJsonSchema[None] = None

    @field_validator("title", "summary", "tags")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null (leave the field out to keep it)")
        return value


class CauseLink(_Input):
    """A cause of a failure: a new one by name, or an existing one by name or id."""

    name: Name = Field(description="the cause's name, or the id of an existing cause")
    role: CauseRole = CauseRole.ROOT
    status: CauseStatus = Field(
        default=CauseStatus.ACCEPTED,
        description="proposed: a hypothesis still being tested; rejected: ruled out",
    )
    evidence: Text | None = Field(default=None, description="why it is accepted or rejected")
    category: Short | None = None
    description: Text | None = None


class ExperimentDraft(_Input):
    """A hypothesis tested while making sense of a failure."""

    hypothesis: Text
    method: Text | None = None
    outcome: ExperimentOutcome = ExperimentOutcome.INCONCLUSIVE
    finding: Text | None = None
    tested_causes: list[Name] = Field(default=[], max_length=50, description="names or ids")


class LessonDraft(_Input):
    """What a failure taught, and the practices it was adopted as."""

    text: Text
    adopted_as: list[Name] = Field(default=[], max_length=50, description="practice names or ids")


class PracticeLink(_Input):
    """A practice adopted after a failure: new by name, or an existing one by name or id.

    With `lesson_id` it is adopted as that lesson of the failure; without, a lesson that says
    the practice is added, as the import does for a practice no lesson names.
    """

    name: Name = Field(description="the practice's name, or the id of an existing practice")
    description: Text | None = None
    status: PracticeStatus | None = Field(
        None, description="default: adopted for a new practice, unchanged for an existing one"
    )
    adopted_at: Day | None = None
    lesson_id: Name | None = None
    addresses: list[Name] = Field(default=[], max_length=50, description="cause names or ids")


class ActionDraft(_Input):
    """A follow-up item of a failure, optionally implementing a practice."""

    text: Text
    owner: Short | None = None
    status: Short = "open"
    due: Day | None = None
    implements: Name | None = Field(None, description="practice name or id")


class RecurrenceLink(_Input):
    """The failure is a recurrence of the failure `of`."""

    of: Name = Field(description="id of the earlier failure")


class FailureFilter(_Input):
    """Which failures a list holds; every given condition must hold."""

    component: NameOrId | None = None
    cause: NameOrId | None = None
    team: NameOrId | None = None
    tag: Short | None = None
    severity: Short | None = None
    occurred_from: Moment | None = None
    occurred_to: Moment | None = None


# -- what callers get back ---------------------------------------------------------------


class FailureRef(BaseModel):
    """A failure named from elsewhere (a cause, practice or component it shares)."""

    id: str
    title: str
    occurred_at: datetime | None
    severity: str | None
    role: CauseRole | None = None  # how a cause contributed to this failure


class FailurePage(BaseModel):
    """One page of failures; pass `next_cursor` back for the next (null: nothing more)."""

    items: list[Failure]
    next_cursor: str | None


class EntityRef(BaseModel):
    """A node named from elsewhere, by id and name."""

    id: str
    name: str


class CauseDetail(BaseModel):
    """A cause, the failures it contributed to, and the practices that address it."""

    cause: Cause
    failures: list[FailureRef]
    practices: list[EntityRef]


class PracticeDetail(BaseModel):
    """A practice, the failures that led to it, and the causes it addresses."""

    practice: Practice
    failures: list[FailureRef]
    addresses: list[EntityRef]


class ComponentDetail(BaseModel):
    """A component and the failures that affected it."""

    component: Component
    failures: list[FailureRef]


class CausePage(BaseModel):
    """One page of causes; pass `next_cursor` back for the next (null: nothing more)."""

    items: list[CauseDetail]
    next_cursor: str | None


class PracticePage(BaseModel):
    """One page of practices; pass `next_cursor` back for the next (null: nothing more)."""

    items: list[PracticeDetail]
    next_cursor: str | None


class ComponentPage(BaseModel):
    """One page of components; pass `next_cursor` back for the next (null: nothing more)."""

    items: list[ComponentDetail]
    next_cursor: str | None


SearchType = Literal["failure", "cause", "practice", "component"]


class EntityHit(BaseModel):
    """A cause, practice or component that matches a query, with the failures sharing it."""

    id: str
    label: Label
    name: str
    score: float
    similarity: float | None
    why: list[str]
    failures: list[FailureRef]


class SearchResults(BaseModel):
    """What matches a query, best first: `failures` for `type=failure`, else `entities`."""

    type: SearchType
    failures: list[SearchHit]
    entities: list[EntityHit]
    next_cursor: str | None


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


# -- failures ----------------------------------------------------------------------------

# Allocating an id and writing under it happen under this lock, so two requests of one
# process never take the same id. (Several processes writing the same failure's parts at
# the same instant could still collide; the last write wins.)
_allocating = threading.Lock()


def get_failure(store: GraphStore, failure_id: str) -> FailureContext:
    """A failure with its causes, experiments, lessons, practices, actions and recurrences."""
    _failure(store, failure_id)
    return failure_context(store, failure_id)


def create_failure(
    store: GraphStore,
    embedder: Embedder,
    draft: FailureDraft,
    *,
    causes: Sequence[CauseLink] = (),
    recurrence_of: str | None = None,
) -> FailureContext:
    """Write a new failure with its components and team, and optionally its `causes` and the
    earlier failure it is a recurrence of; raises `AlreadyExistsError`.

    Every name and link is checked before anything is written, so an error changes nothing.
    """
    with _allocating:
        if draft.id is None:
            fid = _unused_failure_id(store, draft.title)
        elif store.get_many([draft.id]):
            raise AlreadyExistsError(draft.id)
        else:
            fid = draft.id
        writes = _Writes(store, embedder)
        writes.node(
            Failure(
                id=fid,
                title=draft.title,
                summary=draft.summary,
                occurred_at=_utc(draft.occurred_at),
                detected_by=draft.detected_by,
                severity=draft.severity,
                status=draft.status,
                impact=draft.impact,
                detection=draft.detection,
                resolution=draft.resolution,
                tags=tuple(draft.tags),
            )
        )
        for name in draft.components:
            component = writes.entity(Label.COMPONENT, name)
            writes.edge(Edge(source=fid, rel=RelType.AFFECTED, target=component))
        if draft.team is not None:
            team = writes.entity(Label.TEAM, draft.team)
            writes.edge(Edge(source=fid, rel=RelType.OWNED_BY, target=team))
        for link in causes:
            writes.edge(_caused_by(writes, fid, link))
        if recurrence_of is not None:
            writes.edge(_recurrence(store, fid, recurrence_of))
        writes.commit()
    return failure_context(store, fid)


def update_failure(
    store: GraphStore, embedder: Embedder, failure_id: str, changes: FailureChanges
) -> FailureContext:
    """Change a failure's properties; its text is re-embedded when the title or summary change."""
    current = _failure(store, failure_id)
    update = changes.model_dump(exclude_unset=True)
    if "occurred_at" in update:
        update["occurred_at"] = _utc(update["occurred_at"])
    updated = Failure.model_validate({**current.model_dump(), **update})
    store.upsert_nodes([updated], node_vectors(embedder, [updated]))
    return failure_context(store, failure_id)


def delete_failure(store: GraphStore, failure_id: str) -> None:
    """Delete a failure and its own experiments, lessons and actions.

    Documents that said the failure stop saying it; shared causes, components, teams and
    practices stay while anything else uses them. The documents themselves stay, so an
    unchanged file is skipped on re-import and the failure comes back only if its file changes.
    """
    _failure(store, failure_id)
    around = store.neighbours(failure_id)
    store.delete_nodes(
        [failure_id, *(n.id for n in around.nodes if n.id.startswith(f"{failure_id}/"))]
    )


def list_failures(
    store: GraphStore,
    where: FailureFilter | None = None,
    *,
    limit: int = 20,
    cursor: str | None = None,
) -> FailurePage:
    """Failures matching `where`, ordered by id, `limit` at a time (see `FailurePage`)."""
    where = where or FailureFilter()
    limit = _page_size(limit)
    position = _decode_cursor(cursor, "failures")
    linked = _failures_linked(store, where)
    if linked is not None:
        items, next_position = _page_of(store, linked, where, limit, position)
    else:
        items, next_position = _page_by_scan(store, where, limit, position)
    return FailurePage(items=items, next_cursor=_encode_cursor("failures", next_position))


Position = dict[str, Any]


def _page_of(
    store: GraphStore, ids: set[str], where: FailureFilter, limit: int, position: Position
) -> tuple[list[Failure], Position | None]:
    """The next page among the failures `ids` (those linked to the filter's entities)."""
    after = str(position.get("after", ""))
    candidates = sorted(i for i in ids if i > after)
    matches: list[Failure] = []
    for start in range(0, len(candidates), 500):
        chunk = candidates[start : start + 500]
        found = store.get_many(chunk)
        matches += [
            n for i in chunk if isinstance(n := found.get(i), Failure) and _matches(n, where)
        ]
        if len(matches) > limit:
            return matches[:limit], {"after": matches[limit - 1].id}
    return matches, None


def _page_by_scan(
    store: GraphStore, where: FailureFilter, limit: int, position: Position
) -> tuple[list[Failure], Position | None]:
    """The next page of all failures, walked in id order from the last page's last id."""
    matches: list[Failure] = []
    for page in node_pages(store, Label.FAILURE, 500, after=str(position.get("after", ""))):
        for node in page:
            if isinstance(node, Failure) and _matches(node, where):
                if len(matches) == limit:  # one more exists: this page is full
                    return matches, {"after": matches[-1].id}
                matches.append(node)
    return matches, None


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
        entity = _resolve(store, label, ref)
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
    when = _utc(failure.occurred_at)
    if when is None:
        return False
    start, end = _utc(where.occurred_from), _utc(where.occurred_to)
    return (start is None or when >= start) and (end is None or when <= end)


# -- what a failure is linked to -----------------------------------------------------------


def add_cause(store: GraphStore, embedder: Embedder, failure_id: str, link: CauseLink) -> CauseView:
    """Link a cause (new, or existing by name or id) to a failure, or change the role, status
    and evidence of one it has: competing hypotheses live side by side as `proposed`."""
    _failure(store, failure_id)
    writes = _Writes(store, embedder)
    edge = _caused_by(writes, failure_id, link)
    writes.edge(edge)
    writes.commit()
    node = store.get(edge.target)
    assert isinstance(node, Cause)
    return CauseView(
        id=node.id,
        name=node.name,
        role=link.role.value,
        status=link.status,
        evidence=link.evidence,
    )


def _caused_by(writes: _Writes, failure_id: str, link: CauseLink) -> Edge:
    """The CAUSED_BY edge of `link`, its cause found or added to `writes`."""
    cause = writes.entity(
        Label.CAUSE, link.name, category=link.category, description=link.description
    )
    return Edge(
        source=failure_id,
        rel=RelType.CAUSED_BY,
        target=cause,
        role=link.role,
        status=link.status,
        evidence=link.evidence,
    )


def add_experiment(
    store: GraphStore, embedder: Embedder, failure_id: str, draft: ExperimentDraft
) -> Experiment:
    """Add an experiment to a failure, with the causes it tested (new or existing)."""
    _failure(store, failure_id)
    with _allocating:
        experiment = Experiment(
            id=_next_part_id(store, failure_id, "experiment", RelType.INVESTIGATED_BY),
            hypothesis=draft.hypothesis,
            method=draft.method,
            outcome=draft.outcome,
            finding=draft.finding,
        )
        writes = _Writes(store, embedder)
        writes.node(experiment)
        writes.edge(Edge(source=failure_id, rel=RelType.INVESTIGATED_BY, target=experiment.id))
        for name in draft.tested_causes:
            cause = writes.entity(Label.CAUSE, name)
            writes.edge(Edge(source=experiment.id, rel=RelType.TESTED, target=cause))
        writes.commit()
    return experiment


def add_lesson(
    store: GraphStore, embedder: Embedder, failure_id: str, draft: LessonDraft
) -> Lesson:
    """Add a lesson to a failure, adopted as the practices it names (new or existing)."""
    _failure(store, failure_id)
    with _allocating:
        lesson = Lesson(
            id=_next_part_id(store, failure_id, "lesson", RelType.TAUGHT), text=draft.text
        )
        writes = _Writes(store, embedder)
        writes.node(lesson)
        writes.edge(Edge(source=failure_id, rel=RelType.TAUGHT, target=lesson.id))
        for name in draft.adopted_as:
            practice = writes.entity(Label.PRACTICE, name)
            writes.edge(Edge(source=lesson.id, rel=RelType.ADOPTED_AS, target=practice))
        writes.commit()
    return lesson


def add_practice(
    store: GraphStore, embedder: Embedder, failure_id: str, link: PracticeLink
) -> Practice:
    """Adopt a practice (new, or existing by name or id) after a failure.

    It is adopted as the failure's lesson `lesson_id`, or as a new lesson that says it. The
    status, adoption date and description given replace an existing practice's, so a
    practice can move from proposed to adopted, verified and retired.
    """
    _failure(store, failure_id)
    with _allocating:
        writes = _Writes(store, embedder)
        changes = {
            "description": link.description,
            "status": link.status,
            "adopted_at": link.adopted_at,
        }
        found = _find(store, embedder, Label.PRACTICE, link.name)
        existing = store.get(found) if found is not None else None
        if isinstance(existing, Practice):
            given = {k: v for k, v in changes.items() if v is not None}
            practice = writes.node(existing.model_copy(update=given))
        else:
            practice = writes.new_entity(Label.PRACTICE, link.name, **changes)
        if link.lesson_id is not None:
            taught = store.neighbours(failure_id, [RelType.TAUGHT]).nodes
            if not any(n.id == link.lesson_id and isinstance(n, Lesson) for n in taught):
                raise UnknownReferenceError(
                    f"{link.lesson_id!r} is not a lesson of failure {failure_id!r}",
                    hint="Leave lesson_id out to add a lesson that says the practice.",
                )
            lesson_id = link.lesson_id
        else:
            lesson_id = _next_part_id(store, failure_id, "lesson", RelType.TAUGHT)
            writes.node(Lesson(id=lesson_id, text=link.description or link.name))
            writes.edge(Edge(source=failure_id, rel=RelType.TAUGHT, target=lesson_id))
        writes.edge(Edge(source=lesson_id, rel=RelType.ADOPTED_AS, target=practice))
        for name in link.addresses:
            cause = writes.entity(Label.CAUSE, name)
            writes.edge(Edge(source=practice, rel=RelType.ADDRESSES, target=cause))
        writes.commit()
    node = store.get(practice)
    assert isinstance(node, Practice)
    return node


def add_action(
    store: GraphStore, embedder: Embedder, failure_id: str, draft: ActionDraft
) -> Action:
    """Add a follow-up item to a failure, optionally implementing a practice."""
    _failure(store, failure_id)
    with _allocating:
        action = Action(
            id=_next_part_id(store, failure_id, "action", RelType.HAS_ACTION),
            text=draft.text,
            owner=draft.owner,
            status=draft.status,
            due=draft.due,
        )
        writes = _Writes(store, embedder)
        writes.node(action)
        writes.edge(Edge(source=failure_id, rel=RelType.HAS_ACTION, target=action.id))
        if draft.implements is not None:
            practice = writes.entity(Label.PRACTICE, draft.implements)
            writes.edge(Edge(source=action.id, rel=RelType.IMPLEMENTS, target=practice))
        writes.commit()
    return action


def add_recurrence(store: GraphStore, failure_id: str, link: RecurrenceLink) -> FailureContext:
    """Record that a failure is a recurrence of the earlier failure `link.of`."""
    _failure(store, failure_id)
    store.upsert_edges([_recurrence(store, failure_id, link.of)])
    return failure_context(store, failure_id)


def _recurrence(store: GraphStore, failure_id: str, of: str) -> Edge:
    """The edge that makes `failure_id` a recurrence of the failure `of`, once `of` is checked."""
    if of == failure_id:
        raise ValidationError("a failure cannot be a recurrence of itself")
    target = store.get_many([of]).get(of)
    if not isinstance(target, Failure):
        raise UnknownReferenceError(
            f"no failure with id {of!r} to be a recurrence of",
            hint="Give the id of an existing failure in `of`.",
        )
    return Edge(source=failure_id, rel=RelType.RECURRENCE_OF, target=of)


def failure_graph(store: GraphStore, failure_id: str, depth: int = 1) -> FailureGraph:
    """A failure and everything within `depth` (1 to MAX_DEPTH) hops of it, for drawing."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValidationError(f"depth must be between 1 and {MAX_DEPTH}, not {depth}")
    _failure(store, failure_id)
    around = store.neighbours(failure_id, depth=depth)
    return FailureGraph(
        failure_id=failure_id,
        depth=depth,
        nodes=[GraphNode(id=n.id, label=n.label, properties=n.properties()) for n in around.nodes],
        edges=sorted(around.edges, key=lambda e: e.key),
    )


# -- causes, practices and components ------------------------------------------------------


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


def list_causes(store: GraphStore, *, limit: int = 20, cursor: str | None = None) -> CausePage:
    """Causes ordered by id, each with the failures that share it."""
    nodes, next_cursor = _list_page(store, Label.CAUSE, limit, cursor)
    return CausePage(items=[get_cause(store, n.id) for n in nodes], next_cursor=next_cursor)


def list_practices(
    store: GraphStore, *, limit: int = 20, cursor: str | None = None
) -> PracticePage:
    """Practices ordered by id, each with the failures that led to it."""
    nodes, next_cursor = _list_page(store, Label.PRACTICE, limit, cursor)
    return PracticePage(items=[get_practice(store, n.id) for n in nodes], next_cursor=next_cursor)


def list_components(
    store: GraphStore, *, limit: int = 20, cursor: str | None = None
) -> ComponentPage:
    """Components ordered by id, each with the failures that affected it."""
    nodes, next_cursor = _list_page(store, Label.COMPONENT, limit, cursor)
    return ComponentPage(items=[get_component(store, n.id) for n in nodes], next_cursor=next_cursor)


def _list_page(
    store: GraphStore, label: Label, limit: int, cursor: str | None
) -> tuple[list[Node], str | None]:
    limit = _page_size(limit)
    after = str(_decode_cursor(cursor, label.value).get("after", ""))
    nodes = store.list_nodes(label, limit=limit + 1, after=after)
    more = {"after": nodes[limit - 1].id} if len(nodes) > limit else None
    return nodes[:limit], _encode_cursor(label.value, more)


# -- search ---------------------------------------------------------------------------------


def search_page(
    store: GraphStore,
    embedder: Embedder,
    query: str,
    *,
    type: SearchType = "failure",
    limit: int = 10,
    cursor: str | None = None,
) -> SearchResults:
    """Failures (`search`) or causes, practices or components like `query`, a page at a time.

    Pages come from one ranking of at most MAX_SEARCH_DEPTH hits.
    """
    limit = _page_size(limit)
    offset = int(_decode_cursor(cursor, f"search:{type}").get("offset", 0))
    want = min(offset + limit + 1, MAX_SEARCH_DEPTH)
    failures: list[SearchHit] = []
    entities: list[EntityHit] = []
    if type == "failure":
        failures = search(store, embedder, query, limit=want)[offset:]
        found = len(failures)
        failures = failures[:limit]
    else:
        entities = search_entities(store, embedder, Label(type.capitalize()), query, limit=want)
        entities = entities[offset:]
        found = len(entities)
        entities = entities[:limit]
    more = {"offset": offset + limit} if found > limit and offset + limit < want else None
    return SearchResults(
        type=type,
        failures=failures,
        entities=entities,
        next_cursor=_encode_cursor(f"search:{type}", more),
    )


def search_entities(
    store: GraphStore, embedder: Embedder, label: Label, query: str, *, limit: int = 10
) -> list[EntityHit]:
    """Causes, practices or components like `query` (vector and keyword ranks fused)."""
    details: dict[
        Label, Callable[[GraphStore, str], CauseDetail | PracticeDetail | ComponentDetail]
    ]
    details = {Label.CAUSE: get_cause, Label.PRACTICE: get_practice, Label.COMPONENT: get_component}
    if label not in details:
        raise ValidationError(
            f"cannot search {label} nodes; search failures, causes, practices or components"
        )
    query = re.sub(r"\s+", " ", query).strip()
    if not query:
        return []
    found = ranked_candidates(store, embedder, label, query, limit=limit)
    nodes = store.get_many(c.id for c in found)
    hits = []
    for candidate in found:
        node = nodes[candidate.id]
        assert isinstance(node, Cause | Practice | Component)
        why = []
        if candidate.vector_rank is not None and candidate.similarity is not None:
            why.append(
                f"similar meaning (cosine {candidate.similarity:.2f}, rank {candidate.vector_rank})"
            )
        if candidate.keyword_rank is not None:
            why.append(f"shares words (rank {candidate.keyword_rank})")
        hits.append(
            EntityHit(
                id=candidate.id,
                label=label,
                name=node.name,
                score=candidate.score,
                similarity=candidate.similarity,
                why=why,
                failures=details[label](store, candidate.id).failures,
            )
        )
    return hits


# -- helpers --------------------------------------------------------------------------------


class _Writes:
    """New nodes and edges, written together by `commit` with vectors for every text."""

    def __init__(self, store: GraphStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self.nodes: dict[str, Node] = {}
        self.edges: dict[tuple[str, str, str], Edge] = {}

    def node(self, node: Node) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def edge(self, edge: Edge) -> None:
        """Add an edge; a later one between the same nodes of the same type replaces it."""
        self.edges[edge.key] = edge

    def entity(self, label: Label, ref: str, **properties: Any) -> str:
        """The id of the shared entity `ref` names, created when missing: its id, or a name
        resolved as the import resolves names (`_find`)."""
        existing = _find(self.store, self.embedder, label, ref)
        if existing is not None:
            return existing
        return self.new_entity(label, ref, **properties)

    def new_entity(self, label: Label, name: str, **properties: Any) -> str:
        """The id of a shared entity named `name` that the store does not hold, written once
        however often it is named."""
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

    def commit(self) -> None:
        nodes = list(self.nodes.values())
        if nodes:
            self.store.upsert_nodes(nodes, node_vectors(self.embedder, nodes))
        if self.edges:
            self.store.upsert_edges(list(self.edges.values()))


def _failure(store: GraphStore, failure_id: str) -> Failure:
    node = store.get_many([failure_id]).get(failure_id)
    if not isinstance(node, Failure):
        raise NotFoundError(failure_id)
    return node


def _resolve(store: GraphStore, label: Label, ref: str) -> Node | None:
    """The node with this label whose id is `ref`, or whose id comes from the name `ref`."""
    candidates = [ref]
    with contextlib.suppress(ValidationError):  # a name with no letters names no entity
        candidates.append(entity_id(label, ref))
    found = store.get_many(candidates)
    for candidate in candidates:
        node = found.get(candidate)
        if node is not None and node.label is label:
            return node
    return None


def _find(store: GraphStore, embedder: Embedder, label: Label, ref: str) -> str | None:
    """The id of the stored entity `ref` names: the node with that id, else the entity its
    name resolves to by the import's rule (id from the name, name key, an alias's key, or a
    close embedding; `resolve_names`), so that "database connection pool exhausted" written
    by hand finds the cause an import merged that name into."""
    node = _resolve(store, label, ref)
    if node is not None:
        return node.id
    return resolve_names(store, embedder, [(label, ref)]).get((label, ref))


def _entity(store: GraphStore, label: Label, ref: str) -> Node:
    node = _resolve(store, label, ref)
    if node is None:
        raise NotFoundError(ref)
    return node


def _next_part_id(store: GraphStore, failure_id: str, kind: str, rel: RelType) -> str:
    """`<failure>/added-<kind>-<n>`, one more than the highest such part the failure has."""
    prefix = f"{failure_id}/added-{kind}-"
    numbers = [
        int(n.id.removeprefix(prefix))
        for n in store.neighbours(failure_id, [rel]).nodes
        if n.id.startswith(prefix) and n.id.removeprefix(prefix).isdigit()
    ]
    return f"{prefix}{max(numbers, default=0) + 1}"


def _unused_failure_id(store: GraphStore, title: str) -> str:
    """A free failure id from the title: `slug`, else `slug-2`, `slug-3`, ..."""
    base = slugify(title, max_length=80) or "failure"
    for start in range(1, 10_000, 50):
        candidates = [base if n == 1 else f"{base}-{n}" for n in range(start, start + 50)]
        taken = store.get_many(candidates)
        for candidate in candidates:
            if candidate not in taken:
                return failure_id(candidate)
    raise AlreadyExistsError(base)


def _utc(when: datetime | None) -> datetime | None:
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when


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


def _page_size(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}, not {limit}")
    return limit


def _encode_cursor(kind: str, position: dict[str, Any] | None) -> str | None:
    """An opaque cursor for the next page of `kind`, or None when there is no next page."""
    if position is None:
        return None
    raw = json.dumps({"kind": kind, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str | None, kind: str) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        valid = (
            isinstance(position, dict)
            and position.get("kind") == kind
            and isinstance(position.get("after", ""), str)
            and isinstance(position.get("offset", 0), int)
            and position.get("offset", 0) >= 0
        )
    except (ValueError, binascii.Error, UnicodeError):
        valid = False
    if not valid:
        raise UnknownReferenceError(
            "the cursor is not one this list gave out",
            hint="Pass back next_cursor from the previous page unchanged, or leave it out.",
        )
    return dict(position)
