"""Writing a failure and what was learned from it, one fact at a time: create, change and
delete failures; add causes (with their role and standing), experiments, lessons, practices,
actions and recurrence links. The HTTP API, the CLI and `recognize --record` call these.

What is written here is written *by hand*: no document claims it, so re-importing a document
never removes it. Shared entities (causes, components, teams, practices) are found by the
import's rule (`find_entity`) and never overwritten when they exist already; parts that
belong to one failure get ids under the failure's id (`<failure>/added-lesson-1`, ...), a
namespace the import never uses, so a later import of the failure's document cannot
overwrite them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lessons.graph.building import GraphBuilder, failure_node
from lessons.graph.embeddings import Embedder, node_vectors
from lessons.graph.errors import (
    AlreadyExistsError,
    NotFoundError,
    UnknownReferenceError,
    ValidationError,
)
from lessons.graph.inputs import (
    ActionChanges,
    ActionDraft,
    CauseLink,
    ExperimentDraft,
    FailureChanges,
    FailureDraft,
    LessonDraft,
    PracticeLink,
    RecurrenceLink,
    as_utc,
)
from lessons.graph.models import (
    Action,
    Cause,
    CauseRole,
    CauseStatus,
    Edge,
    Experiment,
    Failure,
    Label,
    Lesson,
    Practice,
    RelType,
    failure_id,
    slugify,
)
from lessons.graph.reads import CauseView, FailureContext, failure_context, the_failure
from lessons.graph.resolution import find_entity
from lessons.graph.store import GraphStore

# Allocating an id and writing under it happen under this lock, so two requests of one
# process never take the same id. (Several processes writing the same failure's parts at
# the same instant could still collide; the last write wins.)
_allocating = threading.Lock()


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
        writes = _Writes(store=store, embedder=embedder)
        writes.node(failure_node(fid, dict(draft)))
        for name in draft.components:
            component = writes.resolve(Label.COMPONENT, name)
            writes.edge(Edge(source=fid, rel=RelType.AFFECTED, target=component))
        if draft.team is not None:
            team = writes.resolve(Label.TEAM, draft.team)
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
    current = the_failure(store, failure_id)
    update = changes.model_dump(exclude_unset=True)
    if "occurred_at" in update:
        update["occurred_at"] = as_utc(update["occurred_at"])
    updated = Failure.model_validate({**current.model_dump(), **update})
    store.upsert_nodes([updated], node_vectors(embedder, [updated]))
    return failure_context(store, failure_id)


def delete_failure(store: GraphStore, failure_id: str) -> None:
    """Delete a failure and its own experiments, lessons and actions.

    Documents that said the failure stop saying it; shared causes, components, teams and
    practices stay while anything else uses them. The documents themselves stay, so an
    unchanged file is skipped on re-import and the failure comes back only if its file changes.
    """
    the_failure(store, failure_id)
    around = store.neighbours(failure_id)
    store.delete_nodes(
        [failure_id, *(n.id for n in around.nodes if n.id.startswith(f"{failure_id}/"))]
    )


def add_cause(store: GraphStore, embedder: Embedder, failure_id: str, link: CauseLink) -> CauseView:
    """Link a cause (new, or existing by name or id) to a failure, or change the role, status
    and evidence of one it has (what `link` leaves out stays): competing hypotheses live side
    by side as `proposed`."""
    the_failure(store, failure_id)
    writes = _Writes(store=store, embedder=embedder)
    edge = _caused_by(writes, failure_id, link)
    writes.edge(edge)
    writes.commit()
    node = store.get(edge.target)
    assert isinstance(node, Cause) and edge.role is not None and edge.status is not None
    return CauseView(
        id=node.id,
        name=node.name,
        role=edge.role,
        status=edge.status,
        evidence=edge.evidence,
    )


def _caused_by(writes: _Writes, failure_id: str, link: CauseLink) -> Edge:
    """The CAUSED_BY edge of `link`, its cause found or added to `writes`. What `link` leaves
    out stays as the failure's link to that cause has it; a new link is root and accepted."""
    cause = writes.resolve(
        Label.CAUSE, link.name, category=link.category, description=link.description
    )
    linked = next(
        (
            e
            for e in writes.store.edges([failure_id], [RelType.CAUSED_BY])
            if e.source == failure_id and e.target == cause
        ),
        Edge(source=failure_id, rel=RelType.CAUSED_BY, target=cause),
    )
    return linked.model_copy(
        update={
            "role": link.role or linked.role or CauseRole.ROOT,
            "status": link.status or linked.status or CauseStatus.ACCEPTED,
            "evidence": link.evidence if link.evidence is not None else linked.evidence,
        }
    )


def add_experiment(
    store: GraphStore, embedder: Embedder, failure_id: str, draft: ExperimentDraft
) -> Experiment:
    """Add an experiment to a failure, with the causes it tested (new or existing)."""
    return _add_part(
        store,
        embedder,
        failure_id,
        RelType.INVESTIGATED_BY,
        lambda part_id: Experiment(
            id=part_id,
            hypothesis=draft.hypothesis,
            method=draft.method,
            outcome=draft.outcome,
            finding=draft.finding,
        ),
        [(RelType.TESTED, Label.CAUSE, name) for name in draft.tested_causes],
    )


def add_lesson(
    store: GraphStore, embedder: Embedder, failure_id: str, draft: LessonDraft
) -> Lesson:
    """Add a lesson to a failure, adopted as the practices it names (new or existing)."""
    return _add_part(
        store,
        embedder,
        failure_id,
        RelType.TAUGHT,
        lambda part_id: Lesson(id=part_id, text=draft.text),
        [(RelType.ADOPTED_AS, Label.PRACTICE, name) for name in draft.adopted_as],
    )


