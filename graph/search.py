"""Search for past failures: vector and keyword rankings fused by reciprocal rank fusion.

Ranking is pure functions over ids and scores (`reciprocal_rank_fusion`); the store only
supplies the candidate rankings and, afterwards, what each hit's failure taught.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel

from lessons.graph.embeddings import Embedder
from lessons.graph.errors import ValidationError
from lessons.graph.models import (
    Action,
    Cause,
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
)
from lessons.graph.store import GraphStore
from lessons.graph.text import keyword_terms

RRF_K = 60
CANDIDATES = 50


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]],
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: each id scores sum(weight / (k + rank)); best first, ties by id.

    Without `weights`, every ranking weighs 1.
    """
    scores: dict[str, float] = {}
    for index, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[index]
        for rank, node_id in enumerate(ranking, start=1):
            scores[node_id] = scores.get(node_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def matched_terms(query: str, text: str) -> list[str]:
    """Query words that also occur in `text` (same word or same first five letters)."""
    words = set(keyword_terms(text))
    stems = {w[:5] for w in words if len(w) >= 5}
    return [t for t in keyword_terms(query) if t in words or (len(t) >= 5 and t[:5] in stems)]


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
    role: str
    status: CauseStatus = CauseStatus.ACCEPTED
    evidence: str | None = None
    source: Source | None = None


class ExperimentView(BaseModel):
    """An experiment run while making sense of a failure."""

    id: str
    hypothesis: str
    outcome: ExperimentOutcome
    finding: str | None
    tested_causes: list[str]
    source: Source | None = None


class LessonView(BaseModel):
    """A lesson a failure taught."""

    id: str
    text: str
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


class SearchHit(BaseModel):
    """One past failure that matches a query, with the evidence for the match."""

    score: float
    similarity: float | None
    vector_rank: int | None
    keyword_rank: int | None
    matched_terms: list[str]
    why: list[str]
    context: FailureContext


# What hangs off a failure's lessons and experiments: the practices a lesson became and the
# causes an experiment tested. Walked from the lessons and experiments alone, never from a
# shared entity (a cause or component would fan out to every failure it touched).
LEARNED = [RelType.ADOPTED_AS, RelType.TESTED]


def failure_context(store: GraphStore, failure_id: str) -> FailureContext:
    """Everything one hop around a failure, plus its lessons' practices and what its
    experiments tested."""
    return failure_contexts(store, [failure_id])[failure_id]


def failure_contexts(store: GraphStore, failure_ids: Sequence[str]) -> dict[str, FailureContext]:
    """`failure_context` of many failures in two store calls, however many there are."""
    if not failure_ids:
        return {}
    around = store.neighbours(failure_ids)
    nodes = {n.id: n for n in around.nodes}
    out: dict[str, list[str]] = {}
    learned_from = [n.id for n in around.nodes if isinstance(n, Lesson | Experiment)]
    if learned_from:
        learned = store.neighbours(learned_from, LEARNED)
        nodes.update((n.id, n) for n in learned.nodes)
        for edge in learned.edges:
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
                role = edge.role.value if edge.role else "root"
                context.causes.append(
                    CauseView(
                        id=target.id,
                        name=target.name,
                        role=role,
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
                context.lessons.append(
                    LessonView(id=target.id, text=target.text, source=Source.of(edge))
                )
                practices.update(
                    (p.id, p) for t in out.get(target.id, []) if isinstance(p := nodes[t], Practice)
                )
            elif isinstance(target, Experiment):
                tested = [nodes[t] for t in out.get(target.id, [])]
                context.experiments.append(
                    ExperimentView(
                        id=target.id,
                        hypothesis=target.hypothesis,
                        outcome=target.outcome,
                        finding=target.finding,
                        tested_causes=sorted(c.name for c in tested if isinstance(c, Cause)),
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
    context.causes.sort(key=lambda c: (["root", "trigger", "contributing"].index(c.role), c.name))
    return context


def _natural_order(node_id: str) -> list[str | int]:
    """`f/lesson-2` before `f/lesson-10`: the order the document wrote them in."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", node_id)]


def search(
    store: GraphStore, embedder: Embedder, query: str, *, limit: int = 10
) -> list[SearchHit]:
    """Past failures most like `query`, best first, each with its evidence and context."""
    query = re.sub(r"\s+", " ", query).strip()
    if not query:
        return []
    found = ranked_candidates(store, embedder, Label.FAILURE, query, limit=limit)
    contexts = failure_contexts(store, [c.id for c in found])
    hits = []
    for candidate in found:
        context = contexts[candidate.id]
        terms = matched_terms(query, context.failure.search_text())
        why = []
        if candidate.vector_rank is not None and candidate.similarity is not None:
            why.append(
                f"similar meaning (cosine {candidate.similarity:.2f}, rank {candidate.vector_rank})"
            )
        if candidate.keyword_rank is not None:
            words = ", ".join(terms) if terms else "query words"
            why.append(f"shares words: {words} (rank {candidate.keyword_rank})")
        hits.append(
            SearchHit(
                score=candidate.score,
                similarity=candidate.similarity,
                vector_rank=candidate.vector_rank,
                keyword_rank=candidate.keyword_rank,
                matched_terms=terms,
                why=why,
                context=context,
            )
        )
    return hits


@dataclass(frozen=True)
class Candidate:
    """A node ranked by vector and keyword search together, with its place in each."""

    id: str
    score: float
    similarity: float | None
    vector_rank: int | None
    keyword_rank: int | None


def ranked_candidates(
    store: GraphStore, embedder: Embedder, label: Label, query: str, *, limit: int
) -> list[Candidate]:
    """The `limit` nodes with `label` best for `query`: the top CANDIDATES of vector search
    and of keyword search, fused by reciprocal rank fusion.

    The keyword search runs in a thread while the query is encoded (torch releases the GIL):
    on Neo4j at 100k failures that took 5-8 ms off a search (docs/benchmarks.md)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        keyword_future = pool.submit(store.keyword_search, [label], query, CANDIDATES)
        vector_hits = store.vector_search([label], embedder.encode([query])[0], CANDIDATES)
        keyword_hits = keyword_future.result()
    vector_ranks = {h.id: (rank, h.score) for rank, h in enumerate(vector_hits, start=1)}
    keyword_ranks = {h.id: rank for rank, h in enumerate(keyword_hits, start=1)}
    fused = reciprocal_rank_fusion([[h.id for h in vector_hits], [h.id for h in keyword_hits]])
    return [
        Candidate(
            id=node_id,
            score=score,
            similarity=vector_ranks.get(node_id, (None, None))[1],
            vector_rank=vector_ranks.get(node_id, (None, None))[0],
            keyword_rank=keyword_ranks.get(node_id),
        )
        for node_id, score in fused[:limit]
    ]
