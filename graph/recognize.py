"""Has this failed before? Recognising a new failure among the past ones.

Four stages; only the first talks to the store and the model, the rest are pure functions
over ids and scores (unit-tested in tests/unit/test_recognize.py):

1. `gather_signals`: candidate rankings of past failures, each from one kind of evidence:
   - `vector`: cosine of the query to each failure's title and summary;
   - `keyword`: full-text (BM25-style) match of the query's words;
   - `graph`: failures that share a cause or component the user named (resolved to stored
     entities as the import resolves names).
2. `fuse`: weighted reciprocal rank fusion of those rankings.
3. `confidence`: how sure we are that a match is the same failure pattern, from the
   agreement of the evidence (no single cosine cut-off separates true from false matches),
   one piece of which is `add_passages`: the best cosine of the query to one sentence of the
   match (a long summary that mentions the pattern in one sentence still matches). It is
   found for the matches only, read with their contexts: ranking candidates by it added
   nothing (see WEIGHTS), and reading every candidate's text cost a round trip and most of
   a recognition's time at 100k failures (docs/benchmarks.md).
4. `verdict`: `likely recurrence`, `related` or `new`, by thresholds on the confidence.

The weights and thresholds are calibrated by `bench/recognize.py` on labelled queries;
docs/benchmarks.md gives the recall and false-recurrence rate they yield.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import pydantic
from pydantic import BaseModel, Field, model_validator

from lessons.graph.embeddings import Embedder, Vector
from lessons.graph.errors import ValidationError
from lessons.graph.facts import create_failure
from lessons.graph.inputs import CauseLink, FailureDraft
from lessons.graph.models import (
    CauseRole,
    Failure,
    Label,
    Node,
    PracticeStatus,
    RelType,
)
from lessons.graph.reads import FailureContext, failure_contexts
from lessons.graph.resolution import resolve_names
from lessons.graph.search import matched_terms, reciprocal_rank_fusion
from lessons.graph.store import GraphStore
from lessons.graph.text import keyword_terms, split_passages

CANDIDATES = 50


class Verdict(StrEnum):
    """What the best match says about a new failure."""

    LIKELY_RECURRENCE = "likely recurrence"
    RELATED = "related"
    NEW = "new"


class RecognizeQuery(BaseModel):
    """A new failure as the person who noticed it describes it."""

    title: str | None = Field(default=None, description="one line: what broke")
    description: str = Field(default="", description="symptoms, suspected cause, anything known")
    components: list[str] = Field(default=[], description="affected components, if known")
    causes: list[str] = Field(default=[], description="suspected causes, if known")
    tags: list[str] = []

    @model_validator(mode="after")
    def _has_text(self) -> RecognizeQuery:
        if not self.text():
            raise ValueError("describe the failure: give a title or a description")
        return self

    def text(self) -> str:
        """Title and description as one text, whitespace collapsed."""
        parts = [p.strip() for p in (self.title or "", self.description) if p and p.strip()]
        return re.sub(r"\s+", " ", ". ".join(parts))


@dataclass
class Signals:
    """Everything the store and the model said about one query's candidates."""

    rankings: dict[str, list[str]] = field(default_factory=dict)
    vector: Vector | None = None  # the query's
    similarity: dict[str, float] = field(default_factory=dict)
    passages: dict[str, tuple[float, str]] = field(default_factory=dict)
    shared_causes: dict[str, list[str]] = field(default_factory=dict)
    shared_components: dict[str, list[str]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def rank(self, signal: str, failure_id: str) -> int | None:
        """1-based rank of a failure in one signal's ranking, or None."""
        ranking = self.rankings.get(signal, [])
        return ranking.index(failure_id) + 1 if failure_id in ranking else None


# Fusion weights per signal, chosen by `bench/recognize.py --set icco --calibrate` on blind
# questions about 242 long write-ups and reported on the other sets (docs/benchmarks.md).
# A ranking by the best sentence (`passage`, which the benchmark still measures) added
# nothing there and goes to the confidence instead; a ranking of failures whose causes or
# lessons are close to the query lowered every figure and was removed. `graph` (names the
# user gives) has no labelled data yet.
WEIGHTS: Mapping[str, float] = {
    "vector": 0.5,
    "keyword": 2.0,
    "graph": 1.0,
}


def gather_signals(
    store: GraphStore, embedder: Embedder, query: RecognizeQuery, *, candidates: int = CANDIDATES
) -> Signals:
    """Candidate rankings of past failures for `query`, one per kind of evidence (the keyword
    search runs in a thread while the query is encoded and searched by vector, as in search)."""
    text = query.text()
    signals = Signals()
    with ThreadPoolExecutor(max_workers=1) as thread:
        keyword = thread.submit(store.keyword_search, [Label.FAILURE], text, candidates)
        signals.vector = embedder.encode([text])[0]
        vector_hits = store.vector_search([Label.FAILURE], signals.vector, candidates)
        keyword_hits = keyword.result()
    signals.rankings["vector"] = [h.id for h in vector_hits]
    signals.rankings["keyword"] = [h.id for h in keyword_hits]
    signals.similarity = {h.id: h.score for h in vector_hits}
    _graph_signal(store, embedder, query, signals)
    return signals


def add_passages(embedder: Embedder, signals: Signals, failures: Iterable[Failure]) -> None:
    """Each failure's sentence closest to the query, with its cosine, and its text (the
    evidence `features` reads). The sentences' vectors come from the cache the import filled."""
    assert signals.vector is not None, "gather_signals encodes the query first"
    failures = list(failures)
    passages = {f.id: f.passages() for f in failures}
    signals.texts.update((f.id, f.search_text()) for f in failures)
    unique = list(dict.fromkeys(p for ps in passages.values() for p in ps))
    if not unique:
        return
    cosine = dict(zip(unique, (embedder.encode(unique) @ signals.vector).tolist(), strict=True))
    for failure_id, sentences in passages.items():
        if sentences:
            best = max(sentences, key=lambda s: cosine[s])
            signals.passages[failure_id] = (cosine[best], best)


def _graph_signal(
    store: GraphStore, embedder: Embedder, query: RecognizeQuery, signals: Signals
) -> None:
    """Failures that share the causes and components the user named, most shared first.

    Names are resolved to stored entities as the import resolves them (by id, name key,
    alias or embedding); each entity is credited once, under the first name given for it.
    """
    names = [(Label.CAUSE, c) for c in query.causes]
    names += [(Label.COMPONENT, c) for c in query.components]
    resolved = resolve_names(store, embedder, names)
    named: dict[str, str] = {}  # entity id -> the user's name for it
    for label_name in names:
        if label_name in resolved:
            named.setdefault(resolved[label_name], label_name[1])
    if not named:
        signals.rankings["graph"] = []
        return
    for edge in store.edges(list(named), [RelType.CAUSED_BY, RelType.AFFECTED]):
        shared = (
            signals.shared_causes if edge.rel is RelType.CAUSED_BY else signals.shared_components
        )
        shared.setdefault(edge.source, []).append(named[edge.target])
    count = {
        fid: len(signals.shared_causes.get(fid, [])) + len(signals.shared_components.get(fid, []))
        for fid in {*signals.shared_causes, *signals.shared_components}
    }
    signals.rankings["graph"] = sorted(count, key=lambda i: (-count[i], i))


def fuse(
    rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float] = WEIGHTS
) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion of the named rankings (a signal with no weight or an
    empty ranking is left out); best first, ties by id."""
    used = [s for s in rankings if weights.get(s, 0.0) > 0 and rankings[s]]
    return reciprocal_rank_fusion([rankings[s] for s in used], weights=[weights[s] for s in used])


def features(signals: Signals, query_text: str, failure_id: str) -> dict[str, float]:
    """The evidence that `failure_id` is the same pattern as the query, as numbers:

    - `similarity`: cosine of the query to the failure's title and summary;
    - `passage`: cosine of the query to the failure's closest sentence;
    - `coverage`: the share of the query's words that the failure's text contains.
    """
    terms = keyword_terms(query_text)
    text = signals.texts.get(failure_id, "")
    return {
        "similarity": signals.similarity.get(failure_id, 0.0),
        "passage": signals.passages.get(failure_id, (0.0, ""))[0],
        "coverage": len(matched_terms(query_text, text)) / len(terms) if terms else 0.0,
    }


def confidence(
    evidence: Mapping[str, float],
    weights: Mapping[str, float] | None = None,
    bias: float | None = None,
) -> float:
    """Probability (0..1) that a match with this evidence is the same failure pattern: a
    logistic model over `features`, fitted by bench/recognize.py on labelled queries."""
    weights = CONFIDENCE_WEIGHTS if weights is None else weights
    z = (CONFIDENCE_BIAS if bias is None else bias) + sum(
        weight * evidence[name] for name, weight in weights.items()
    )
    return 1.0 / (1.0 + math.exp(-z))


def verdict(score: float, *, likely: float, related: float) -> Verdict:
    """The verdict for a best match with this confidence."""
    if score >= likely:
        return Verdict.LIKELY_RECURRENCE
    if score >= related:
        return Verdict.RELATED
    return Verdict.NEW


# Fitted and chosen by `bench/recognize.py --set icco --calibrate` (see docs/benchmarks.md).
CONFIDENCE_WEIGHTS: Mapping[str, float] = {
    "similarity": 4.257,
    "passage": 3.505,
    "coverage": 1.499,
}
CONFIDENCE_BIAS = -2.805
LIKELY_THRESHOLD = 0.924
RELATED_THRESHOLD = 0.800


class Match(BaseModel):
    """A past failure that may be the same pattern, with the evidence and what it taught."""

    score: float
    confidence: float
    similarity: float | None
    passage: str | None
    passage_similarity: float | None
    ranks: dict[str, int]
    matched_terms: list[str]
    shared_causes: list[str]
    shared_components: list[str]
    recurred_despite_practice: list[str] = Field(
        description="its recurrences that came after one of its practices was adopted"
    )
    why: list[str]
    context: FailureContext


class Recognition(BaseModel):
    """The answer to "has this failed before?"."""

    verdict: Verdict
    confidence: float
    matches: list[Match]


def recognize(
    store: GraphStore, embedder: Embedder, query: RecognizeQuery, *, limit: int = 5
) -> Recognition:
    """Past failures most like `query`, each with its evidence, and a verdict."""
    signals = gather_signals(store, embedder, query)
    fused = fuse(signals.rankings, WEIGHTS)[:limit]
    contexts = failure_contexts(store, [fid for fid, _ in fused])
    add_passages(embedder, signals, (c.failure for c in contexts.values()))
    later = store.get_many(r for c in contexts.values() for r in c.recurred_as)
    matches = [_match(query, signals, fid, score, contexts[fid], later) for fid, score in fused]
    return answer(matches)


def answer(matches: list[Match]) -> Recognition:
    """The verdict on ranked matches: from the most confident of them, which need not be the
    first (the ranking weighs every signal, the confidence only the evidence of sameness)."""
    best = max((m.confidence for m in matches), default=0.0)
    return Recognition(
        verdict=verdict(best, likely=LIKELY_THRESHOLD, related=RELATED_THRESHOLD),
        confidence=best,
        matches=matches,
    )


def _match(
    query: RecognizeQuery,
    signals: Signals,
    failure_id: str,
    score: float,
    context: FailureContext,
    recurrences: Mapping[str, Node],
) -> Match:
    ranks = {s: r for s in signals.rankings if (r := signals.rank(s, failure_id)) is not None}
    similarity = signals.similarity.get(failure_id)
    passage = signals.passages.get(failure_id)
    terms = matched_terms(query.text(), context.failure.search_text())
    causes = signals.shared_causes.get(failure_id, [])
    components = signals.shared_components.get(failure_id, [])
    why = []
    if similarity is not None:
        why.append(f"similar meaning (cosine {similarity:.2f})")
    if passage is not None and passage[0] >= (similarity or 0.0):
        why.append(f"one passage matches closely (cosine {passage[0]:.2f})")
    if "keyword" in ranks and terms:
        why.append(f"shares words: {', '.join(terms)}")
    if causes:
        why.append(f"same cause: {', '.join(causes)}")
    if components:
        why.append(f"same component: {', '.join(components)}")
    despite = recurred_despite_practice(context, recurrences)
    if despite:
        why.append(f"it came back despite an adopted practice: {', '.join(despite)}")
    return Match(
        score=score,
        confidence=confidence(features(signals, query.text(), failure_id)),
        similarity=similarity,
        passage=passage[1] if passage else None,
        passage_similarity=passage[0] if passage else None,
        ranks=ranks,
        matched_terms=terms,
        shared_causes=causes,
        shared_components=components,
        recurred_despite_practice=despite,
        why=why,
        context=context,
    )


def recurred_despite_practice(
    context: FailureContext, recurrences: Mapping[str, Node]
) -> list[str]:
    """The failure's recurrences that happened on or after the adoption of one of its
    adopted (or verified) practices: the practice did not stop it coming back."""
    adopted = [
        p.adopted_at
        for p in context.practices
        if p.adopted_at is not None
        and p.status in (PracticeStatus.ADOPTED, PracticeStatus.VERIFIED)
    ]
    if not adopted:
        return []
    return [
        recurrence_id
        for recurrence_id in context.recurred_as
        if isinstance(later := recurrences.get(recurrence_id), Failure)
        and later.occurred_at is not None
        and later.occurred_at.date() >= min(adopted)
    ]


def record(
    store: GraphStore,
    embedder: Embedder,
    query: RecognizeQuery,
    *,
    recurrence_of: str | None = None,
) -> FailureContext:
    """Store the recognised failure (with its components and suspected causes); with
    `recurrence_of`, link it as a recurrence of that past failure, as the user confirmed.

    Everything is checked before anything is written: a bad name or link raises
    `ValidationError` and leaves the store as it was."""
    text = query.text()
    title = query.title or split_passages(text)[0]
    try:
        draft = FailureDraft(
            title=title[:500],
            summary=query.description or title,
            components=query.components,
            tags=query.tags,
            occurred_at=datetime.now(UTC),
            team=None,
        )
        causes = [CauseLink(name=cause, role=CauseRole.ROOT) for cause in query.causes]
    except pydantic.ValidationError as e:
        raise _not_recordable(e) from e
    return create_failure(store, embedder, draft, causes=causes, recurrence_of=recurrence_of)


def _not_recordable(error: pydantic.ValidationError) -> ValidationError:
    """The first problem pydantic found in what is to be recorded, said for the user."""
    first = error.errors()[0]
    field = "cause" if error.title == CauseLink.__name__ else ".".join(map(str, first["loc"]))
    value = textwrap.shorten(repr(first["input"]), 80)
    message = first["msg"].removeprefix("Value error, ")  # pydantic's prefix for our own
    return ValidationError(
        f"cannot record the failure: {field} {value}: {message}",
        hint="Nothing was stored; fix that value and record the failure again.",
    )
