"""Sensemaking: a failure's causal neighbourhood, and causes suggested by similar failures.

`explain` gathers what is known about why a failure happened and what it led to: its causes
with their role, the experiments that tested them and the practices that address them; its
lessons with the practices they became and the actions that implement those; its recurrences.
`to_text` draws that as a tree, `to_dot` as a Graphviz graph. `suggest_causes` proposes
causes the failure does not have yet, from the past failures `recognize` finds most like it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from pydantic import BaseModel

from lessons.graph.embeddings import Embedder
from lessons.graph.models import (
    Action,
    Cause,
    CauseRole,
    CauseStatus,
    Edge,
    Experiment,
    ExperimentOutcome,
    Failure,
    Lesson,
    Node,
    Practice,
    PracticeStatus,
    RelType,
    role_rank,
)
from lessons.graph.reads import the_failure
from lessons.graph.recognize import RecognizeQuery, recognize
from lessons.graph.store import GraphStore


class PracticeNote(BaseModel):
    """A practice with its state and the actions that implement it."""

    id: str
    name: str
    status: PracticeStatus
    adopted_at: date | None
    actions: list[str] = []


class TestNote(BaseModel):
    """An experiment that tested a cause."""

    id: str
    hypothesis: str
    outcome: ExperimentOutcome
    finding: str | None


class CauseNote(BaseModel):
    """A cause of the failure, how it was tested, and what addresses it."""

    id: str
    name: str
    role: CauseRole
    status: CauseStatus
    evidence: str | None
    tested_by: list[TestNote] = []
    addressed_by: list[PracticeNote] = []


class LessonNote(BaseModel):
    """A lesson and the practices it became."""

    id: str
    text: str
    practices: list[PracticeNote] = []


class Explanation(BaseModel):
    """A failure's causal neighbourhood."""

    failure: Failure
    causes: list[CauseNote] = []
    untested_experiments: list[TestNote] = []
    lessons: list[LessonNote] = []
    recurrence_of: list[str] = []
    recurred_as: list[str] = []


# From the failure: its parts, then what they point at (never through a shared entity's
# other failures: CAUSED_BY is followed from the failure only, in the first walk).
_PARTS = [RelType.INVESTIGATED_BY, RelType.TESTED, RelType.TAUGHT, RelType.ADOPTED_AS]


def explain(store: GraphStore, failure_id: str) -> Explanation:
    """The causal neighbourhood of a failure, in five store calls; `NotFoundError` unless
    `failure_id` is a failure's (the answer `show` and `GET /v1/failures/{id}` give)."""
    failure = the_failure(store, failure_id)
    walk = _Walk.around(store, failure_id)
    explanation = Explanation(failure=failure)
    tested: dict[str, list[TestNote]] = {}
    for experiment in walk.targets(failure_id, RelType.INVESTIGATED_BY, Experiment):
        note = TestNote(
            id=experiment.id,
            hypothesis=experiment.hypothesis,
            outcome=experiment.outcome,
            finding=experiment.finding,
        )
        covered = walk.targets(experiment.id, RelType.TESTED, Cause)
        for cause in covered:
            tested.setdefault(cause.id, []).append(note)
        if not covered:
            explanation.untested_experiments.append(note)
    explanation.causes = [
        _cause_note(walk, cause, link, tested.get(cause.id, []))
        for cause, link in walk.causes(failure_id)
    ]
    explanation.lessons = [
        LessonNote(
            id=lesson.id,
            text=lesson.text,
            practices=[
                _practice_note(walk, p)
                for p in walk.targets(lesson.id, RelType.ADOPTED_AS, Practice)
            ],
        )
        for lesson in walk.targets(failure_id, RelType.TAUGHT, Lesson)
    ]
    explanation.recurrence_of = [
        n.id for n in walk.targets(failure_id, RelType.RECURRENCE_OF, Failure)
    ]
    explanation.recurred_as = [
        n.id for n in walk.sources(failure_id, RelType.RECURRENCE_OF, Failure)
    ]
    return explanation


