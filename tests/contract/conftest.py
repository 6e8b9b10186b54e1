"""The contract suite: every test runs against each `GraphStore` backend, through the protocol.

The `store` fixture (tests/conftest.py) is parametrised over the SQLite and Neo4j backends;
`open_same_database` opens more stores on the database `store` uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from lessons.graph.store import GraphStore, SqliteStore
from lessons.graph.store.neo4j import Neo4jStore

from ..conftest import Neo4jTarget


@pytest.fixture
def open_same_database(
    store: GraphStore, request: pytest.FixtureRequest
) -> Iterator[Callable[[], GraphStore]]:
    """Open another store object on the database `store` uses, as another process would."""
    opened: list[GraphStore] = []

    def open_store() -> GraphStore:
        other: GraphStore
        if isinstance(store, SqliteStore):
            other = SqliteStore(store.path)
        else:
            target: Neo4jTarget = request.getfixturevalue("neo4j_server")
            other = Neo4jStore(target.uri, user=target.user, password=target.password)
        opened.append(other)
        return other

    yield open_store
    for other in opened:
        other.close()
