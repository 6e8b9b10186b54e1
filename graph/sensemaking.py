"""Sensemaking: a failure's causal neighbourhood, and causes suggested by similar failures.

`explain` gathers what is known about why a failure happened and what it led to: its causes
with their role, the experiments that tested them and the practices that address them; its
lessons with the practices they became and the actions that implement those; its recurrences.
`to_text` draws that as a tree, `to_dot` as a Graphviz graph. `suggest_causes` proposes
causes the failure does not have yet, from the past failures `recognize` finds most like it.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from lessons.graph.embeddings import Embedder
from lessons.graph.models import (
    Action,
    CauseRole,
    CauseStatus,
    ExperimentOutcome,
    Failure,
    Practice,
    PracticeStatus,
    RelType,
    role_rank,
)
from lessons.graph.reads import LessonView, PracticeView, get_failure, the_failure
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


def explain(store: GraphStore, failure_id: str) -> Explanation:
    """The causal neighbourhood of a failure, derived from its read model (`get_failure`:
    `NotFoundError` unless `failure_id` is a failure's) and one more walk: the practices that
    address its causes and the actions that implement its practices. Four store calls."""
    context = get_failure(store, failure_id)
    practices: dict[str, PracticeView | Practice] = {p.id: p for p in context.practices}
    fringe = store.neighbours(
        [*(c.id for c in context.causes), *practices], [RelType.ADDRESSES, RelType.IMPLEMENTS]
    )
    nodes = {n.id: n for n in fringe.nodes}
    addressed_by: dict[str, list[Practice]] = {}
    actions: dict[str, list[str]] = {}
    for edge in fringe.edges:
        source = nodes[edge.source]
        if edge.rel is RelType.ADDRESSES and isinstance(source, Practice):
            addressed_by.setdefault(edge.target, []).append(source)
            practices.setdefault(source.id, source)
        elif edge.rel is RelType.IMPLEMENTS and isinstance(source, Action):
            actions.setdefault(edge.target, []).append(source.text)

    def note(practice_id: str) -> PracticeNote:
        practice = practices[practice_id]
        return PracticeNote(
            id=practice.id,
            name=practice.name,
            status=practice.status,
            adopted_at=practice.adopted_at,
            actions=sorted(actions.get(practice.id, [])),
        )

    explanation = Explanation(
        failure=context.failure,
        recurrence_of=sorted(context.recurrence_of),
        recurred_as=sorted(context.recurred_as),
    )
    tested: dict[str, list[TestNote]] = {}
    for experiment in sorted(context.experiments, key=lambda e: e.id):
        test = TestNote(
            id=experiment.id,
            hypothesis=experiment.hypothesis,
            outcome=experiment.outcome,
            finding=experiment.finding,
        )
        for cause_id in experiment.tested_cause_ids:
            tested.setdefault(cause_id, []).append(test)
        if not experiment.tested_cause_ids:
            explanation.untested_experiments.append(test)
    explanation.causes = [
        CauseNote(
            id=cause.id,
            name=cause.name,
            role=cause.role,
            status=cause.status,
            evidence=cause.evidence,
            tested_by=tested.get(cause.id, []),
            addressed_by=[note(p.id) for p in sorted(addressed_by.get(cause.id, []), key=_id)],
        )
        for cause in sorted(context.causes, key=lambda c: (role_rank(c.role), c.id))
    ]
    explanation.lessons = [
        LessonNote(id=lesson.id, text=lesson.text, practices=[note(p) for p in lesson.adopted_as])
        for lesson in sorted(context.lessons, key=_id)
    ]
    return explanation


def _id(item: Practice | LessonView) -> str:
    return item.id


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