N = TypeVar("N", bound=Node)


@dataclass
class _Walk:
    """The nodes and edges an explanation is read from."""

    nodes: dict[str, Node]
    edges: list[Edge]

    @classmethod
    def around(cls, store: GraphStore, failure_id: str) -> _Walk:
        """The failure's links, its parts and what they point at, and then what addresses
        its causes and implements its practices: three walks."""
        around = store.neighbours(failure_id)
        parts = store.neighbours(failure_id, _PARTS, depth=2)
        nodes = {n.id: n for n in [*around.nodes, *parts.nodes]}
        causes = [e.target for e in around.edges if e.rel is RelType.CAUSED_BY]
        practices = [n.id for n in nodes.values() if isinstance(n, Practice)]
        fringe = store.neighbours([*causes, *practices], [RelType.ADDRESSES, RelType.IMPLEMENTS])
        nodes.update((n.id, n) for n in fringe.nodes)
        edges = {e.key: e for e in [*around.edges, *parts.edges, *fringe.edges]}
        return cls(nodes, list(edges.values()))

    def targets(self, source: str, rel: RelType, kind: type[N]) -> list[N]:
        """The nodes `source` links to over `rel` that are a `kind`, by id."""
        found = [self.nodes[e.target] for e in self.edges if e.source == source and e.rel is rel]
        return sorted((n for n in found if isinstance(n, kind)), key=lambda n: n.id)

    def sources(self, target: str, rel: RelType, kind: type[N]) -> list[N]:
        """The nodes that link to `target` over `rel` and are a `kind`, by id."""
        found = [self.nodes[e.source] for e in self.edges if e.target == target and e.rel is rel]
        return sorted((n for n in found if isinstance(n, kind)), key=lambda n: n.id)

    def causes(self, failure_id: str) -> list[tuple[Cause, Edge]]:
        """The failure's causes with their links, root causes first, then by id."""
        linked = [
            (cause, e)
            for e in self.edges
            if e.source == failure_id
            and e.rel is RelType.CAUSED_BY
            and isinstance(cause := self.nodes[e.target], Cause)
        ]
        return sorted(linked, key=lambda pair: (role_rank(_role(pair[1])), pair[0].id))


def _practice_note(walk: _Walk, practice: Practice) -> PracticeNote:
    return PracticeNote(
        id=practice.id,
        name=practice.name,
        status=practice.status,
        adopted_at=practice.adopted_at,
        actions=sorted(a.text for a in walk.sources(practice.id, RelType.IMPLEMENTS, Action)),
    )


def _cause_note(walk: _Walk, cause: Cause, link: Edge, tested_by: list[TestNote]) -> CauseNote:
    return CauseNote(
        id=cause.id,
        name=cause.name,
        role=_role(link),
        status=link.status or CauseStatus.ACCEPTED,
        evidence=link.evidence,
        tested_by=tested_by,
        addressed_by=[
            _practice_note(walk, p) for p in walk.sources(cause.id, RelType.ADDRESSES, Practice)
        ],
    )


def _role(edge: Edge) -> CauseRole:
    return edge.role or CauseRole.ROOT