def add_practice(
    store: GraphStore, embedder: Embedder, failure_id: str, link: PracticeLink
) -> Practice:
    """Adopt a practice (new, or existing by name or id) after a failure.

    It is adopted as the failure's lesson `lesson_id`, or as a new lesson that says it. The
    status, adoption date and description given replace an existing practice's, so a
    practice can move from proposed to adopted, verified and retired.
    """
    the_failure(store, failure_id)
    with _allocating:
        writes = _Writes(store=store, embedder=embedder)
        changes = {
            "description": link.description,
            "status": link.status,
            "adopted_at": link.adopted_at,
        }
        found = find_entity(store, embedder, Label.PRACTICE, link.name)
        existing = store.get(found) if found is not None else None
        if isinstance(existing, Practice):
            given = {k: v for k, v in changes.items() if v is not None}
            practice = writes.node(existing.model_copy(update=given))
        else:
            practice = writes.entity(Label.PRACTICE, link.name, **changes)
        if link.lesson_id is not None:
            taught = store.neighbours(failure_id, [RelType.TAUGHT]).nodes
            if not any(n.id == link.lesson_id and isinstance(n, Lesson) for n in taught):
                raise UnknownReferenceError(
                    f"{link.lesson_id!r} is not a lesson of failure {failure_id!r}",
                    hint="Leave lesson_id out to add a lesson that says the practice.",
                )
            writes.edge(Edge(source=link.lesson_id, rel=RelType.ADOPTED_AS, target=practice))
        else:
            lesson_id = _next_part_id(store, failure_id, RelType.TAUGHT)
            writes.lesson_for_practice(
                failure_id, lesson_id, practice, link.description or link.name
            )
        for name in link.addresses:
            cause = writes.resolve(Label.CAUSE, name)
            writes.edge(Edge(source=practice, rel=RelType.ADDRESSES, target=cause))
        writes.commit()
    node = store.get(practice)
    assert isinstance(node, Practice)
    return node


def add_action(
    store: GraphStore, embedder: Embedder, failure_id: str, draft: ActionDraft
) -> Action:
    """Add a follow-up item to a failure, optionally implementing a practice."""
    implements = [] if draft.implements is None else [draft.implements]
    return _add_part(
        store,
        embedder,
        failure_id,
        RelType.HAS_ACTION,
        lambda part_id: Action(
            id=part_id, text=draft.text, owner=draft.owner, status=draft.status, due=draft.due
        ),
        [(RelType.IMPLEMENTS, Label.PRACTICE, name) for name in implements],
    )


def update_action(
    store: GraphStore, embedder: Embedder, action_id: str, changes: ActionChanges
) -> Action:
    """Change a follow-up action (close it: status done); `NotFoundError` if no action has
    this id. Its text is re-embedded when it changes."""
    current = store.get_many([action_id]).get(action_id)
    if not isinstance(current, Action):
        raise NotFoundError(action_id)
    updated = Action.model_validate(
        {**current.model_dump(), **changes.model_dump(exclude_unset=True)}
    )
    store.upsert_nodes([updated], node_vectors(embedder, [updated]))
    return updated


Part = TypeVar("Part", Experiment, Lesson, Action)
PART_KINDS = {
    RelType.INVESTIGATED_BY: "experiment",
    RelType.TAUGHT: "lesson",
    RelType.HAS_ACTION: "action",
}


def _add_part(
    store: GraphStore,
    embedder: Embedder,
    failure_id: str,
    rel: RelType,
    make: Callable[[str], Part],
    links: Sequence[tuple[RelType, Label, str]],
) -> Part:
    """Add a part the failure owns (`make` it under its next free id), linked by `rel`, and
    its links to shared entities, each (type, label, name or id), new or existing."""
    the_failure(store, failure_id)
    with _allocating:
        part = make(_next_part_id(store, failure_id, rel))
        writes = _Writes(store=store, embedder=embedder)
        writes.node(part)
        writes.edge(Edge(source=failure_id, rel=rel, target=part.id))
        for link_rel, label, ref in links:
            writes.edge(Edge(source=part.id, rel=link_rel, target=writes.resolve(label, ref)))
        writes.commit()
    return part


def add_recurrence(store: GraphStore, failure_id: str, link: RecurrenceLink) -> FailureContext:
    """Record that a failure is a recurrence of the earlier failure `link.of`."""
    the_failure(store, failure_id)
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


@dataclass(kw_only=True)
class _Writes(GraphBuilder):
    """New nodes and edges, collected by the builder's rules and written together by `commit`
    with vectors for every text."""

    store: GraphStore
    embedder: Embedder

    def resolve(self, label: Label, ref: str, **properties: Any) -> str:
        """The id of the shared entity `ref` names, added when missing: its id, or a name
        resolved as the import resolves names (`find_entity`)."""
        existing = find_entity(self.store, self.embedder, label, ref)
        if existing is not None:
            return existing
        return self.entity(label, ref, **properties)

    def commit(self) -> None:
        nodes = list(self.nodes.values())
        if nodes:
            self.store.upsert_nodes(nodes, node_vectors(self.embedder, nodes))
        if self.edges:
            self.store.upsert_edges(list(self.edges.values()))


def _next_part_id(store: GraphStore, failure_id: str, rel: RelType) -> str:
    """`<failure>/added-<kind>-<n>`, one more than the highest such part the failure has."""
    kind = PART_KINDS[rel]
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
