"""Graph stores: the `GraphStore` protocol and its backends; `open_store` picks one by URL."""

from __future__ import annotations

from lessons.graph.errors import ConfigError
from lessons.graph.settings import Settings
from lessons.graph.store.base import (
    DocumentGraph,
    GraphStore,
    ScoredId,
    StoreStats,
    Subgraph,
    all_edges,
    node_pages,
)
from lessons.graph.store.sqlite import SqliteStore, sqlite_path_from_url

__all__ = [
    "DocumentGraph",
    "GraphStore",
    "ScoredId",
    "SqliteStore",
    "StoreStats",
    "Subgraph",
    "all_edges",
    "node_pages",
    "open_store",
]

NEO4J_SCHEMES = ("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://", "bolt+ssc://")


def open_store(settings: Settings) -> GraphStore:
    """Open the store `settings.store_url` names: Neo4j (`neo4j://`, `bolt://`, ...) or SQLite."""
    url = settings.store_url
    if url.startswith(NEO4J_SCHEMES):
        from lessons.graph.store.neo4j import Neo4jStore

        return Neo4jStore(
            url,
            user=settings.neo4j_user,
            password=settings.neo4j_password,
            database=settings.neo4j_database,
            timeout=settings.neo4j_timeout,
        )
    if "://" in url and not url.startswith("sqlite:///"):
        raise ConfigError(
            f"unknown store URL {url!r}",
            hint="Use sqlite:///relative.db, sqlite:////absolute.db, a file path, "
            "or neo4j://host:7687.",
        )
    return SqliteStore(sqlite_path_from_url(url))
