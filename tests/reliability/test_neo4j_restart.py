"""`make neo4j DATA=dir`: the test server restarts on a kept data directory (issue 16)."""

from __future__ import annotations

from pathlib import Path

from lessons.graph.models import Failure
from lessons.graph.store.neo4j import Neo4jStore
from tests.neo4j.server import Neo4jServer


def test_the_neo4j_launcher_restarts_on_its_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "neo4j-data"
    with Neo4jServer(data_dir=data) as first:
        store = Neo4jStore(first.uri, user=first.user, password=first.password)
        store.upsert_nodes([Failure(id="kept", title="Kept", summary="It survives a restart")])
        store.close()
    assert data.is_dir()
    with Neo4jServer(data_dir=data) as again:  # the same password is set again: no error
        store = Neo4jStore(again.uri, user=again.user, password=again.password)
        try:
            assert store.get("kept").title == "Kept"  # type: ignore[attr-defined]
        finally:
            store.close()
