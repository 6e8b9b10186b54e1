"""`lessons copy`: a graph moves between the two stores and back, unchanged and not re-encoded."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.models import Label
from lessons.graph.store import GraphStore, SqliteStore
from lessons.graph.store.neo4j import Neo4jStore
from lessons.graph.transfer import copy_graph
from lessons.ingest.pipeline import FileStatus, discover, ingest

from .conftest import EXAMPLES, Neo4jTarget, wipe_neo4j


@pytest.fixture
def embedder(fast_embedder: CachingEmbedder) -> CachingEmbedder:
    """Copying moves vectors as they are, whatever made them
    (tests/hashing_embedder.py serves)."""
    return fast_embedder


def all_vectors(store: GraphStore) -> dict[str, np.ndarray]:
    ids = list(store.to_networkx().nodes)
    return store.vectors(ids)


def test_sqlite_to_neo4j_and_back_keeps_the_graph(
    tmp_path: Path, embedder: CachingEmbedder, neo4j_server: Neo4jTarget
) -> None:
    source = SqliteStore(tmp_path / "source.sqlite3")
    sources, _ = discover([str(EXAMPLES)])
    assert ingest(source, embedder, sources).ok
    source.upsert_nodes(source.list_nodes(Label.TEAM)[:1])  # hand-made writes travel too
    wipe_neo4j(neo4j_server)
    middle = Neo4jStore(neo4j_server.uri, user=neo4j_server.user, password=neo4j_server.password)
    back = SqliteStore(tmp_path / "back.sqlite3")
    encoded = embedder.encoded_count

    report = copy_graph(source, middle)
    copy_graph(middle, back)

    original = source.to_networkx()
    assert report.nodes == original.number_of_nodes()
    assert report.edges == original.number_of_edges()
    for copy in (middle, back):
        assert nx.utils.graphs_equal(original, copy.to_networkx())
        assert dict(copy.to_networkx().nodes(data=True)) == dict(original.nodes(data=True))
        vectors = all_vectors(copy)
        expected = all_vectors(source)
        assert vectors.keys() == expected.keys()
        assert all(np.allclose(vectors[k], expected[k], atol=1e-6) for k in expected)
    assert embedder.encoded_count == encoded  # nothing was encoded again

    # Document claims came along: re-importing into the copy finds everything unchanged,
    # and deleting a document there removes what only it said.
    again = ingest(back, embedder, sources)
    assert again.count(FileStatus.UNCHANGED) == len(sources)
    document = back.list_nodes(Label.DOCUMENT, limit=1)[0]
    back.delete_document(document.id)
    source.delete_document(document.id)
    assert nx.utils.graphs_equal(source.to_networkx(), back.to_networkx())
    for store in (source, middle, back):
        store.close()


def test_a_copy_run_again_writes_no_document_twice(
    tmp_path: Path, embedder: CachingEmbedder
) -> None:
    source = SqliteStore(tmp_path / "source.sqlite3")
    sources, _ = discover([str(EXAMPLES)])
    assert ingest(source, embedder, sources).ok
    target = SqliteStore(tmp_path / "target.sqlite3")

    first = copy_graph(source, target, write_batch=3)
    again = copy_graph(source, target, write_batch=3)

    assert (first.documents, first.skipped) == (len(sources), 0)
    assert (again.documents, again.skipped) == (0, len(sources))
    assert nx.utils.graphs_equal(source.to_networkx(), target.to_networkx())
    source.close()
    target.close()
