"""Exports: GraphML back through networkx, JSON back, and Cypher replayed into the real Neo4j."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import neo4j
import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons.graph.errors import ValidationError
from lessons.graph.export import (
    cypher_statements,
    cypher_string,
    cypher_value,
    export_graph,
    graph_from_json,
    graph_to_json,
    neighbourhood,
    read_graphml,
    write_cypher,
    write_graphml,
)
from lessons.graph.models import (
    Action,
    Cause,
    CauseRole,
    Component,
    Document,
    Edge,
    Experiment,
    ExperimentOutcome,
    Failure,
    Lesson,
    Node,
    Practice,
    PracticeStatus,
    RelType,
    Team,
)
from lessons.graph.store import GraphStore, SqliteStore
from lessons.graph.store.neo4j import Neo4jStore

from .conftest import Neo4jTarget, wipe_neo4j

# Text a naive exporter would break on: quotes, backslashes, newlines, a Cypher injection,
# control characters, non-ASCII and astral characters, and what looks like a JSON list.
NASTY = "It's \"quoted\" \\ back\\slash\nnew line\ttab '}) MATCH (n) DETACH DELETE n //"
ODD = 'ü € 🚒 \x00\x07\x1b \u2028 ["not", "a list"] `tick` $param {brace}'


def nodes() -> list[Node]:
    return [
        Failure(
            id="f1",
            title=NASTY,
            summary=ODD,
            occurred_at=datetime(2024, 3, 12, 14, 5, tzinfo=UTC),
            severity="SEV1",
            tags=("db", "it's", ""),
            timeline=("14:05 alert", "14:30 'fixed'"),
            recurrence_of=("f0",),
        ),
        Failure(id="f2", title="Second", summary="Plain", recurrence_of=()),
        Cause(id="cause:pool", name="Pool exhausted", aliases=("db pool", NASTY)),
        Experiment(
            id="f1/experiment-1",
            hypothesis="Cache was cold",
            outcome=ExperimentOutcome.REFUTED,
            finding=ODD,
        ),
        Lesson(id="f1/lesson-1", text="Size pools from load tests"),
        Practice(
            id="practice:load-test",
            name="Load test before peak",
            status=PracticeStatus.ADOPTED,
            adopted_at=date(2024, 4, 1),
        ),
        Action(id="f1/action-1", text="Add pool alert", owner="kim", due=date(2024, 5, 1)),
        Component(id="component:checkout", name="checkout"),
        Team(id="team:payments", name="Payments"),
        Document(
            id="document:one",
            path="/docs/one.md",
            sha256="0" * 64,
            format="md",
            ingested_at=datetime(2025, 1, 1, tzinfo=UTC),
        ),
    ]


def edges() -> list[Edge]:
    return [
        Edge(source="f1", rel=RelType.CAUSED_BY, target="cause:pool", role=CauseRole.TRIGGER),
        Edge(source="f2", rel=RelType.CAUSED_BY, target="cause:pool", alias="db pool"),
        Edge(source="f1", rel=RelType.AFFECTED, target="component:checkout"),
        Edge(source="f1", rel=RelType.OWNED_BY, target="team:payments"),
        Edge(source="f1", rel=RelType.INVESTIGATED_BY, target="f1/experiment-1"),
        Edge(source="f1/experiment-1", rel=RelType.TESTED, target="cause:pool"),
        Edge(source="f1", rel=RelType.TAUGHT, target="f1/lesson-1"),
        Edge(source="f1/lesson-1", rel=RelType.ADOPTED_AS, target="practice:load-test"),
        Edge(source="practice:load-test", rel=RelType.ADDRESSES, target="cause:pool"),
        Edge(source="f1", rel=RelType.HAS_ACTION, target="f1/action-1"),
        Edge(source="f1/action-1", rel=RelType.IMPLEMENTS, target="practice:load-test"),
        Edge(source="f2", rel=RelType.RECURRENCE_OF, target="f1"),
        Edge(source="f1", rel=RelType.DOCUMENTED_IN, target="document:one"),
    ]


def fill(store: GraphStore) -> nx.MultiDiGraph:
    store.upsert_nodes(nodes())
    store.upsert_edges(edges())
    return store.to_networkx()


def same_graph(a: nx.MultiDiGraph, b: nx.MultiDiGraph) -> bool:
    """Same nodes with the same attributes, same keyed edges with the same attributes."""

    def edge_set(g: nx.MultiDiGraph) -> set[tuple[str, str, str, str]]:
        return {
            (u, k, v, json.dumps(d, sort_keys=True)) for u, v, k, d in g.edges(keys=True, data=True)
        }

    return dict(a.nodes(data=True)) == dict(b.nodes(data=True)) and edge_set(a) == edge_set(b)


@pytest.fixture
def graph(sqlite_store: SqliteStore) -> nx.MultiDiGraph:
    return fill(sqlite_store)


def test_graphml_loads_in_networkx_and_round_trips(graph: nx.MultiDiGraph, tmp_path) -> None:
    path = tmp_path / "graph.graphml"
    with path.open("w", encoding="utf-8") as out:
        write_graphml(graph, out)
    plain = nx.read_graphml(path)  # what Gephi or any GraphML reader sees
    assert plain.number_of_nodes() == 10 and plain.number_of_edges() == 13
    assert plain.nodes["f1"]["title"] == NASTY
    assert json.loads(plain.nodes["f1"]["tags"]) == ["db", "it's", ""]  # lists: JSON strings
    assert "detected_by" not in plain.nodes["f1"]  # None: left out
    # XML 1.0 cannot hold NUL, BEL or ESC: those three come back as U+FFFD, all else as it was.
    assert plain.nodes["f1"]["summary"] == ODD.replace("\x00", "\ufffd").replace(
        "\x07", "\ufffd"
    ).replace("\x1b", "\ufffd")
    back = read_graphml(str(path))
    for node, key in (("f1", "summary"), ("f1/experiment-1", "finding")):
        graph.nodes[node][key] = plain.nodes["f1"]["summary"]
    assert same_graph(back, graph)
    assert back.nodes["f2"]["recurrence_of"] == [] and back.nodes["f2"]["occurred_at"] is None


def test_json_round_trips(graph: nx.MultiDiGraph) -> None:
    out = io.StringIO()
    export_graph(graph, "json", out)
    data = json.loads(out.getvalue())
    assert [n["id"] for n in data["nodes"]] == sorted(graph.nodes)
    caused = [e for e in data["edges"] if e["rel"] == "CAUSED_BY"]
    assert [(e["source"], e["target"], e["properties"]) for e in caused] == [
        ("f1", "cause:pool", {"role": "trigger", "status": "accepted"}),
        ("f2", "cause:pool", {"role": "root", "status": "accepted", "alias": "db pool"}),
    ]
    assert same_graph(graph_from_json(data), graph)
    assert graph_to_json(graph) == data


def test_unknown_format_and_labels_are_refused(graph: nx.MultiDiGraph) -> None:
    with pytest.raises(ValidationError, match="unknown export format"):
        export_graph(graph, "dot", io.StringIO())
    graph.add_node("x", label="Person) DETACH DELETE (n")
    with pytest.raises(ValidationError, match="is not a Label"):
        list(cypher_statements(graph))


def test_neighbourhood_of_a_failure(store: GraphStore) -> None:
    fill(store)
    near = neighbourhood(store, "f2", depth=1)
    assert set(near.nodes) == {"f2", "f1", "cause:pool"}
    assert set(near.edges(keys=True)) >= {
        ("f2", "f1", "RECURRENCE_OF"),
        ("f2", "cause:pool", "CAUSED_BY"),
    }
    assert near.nodes["f1"] == store.to_networkx().nodes["f1"]


def driver(target: Neo4jTarget) -> neo4j.Driver:
    auth = (target.user, target.password) if target.password else None
    return neo4j.GraphDatabase.driver(target.uri, auth=auth)


def replay(target: Neo4jTarget, script: str) -> None:
    """Run an exported script statement by statement, as cypher-shell would."""
    with driver(target) as db, db.session() as session:
        for line in script.splitlines():
            if line and not line.startswith("//"):
                session.run(line.removesuffix(";")).consume()


def test_cypher_replays_into_an_empty_neo4j_as_the_same_graph(
    graph: nx.MultiDiGraph, neo4j_server: Neo4jTarget
) -> None:
    wipe_neo4j(neo4j_server)
    out = io.StringIO()
    write_cypher(graph, out)
    replay(neo4j_server, out.getvalue())

    with driver(neo4j_server) as db:
        records, _, _ = db.execute_query(
            "MATCH (n:LessonsNode {id: 'f1'}) RETURN n.title AS title, n.summary AS summary, "
            "n.tags AS tags, labels(n) AS labels, keys(n) AS keys"
        )
        rels, _, _ = db.execute_query("MATCH ()-[r]->() RETURN count(r) AS n")
    (f1,) = records
    assert (f1["title"], f1["summary"], f1["tags"]) == (NASTY, ODD, ["db", "it's", ""])
    assert sorted(f1["labels"]) == ["Failure", "LessonsNode"]
    assert "detected_by" not in f1["keys"]  # None is not stored
    assert rels[0]["n"] == 13

    store = Neo4jStore(neo4j_server.uri, user=neo4j_server.user, password=neo4j_server.password)
    try:
        assert same_graph(store.to_networkx(), graph)
    finally:
        store.close()


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=40), max_size=8))
def test_cypher_string_literals_come_back_unchanged(
    neo4j_server: Neo4jTarget, texts: list[str]
) -> None:
    literal = "[" + ", ".join(cypher_string(text) for text in texts) + "]"
    with driver(neo4j_server) as db:
        records, _, _ = db.execute_query(f"RETURN {literal} AS texts")
    assert records[0]["texts"] == texts


def test_cypher_values_outside_the_model_are_refused() -> None:
    assert cypher_value([1, 2.5, True, None, {"a b": "c"}]) == "[1, 2.5, true, null, {`a b`: 'c'}]"
    with pytest.raises(ValidationError):
        cypher_value(float("nan"))
    with pytest.raises(ValidationError):
        cypher_value(object())
