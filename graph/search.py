"""Search for past failures, and for causes, practices and components: vector and keyword
rankings fused by reciprocal rank fusion.

Ranking is pure functions over ids and scores (`reciprocal_rank_fusion`); the store only
supplies the candidate rankings and, afterwards, what each hit's failure taught.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pydantic import BaseModel

from lessons.graph.embeddings import Embedder
from lessons.graph.errors import ValidationError
from lessons.graph.models import Cause, Component, Label, Practice
from lessons.graph.reads import (
    CauseDetail,
    ComponentDetail,
    FailureContext,
    FailureRef,
    PracticeDetail,
    failure_contexts,
    get_cause,
    get_component,
    get_practice,
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


class SearchHit(BaseModel):
    """One past failure that matches a query, with the evidence for the match."""

    score: float
    similarity: float | None
    vector_rank: int | None
    keyword_rank: int | None
    matched_terms: list[str]
    why: list[str]
    context: FailureContext


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


class EntityHit(BaseModel):
    """A cause, practice or component that matches a query, with the failures sharing it."""

    id: str
    label: Label
    name: str
    score: float
    similarity: float | None
    why: list[str]
    failures: list[FailureRef]


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
