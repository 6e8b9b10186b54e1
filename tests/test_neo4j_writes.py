"""Neo4jStore's write path beyond the contract: a node re-sent unchanged is not written again,
the revision of a wiped database does not repeat, and a read carries the bookmark of the
write before it.

The contract suite checks what every store returns; this checks, on the real Neo4j, that
`_write_nodes` skips a node whose stored `content_hash` matches, by planting a property no
write of `lessons` would keep (`SET n = row.props` replaces them all) and seeing whether it
survives.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import neo4j
import numpy as np
import pytest

from lessons.graph.models import Cause, Document, Edge, Failure, RelType
from lessons.graph.store import DocumentGraph
from lessons.graph.store.neo4j import NODE, Neo4jStore
from tests.conftest import Neo4jTarget, wipe_neo4j


@pytest.fixture
def target(neo4j_server: Neo4jTarget) -> Neo4jTarget:
    wipe_neo4j(neo4j_server)
    return neo4j_server


@pytest.fixture
def store(target: Neo4jTarget) -> Iterator[Neo4jStore]:
    opened = Neo4jStore(target.uri, user=target.user, password=target.password)
    yield opened
    opened.close()


@pytest.fixture
def driver(target: Neo4jTarget) -> Iterator[neo4j.Driver]:
    auth = (target.user, target.password) if target.password else None
    with neo4j.GraphDatabase.driver(target.uri, auth=auth) as opened:
        yield opened


def plant(driver: neo4j.Driver, node_id: str) -> None:
    driver.execute_query(f"MATCH (n:{NODE} {{id: $id}}) SET n.planted = true", id=node_id)


def planted(driver: neo4j.Driver, node_id: str) -> bool:
    """Whether the planted property survived (it is removed: no domain model has it)."""
    records, _, _ = driver.execute_query(
        f"MATCH (n:{NODE} {{id: $id}}) WITH n, n.planted AS planted REMOVE n.planted "
        "RETURN planted",
        id=node_id,
    )
    return bool(records[0]["planted"])


def document(doc: str, failure: str, cause: Cause) -> DocumentGraph:
    return DocumentGraph(
        document=Document(
            id=f"doc:{doc}",
            path=f"{doc}.md",
            sha256=doc * 64,
            format="markdown",
            ingested_at=datetime(2026, 11, 27, tzinfo=UTC),
        ),
        nodes=[Failure(id=failure, title=f"{failure} broke", summary="it broke"), cause],
        edges=[Edge(source=failure, rel=RelType.CAUSED_BY, target=cause.id)],
        vectors={cause.id: np.full(384, 0.05, dtype=np.float32)},
    )


def test_a_shared_node_resent_unchanged_is_not_written_again(
    store: Neo4jStore, driver: neo4j.Driver
) -> None:
    pool = Cause(id="cause:pool", name="Pool exhausted")
    store.replace_documents([document("a", "f-a", pool)])
    plant(driver, "cause:pool")
    store.replace_documents([document("b", "f-b", pool)])  # same cause, same vector
    assert planted(driver, "cause:pool")
    assert store.get("cause:pool") == pool


def test_a_changed_node_is_written_again(store: Neo4jStore, driver: neo4j.Driver) -> None:
    pool = Cause(id="cause:pool", name="Pool exhausted")
    store.replace_documents([document("a", "f-a", pool)])
    plant(driver, "cause:pool")
    renamed = Cause(id="cause:pool", name="Connection pool exhausted")
    store.replace_documents([document("b", "f-b", renamed)])
    assert not planted(driver, "cause:pool")
    assert store.get("cause:pool") == renamed


def test_a_new_vector_alone_is_a_change(store: Neo4jStore, driver: neo4j.Driver) -> None:
    pool = Cause(id="cause:pool", name="Pool exhausted")
    store.replace_documents([document("a", "f-a", pool)])
    plant(driver, "cause:pool")
    again = document("b", "f-b", pool)
    again.vectors["cause:pool"] = np.full(384, -0.05, dtype=np.float32)
    store.replace_documents([again])
    assert not planted(driver, "cause:pool")
    assert store.vectors(["cause:pool"])["cause:pool"][0] == pytest.approx(-0.05)


def test_a_wiped_database_does_not_repeat_a_revision(
    store: Neo4jStore, target: Neo4jTarget
) -> None:
    pool = Cause(id="cause:pool", name="Pool exhausted")
    store.upsert_nodes([pool])
    before = store.revision()
    wipe_neo4j(target)  # the revision node goes too
    store.upsert_nodes([pool])
    assert store.revision() != before  # a process that cached `before` builds again


def test_vectors_travel_as_vector_values_and_are_stored_as_float_lists(
    store: Neo4jStore, driver: neo4j.Driver
) -> None:
    """The current release speaks Bolt 6, so vectors go as VECTOR values; Community keeps
    them as lists of floats (it cannot store VECTOR), equal to the float32 vector sent."""
    assert driver.get_server_info().protocol_version >= (6, 0)
    assert store.vector_values
    vector = np.random.default_rng(7).standard_normal(384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    store.upsert_nodes([Cause(id="cause:slow-disk", name="Slow disk")], {"cause:slow-disk": vector})
    records, _, _ = driver.execute_query(
        f"MATCH (n:{NODE} {{id: 'cause:slow-disk'}}) "
        "RETURN valueType(n.embedding) AS type, n.embedding AS embedding"
    )
    assert records[0]["type"].startswith("LIST<FLOAT")
    assert np.array_equal(np.asarray(records[0]["embedding"], dtype=np.float32), vector)
    (hit,) = store.vector_search([Cause.label], vector, 1)
    assert hit.id == "cause:slow-disk" and hit.score == pytest.approx(1.0, abs=1e-3)


def test_a_read_carries_the_bookmark_of_the_write_before_it(
    store: Neo4jStore, caplog: pytest.LogCaptureFixture
) -> None:
    """In a cluster reads go to followers, and a follower answers a transaction only once it
    has applied the bookmarks the transaction carries. The Bolt messages the driver logs
    show the chain on one server: the bookmark the write's COMMIT got back is sent with the
    BEGIN of the next read, and each write moves it on."""
    caplog.set_level(logging.DEBUG, logger="neo4j")
    sent: list[str] = []
    for name in ("Pool exhausted", "Disk full"):
        caplog.clear()
        store.upsert_nodes([Cause(id="cause:x", name=name)])
        (committed,) = re.findall(r"S: SUCCESS \{[^}]*'bookmark': '([^']+)'", caplog.text)
        caplog.clear()
        assert store.get("cause:x").name == name
        (begin,) = re.findall(r"C: BEGIN (\{.*\})", caplog.text)
        carried = re.search(r"'bookmarks': \[([^\]]*)\]", begin)
        assert carried and carried[1] == repr(committed)
        sent.append(committed)
    assert sent[0] != sent[1]
