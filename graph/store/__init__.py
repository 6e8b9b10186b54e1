"""Graph stores: the `GraphStore` protocol and its backends; `open_store` picks one by URL."""

from __future__ import annotations

from lessons.graph.errors import ConfigError
from lessons.graph.store.base import DocumentGraph, GraphStore, ScoredId, StoreStats, Subgraph
from lessons.graph.store.sqlite import SqliteStore, sqlite_path_from_url

__all__ = [
    "DocumentGraph",
    "GraphStore",
    "ScoredId",
    "SqliteStore",
    "StoreStats",
    "Subgraph",
    "open_store",
]


def open_store(url: str) -> GraphStore:
    """Open the store a URL names: `sqlite:///…` or a file path (embedded default)."""
    if url.startswith(("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://")):
        raise ConfigError(
            f"the Neo4j store ({url}) is not available in this version yet",
            hint="Use the embedded store: LESSONS_STORE=sqlite:///lessons.sqlite3",
        )
    if "://" in url and not url.startswith("sqlite:///"):
        raise ConfigError(
            f"unknown store URL {url!r}",
            hint="Use sqlite:///relative.db, sqlite:////absolute.db or a file path.",
        )
    return SqliteStore(sqlite_path_from_url(url))