def to_text(explanation: Explanation) -> str:
    """The explanation as an indented tree, one fact per line."""
    lines = [f"{explanation.failure.title} ({explanation.failure.id})"]

    def practice_lines(practice: PracticeNote, how: str) -> list[str]:
        since = f" since {practice.adopted_at}" if practice.adopted_at else ""
        out = [f"    {how} practice: {practice.name} [{practice.status}{since}]"]
        out += [f"      action: {action}" for action in practice.actions]
        return out

    for cause in explanation.causes:
        standing = "" if cause.status == "accepted" else f" [{cause.status}]"
        lines.append(f"  caused by ({cause.role}){standing}: {cause.name}")
        if cause.evidence:
            lines.append(f"    evidence: {cause.evidence}")
        for test in cause.tested_by:
            finding = f": {test.finding}" if test.finding else ""
            lines.append(f"    tested: {test.hypothesis} -> {test.outcome}{finding}")
        for practice in cause.addressed_by:
            lines += practice_lines(practice, "addressed by")
    for test in explanation.untested_experiments:
        lines.append(f"  experiment: {test.hypothesis} -> {test.outcome}")
    for lesson in explanation.lessons:
        lines.append(f"  lesson: {lesson.text}")
        for practice in lesson.practices:
            lines += practice_lines(practice, "became")
    lines += [f"  recurrence of: {fid}" for fid in explanation.recurrence_of]
    lines += [f"  came back as: {fid}" for fid in explanation.recurred_as]
    return "\n".join(lines)


def to_dot(explanation: Explanation) -> str:
    """The explanation as a Graphviz digraph (render with `dot -Tsvg`)."""
    nodes: dict[str, str] = {explanation.failure.id: explanation.failure.title}
    edges: list[tuple[str, str, str]] = []

    def practice_node(practice: PracticeNote) -> str:
        nodes[practice.id] = f"{practice.name} [{practice.status}]"
        return practice.id

    for cause in explanation.causes:
        nodes[cause.id] = cause.name
        edges.append((explanation.failure.id, cause.id, f"caused by ({cause.role})"))
        for test in cause.tested_by:
            nodes[test.id] = f"{test.hypothesis} -> {test.outcome}"
            edges.append((test.id, cause.id, "tested"))
        for practice in cause.addressed_by:
            edges.append((practice_node(practice), cause.id, "addresses"))
    for lesson in explanation.lessons:
        nodes[lesson.id] = lesson.text
        edges.append((explanation.failure.id, lesson.id, "taught"))
        for practice in lesson.practices:
            edges.append((lesson.id, practice_node(practice), "adopted as"))
    for other in explanation.recurrence_of:
        nodes.setdefault(other, other)
        edges.append((explanation.failure.id, other, "recurrence of"))
    for other in explanation.recurred_as:
        nodes.setdefault(other, other)
        edges.append((other, explanation.failure.id, "recurrence of"))
    lines = ["digraph explanation {", "  rankdir=LR;", "  node [shape=box];"]
    lines += [f"  {_quote(i)} [label={_quote(label)}];" for i, label in nodes.items()]
    lines += [f"  {_quote(a)} -> {_quote(b)} [label={_quote(rel)}];" for a, b, rel in edges]
    return "\n".join([*lines, "}"])


def _quote(text: str) -> str:
    """A DOT string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class CauseSuggestion(BaseModel):
    """A cause the failure does not have yet, seen in failures like it."""

    id: str
    name: str
    score: float
    seen_in: list[str]


def suggest_causes(
    store: GraphStore, embedder: Embedder, failure_id: str, *, limit: int = 5
) -> list[CauseSuggestion]:
    """Causes of the past failures most like this one that it does not have yet, ranked by
    the summed confidence of the failures they come from."""
    failure = the_failure(store, failure_id)
    own = {e.target for e in store.neighbours(failure_id, [RelType.CAUSED_BY]).edges}
    query = RecognizeQuery(title=failure.title, description=failure.summary)
    found: dict[str, CauseSuggestion] = {}
    for match in recognize(store, embedder, query, limit=10).matches:
        other = match.context.failure.id
        if other == failure_id:
            continue
        for cause in match.context.causes:
            if cause.id in own or cause.status is CauseStatus.REJECTED:
                continue
            suggestion = found.setdefault(
                cause.id, CauseSuggestion(id=cause.id, name=cause.name, score=0.0, seen_in=[])
            )
            suggestion.score += match.confidence
            suggestion.seen_in.append(other)
    ranked = sorted(found.values(), key=lambda s: (-s.score, s.id))
    return ranked[:limit]
