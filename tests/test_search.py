"""Search with the real model over the example postmortems."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lessons.graph.embeddings import CachingEmbedder, Embedder
from lessons.graph.models import Label
from lessons.graph.search import search
from lessons.graph.store import SqliteStore
from lessons.graph.store.neo4j import Neo4jStore
from lessons.ingest.pipeline import discover, ingest

from .conftest import EXAMPLES, Neo4jTarget, wipe_neo4j


@pytest.fixture(scope="module")
def examples_store(
    model: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SqliteStore, CachingEmbedder]]:
    root: Path = tmp_path_factory.mktemp("examples")
    store = SqliteStore(root / "store.sqlite3")
    embedder = CachingEmbedder(model, root / "vectors.sqlite3")
    sources, _ = discover([str(EXAMPLES)])
    assert ingest(store, embedder, sources).ok
    yield store, embedder
    store.close()
    embedder.close()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "checkout API requests hang waiting for a free database connection during a sale",
            {
                "2023-02-14-checkout-db-pool",
                "2023-11-24-checkout-db-pool-black-friday",
                "2024-07-02-payments-db-connection-exhaustion",
            },
        ),
        (
            "browsers show certificate errors, the TLS cert on our API ran out",
            {"2022-07-19-api-tls-cert-expired", "2025-10-07-psp-mtls-cert-expired"},
        ),
        (
            "the database volume ran out of space and writes stopped",
            {"2023-05-22-payments-db-disk-full", "2025-08-19-payments-db-log-disk-full"},
        ),
    ],
)
def test_search_finds_the_same_failure_pattern_first(
    examples_store: tuple[SqliteStore, CachingEmbedder], query: str, expected: set[str]
) -> None:
    store, embedder = examples_store
    hits = search(store, embedder, query, limit=5)
    assert hits[0].context.failure.id in expected
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_hits_explain_themselves_and_carry_what_was_learned(
    examples_store: tuple[SqliteStore, CachingEmbedder],
) -> None:
    store, embedder = examples_store
    (hit,) = search(
        store, embedder, "Black Friday checkout database connections exhausted", limit=1
    )
    assert hit.context.failure.id == "2023-11-24-checkout-db-pool-black-friday"
    assert hit.vector_rank is not None and hit.keyword_rank is not None
    assert "checkout" in hit.matched_terms
    assert any("similar meaning" in why for why in hit.why)
    assert any(c.role == "root" for c in hit.context.causes)
    assert hit.context.lessons and hit.context.practices
    assert {e.outcome.value for e in hit.context.experiments} == {"refuted", "confirmed"}
    assert hit.context.recurrence_of == ["2023-02-14-checkout-db-pool"]
    assert hit.context.recurred_as == ["2024-07-02-payments-db-connection-exhaustion"]


def test_empty_query_finds_nothing(examples_store: tuple[SqliteStore, CachingEmbedder]) -> None:
    store, embedder = examples_store
    assert search(store, embedder, "   ") == []


QUERIES = [
    "checkout API requests hang waiting for a free database connection during a sale",
    "browsers show certificate errors, the TLS cert on our API ran out",
    "the database volume ran out of space and writes stopped",
    "a bad configuration push throttled every client of the gateway",
    "someone phished an engineer and stole their session",
    "the new mobile release logs users out after the update",
    "backups could not be restored when we needed them",
    "sensor readings drifted after we changed a supplier",
]


def test_both_stores_give_the_same_top_hits(
    examples_store: tuple[SqliteStore, CachingEmbedder],
    neo4j_server: Neo4jTarget,
) -> None:
    sqlite, embedder = examples_store
    wipe_neo4j(neo4j_server)
    neo4j = Neo4jStore(neo4j_server.uri, user=neo4j_server.user, password=neo4j_server.password)
    sources, _ = discover([str(EXAMPLES)])
    assert ingest(neo4j, embedder, sources).ok
    for query in QUERIES:
        vector = embedder.encode([query])[0]
        on_sqlite = sqlite.vector_search([Label.FAILURE], vector, 5)
        on_neo4j = neo4j.vector_search([Label.FAILURE], vector, 5)
        assert [h.id for h in on_sqlite] == [h.id for h in on_neo4j], query
        assert np.allclose([h.score for h in on_sqlite], [h.score for h in on_neo4j], atol=1e-3)
        # Keyword scores differ (the embedded store scores BM25 as FTS5 did, Neo4j as Lucene
        # does); the fused ranking must still agree on what comes first.
        first = search(sqlite, embedder, query, limit=3)
        second = search(neo4j, embedder, query, limit=3)
        assert first[0].context.failure.id == second[0].context.failure.id, query
    neo4j.close()
