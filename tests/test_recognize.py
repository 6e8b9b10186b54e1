"""Recognition over the example postmortems, with the real model, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from lessons.graph.embeddings import CachingEmbedder, Embedder
from lessons.graph.facts import create_failure, update_failure
from lessons.graph.inputs import FailureChanges, FailureDraft
from lessons.graph.models import Failure, PracticeStatus
from lessons.graph.reads import FailureContext, PracticeView
from lessons.graph.recognize import (
    RecognizeQuery,
    Verdict,
    recognize,
    record,
    recurred_despite_practice,
)
from lessons.graph.store import GraphStore, SqliteStore
from lessons.graph.store.neo4j import Neo4jStore
from lessons.ingest.pipeline import discover, ingest

from .conftest import EXAMPLES, Neo4jTarget, wipe_neo4j

DB_POOL = {
    "2023-02-14-checkout-db-pool",
    "2023-11-24-checkout-db-pool-black-friday",
    "2024-07-02-payments-db-connection-exhaustion",
}


@pytest.fixture(scope="module", params=["sqlite", "neo4j"])
def examples(
    request: pytest.FixtureRequest,
    model: Embedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[GraphStore, CachingEmbedder]]:
    """The example postmortems imported into each store."""
    root: Path = tmp_path_factory.mktemp("recognize")
    store: GraphStore
    if request.param == "sqlite":
        store = SqliteStore(root / "store.sqlite3")
    else:
        target: Neo4jTarget = request.getfixturevalue("neo4j_server")
        wipe_neo4j(target)
        store = Neo4jStore(target.uri, user=target.user, password=target.password)
    embedder = CachingEmbedder(model, root / "vectors.sqlite3")
    assert ingest(store, embedder, discover([str(EXAMPLES)])[0]).ok
    yield store, embedder
    store.close()
    embedder.close()


def test_a_known_pattern_is_recognised_with_its_evidence_and_lessons(
    examples: tuple[GraphStore, CachingEmbedder],
) -> None:
    store, embedder = examples
    result = recognize(
        store,
        embedder,
        RecognizeQuery(
            title="Checkout hangs during the sale",
            description="requests wait for a free database connection until they time out",
            components=["checkout-api"],
        ),
    )
    assert result.verdict is not Verdict.NEW
    best = result.matches[0]
    assert best.context.failure.id in DB_POOL
    assert best.confidence == result.confidence
    assert {"vector", "keyword", "graph"} <= best.ranks.keys()
    assert best.shared_components == ["checkout-api"]
    assert best.passage and best.passage in best.context.failure.summary
    assert "checkout" in best.matched_terms
    assert best.context.causes and best.context.lessons and best.context.practices
    confidences = [m.confidence for m in result.matches]
    assert max(confidences) <= 1 and min(confidences) >= 0


def test_a_recurrence_despite_a_practice_is_flagged(
    examples: tuple[GraphStore, CachingEmbedder],
) -> None:
    store, embedder = examples
    result = recognize(
        store,
        embedder,
        RecognizeQuery(description="Valentine's Day sale: checkout 502s, all 30 pool connections"),
        limit=10,
    )
    by_id = {m.context.failure.id: m for m in result.matches}
    # Practices adopted in March 2023 were in force when it came back in November.
    assert by_id["2023-02-14-checkout-db-pool"].recurred_despite_practice == [
        "2023-11-24-checkout-db-pool-black-friday"
    ]


def test_an_unrelated_failure_is_new(examples: tuple[GraphStore, CachingEmbedder]) -> None:
    store, embedder = examples
    result = recognize(
        store,
        embedder,
        RecognizeQuery(
            description="The office coffee machine in building 2 leaks water onto the floor "
            "every morning since the plumber visited."
        ),
    )
    assert result.verdict is Verdict.NEW


def test_record_stores_the_failure_and_links_the_confirmed_recurrence(
    examples: tuple[GraphStore, CachingEmbedder],
) -> None:
    store, embedder = examples
    query = RecognizeQuery(
        title="Checkout pool exhausted again",
        description="Checkout requests time out waiting for database connections.",
        components=["checkout-api"],
        causes=["Database connection pool exhausted"],
    )
    recorded = record(store, embedder, query, recurrence_of="2023-02-14-checkout-db-pool")
    assert recorded.failure.title == "Checkout pool exhausted again"
    assert recorded.recurrence_of == ["2023-02-14-checkout-db-pool"]
    assert [c.name for c in recorded.causes] == ["Database connection pool exhausted"]
    assert recorded.components == ["checkout-api"]
    again = recognize(store, embedder, query)  # the recorded failure is searchable at once
    assert recorded.failure.id in [m.context.failure.id for m in again.matches]


def context_with(adopted: date | None, recurrence: str) -> FailureContext:
    failure = Failure(id="f", title="t", summary="s")
    practice = PracticeView(
        id="practice:p", name="p", status=PracticeStatus.ADOPTED, adopted_at=adopted
    )
    return FailureContext(failure=failure, practices=[practice], recurred_as=[recurrence])


def test_recurred_despite_practice_compares_dates() -> None:
    later = {
        "after": Failure(
            id="after", title="t", summary="s", occurred_at=datetime(2024, 5, 1, tzinfo=UTC)
        ),
        "before": Failure(
            id="before", title="t", summary="s", occurred_at=datetime(2023, 1, 1, tzinfo=UTC)
        ),
    }
    assert recurred_despite_practice(context_with(date(2024, 1, 1), "after"), later) == ["after"]
    assert recurred_despite_practice(context_with(date(2024, 1, 1), "before"), later) == []
    assert recurred_despite_practice(context_with(None, "after"), later) == []


def test_a_new_question_encodes_only_itself(
    sqlite_store: SqliteStore, model: Embedder, tmp_path: Path
) -> None:
    """The passages recognition compares a query with are encoded when failures are written
    (by an import, by hand, or changed), so a question nobody asked before costs one text."""
    embedder = CachingEmbedder(model, tmp_path / "vectors.sqlite3")
    assert ingest(sqlite_store, embedder, discover([str(EXAMPLES)])[0]).ok
    create_failure(
        sqlite_store,
        embedder,
        FailureDraft(
            title="Search index rebuild stalled",
            summary="The nightly rebuild of the search index stalled for six hours. Queries "
            "served results that were a day old until someone noticed the stale dashboard.",
        ),
    )
    update_failure(
        sqlite_store,
        embedder,
        "search-index-rebuild-stalled",
        FailureChanges(resolution="We restarted the indexer with a larger heap and it caught up."),
    )
    for question in (
        "Checkout requests time out waiting for a free database connection",
        "Search results are stale because the index rebuild got stuck",
        "The indexer ran out of heap while catching up on the nightly rebuild",
    ):
        before = embedder.encoded_count
        result = recognize(sqlite_store, embedder, RecognizeQuery(description=question))
        assert result.matches and all(m.passage for m in result.matches)
        assert embedder.encoded_count - before == 1, question
    embedder.close()
