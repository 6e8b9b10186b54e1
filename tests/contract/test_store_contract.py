"""Behaviour every GraphStore must have, checked only through the protocol."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessons.graph.errors import NotFoundError, ValidationError
from lessons.graph.models import (
    Action,
    Cause,
    CauseRole,
    CauseStatus,
    Component,
    Document,
    Edge,
    Experiment,
    ExperimentOutcome,
    Failure,
    Label,
    Lesson,
    Node,
    Practice,
    PracticeStatus,
    RelType,
    Team,
)
from lessons.graph.store import DocumentGraph, GraphStore, all_edges, node_pages

DIMENSION = 384  # what the stores index; the leading values say where a vector points


def unit(*values: float) -> np.ndarray:
    vector = np.zeros(DIMENSION, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def document(doc_id: str, sha: str = "0" * 64) -> Document:
    return Document(
        id=doc_id,
        path=f"/docs/{doc_id}.md",
        sha256=sha,
        format="md",
        ingested_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


ONE_OF_EACH: list[Node] = [
    Failure(
        id="f1",
        title="Checkout down",
        summary="Pool exhausted",
        severity="SEV1",
        occurred_at=datetime(2024, 3, 12, 14, 5, tzinfo=UTC),
        tags=("db", "latency"),
        timeline=("14:05 alert",),
        recurrence_of=("f0",),
    ),
    Cause(id="cause:pool", name="Connection pool exhausted", aliases=("db pool",)),
    Experiment(
        id="f1/experiment-1", hypothesis="Cache was cold", outcome=ExperimentOutcome.REFUTED
    ),
    Lesson(id="f1/lesson-1", text="Size pools from load tests"),
    Practice(
        id="practice:load-test",
        name="Load test before peak",
        status=PracticeStatus.ADOPTED,
        adopted_at=date(2024, 4, 1),
    ),
    Action(id="f1/action-1", text="Add pool alert", owner="kim", due=date(2024, 5, 1)),
    Component(id="component:checkout", name="checkout", aliases=("checkout-svc",)),
    Team(id="team:payments", name="Payments"),
    document("document:one"),
]

ONE_OF_EACH_EDGE = [
    Edge(
        source="f1",
        rel=RelType.CAUSED_BY,
        target="cause:pool",
        role=CauseRole.TRIGGER,
        status=CauseStatus.PROPOSED,
        evidence="errors began with the sale",
    ),
    Edge(source="f1", rel=RelType.AFFECTED, target="component:checkout", alias="checkout-svc"),
    Edge(source="f1", rel=RelType.OWNED_BY, target="team:payments"),
    Edge(source="f1", rel=RelType.INVESTIGATED_BY, target="f1/experiment-1"),
    Edge(source="f1/experiment-1", rel=RelType.TESTED, target="cause:pool"),
    Edge(source="f1", rel=RelType.TAUGHT, target="f1/lesson-1"),
    Edge(source="f1/lesson-1", rel=RelType.ADOPTED_AS, target="practice:load-test"),
    Edge(source="practice:load-test", rel=RelType.ADDRESSES, target="cause:pool"),
    Edge(source="f1", rel=RelType.HAS_ACTION, target="f1/action-1"),
    Edge(source="f1/action-1", rel=RelType.IMPLEMENTS, target="practice:load-test"),
    Edge(source="f1", rel=RelType.RECURRENCE_OF, target="f1"),
    Edge(source="f1", rel=RelType.DOCUMENTED_IN, target="document:one"),
]


def test_every_node_type_round_trips(store: GraphStore) -> None:
    store.upsert_nodes(ONE_OF_EACH)
    for node in ONE_OF_EACH:
        assert store.get(node.id) == node
    assert store.get_many([n.id for n in ONE_OF_EACH] + ["nope"]) == {n.id: n for n in ONE_OF_EACH}


def test_every_relationship_type_round_trips(store: GraphStore) -> None:
    store.upsert_nodes(ONE_OF_EACH)
    store.upsert_edges(ONE_OF_EACH_EDGE)
    assert {e.rel for e in ONE_OF_EACH_EDGE} == set(RelType)
    graph = store.neighbours("f1", depth=2)
    assert sorted(graph.edges, key=lambda e: e.key) == sorted(ONE_OF_EACH_EDGE, key=lambda e: e.key)
    assert store.stats().edges == {rel.value: 1 for rel in RelType}


def test_get_unknown_id_raises_not_found(store: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("missing")
    with pytest.raises(NotFoundError):
        store.neighbours("missing")


def test_upsert_replaces_properties_and_keeps_one_node(store: GraphStore) -> None:
    store.upsert_nodes([Cause(id="cause:x", name="X")])
    store.upsert_nodes([Cause(id="cause:x", name="X", description="now described")])
    assert store.get("cause:x") == Cause(id="cause:x", name="X", description="now described")
    assert store.stats().nodes == {"Cause": 1}


def test_a_node_cannot_change_label(store: GraphStore) -> None:
    store.upsert_nodes([Cause(id="x", name="X")])
    with pytest.raises(ValidationError):
        store.upsert_nodes([Component(id="x", name="X")])
    assert store.get("x") == Cause(id="x", name="X")


def test_edges_must_fit_the_domain(store: GraphStore) -> None:
    store.upsert_nodes(ONE_OF_EACH)
    with pytest.raises(ValidationError):
        store.upsert_edges([Edge(source="cause:pool", rel=RelType.CAUSED_BY, target="f1")])
    with pytest.raises(ValidationError):
        store.upsert_edges([Edge(source="f1", rel=RelType.AFFECTED, target="nowhere")])
    assert store.stats().edges == {}


def test_a_failed_batch_writes_nothing(store: GraphStore) -> None:
    store.upsert_nodes(ONE_OF_EACH)
    good = Edge(source="f1", rel=RelType.AFFECTED, target="component:checkout")
    bad = Edge(source="f1", rel=RelType.AFFECTED, target="nowhere")
    with pytest.raises(ValidationError):
        store.upsert_edges([good, bad])
    assert store.stats().edges == {}


def test_list_by_label_is_ordered_and_paged(store: GraphStore) -> None:
    causes = [Cause(id=f"cause:{i:02d}", name=f"c{i}") for i in range(12)]
    store.upsert_nodes([*causes, Team(id="team:t", name="t")])
    assert store.list_nodes(Label.CAUSE, limit=5) == causes[:5]
    assert store.list_nodes(Label.CAUSE, limit=5, after=causes[9].id) == causes[10:]
    assert store.list_nodes(Label.CAUSE, after="cause:05x") == causes[6:]
    assert store.list_nodes(Label.TEAM) == [Team(id="team:t", name="t")]
    assert [n for page in node_pages(store, Label.CAUSE, 5) for n in page] == causes
    assert [len(page) for page in node_pages(store, Label.CAUSE, 4)] == [4, 4, 4]


def chain_graph(store: GraphStore) -> None:
    """f1 -> cause:a <- f2 -> component:c <- f3 (a chain of shared entities)."""
    store.upsert_nodes(
        [
            Failure(id="f1", title="one", summary="s"),
            Failure(id="f2", title="two", summary="s"),
            Failure(id="f3", title="three", summary="s"),
            Cause(id="cause:a", name="a"),
            Component(id="component:c", name="c"),
        ]
    )
    store.upsert_edges(
        [
            Edge(source="f1", rel=RelType.CAUSED_BY, target="cause:a"),
            Edge(source="f2", rel=RelType.CAUSED_BY, target="cause:a"),
            Edge(source="f2", rel=RelType.AFFECTED, target="component:c"),
            Edge(source="f3", rel=RelType.AFFECTED, target="component:c"),
        ]
    )


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (1, {"f1", "cause:a"}),
        (2, {"f1", "cause:a", "f2"}),
        (3, {"f1", "cause:a", "f2", "component:c"}),
        (4, {"f1", "cause:a", "f2", "component:c", "f3"}),
    ],
)
def test_neighbours_follow_edges_both_ways_to_depth(
    store: GraphStore, depth: int, expected: set[str]
) -> None:
    chain_graph(store)
    around = store.neighbours("f1", depth=depth)
    assert around.nodes[0].id == "f1"
    assert {n.id for n in around.nodes} == expected
    assert all(e.source in expected and e.target in expected for e in around.edges)


def test_neighbours_of_many_nodes_is_the_union_of_their_walks(store: GraphStore) -> None:
    chain_graph(store)
    together = store.neighbours(["f3", "f1"])
    assert [n.id for n in together.nodes[:2]] == ["f3", "f1"]
    apart = [store.neighbours("f3"), store.neighbours("f1")]
    assert {n.id for n in together.nodes} == {n.id for g in apart for n in g.nodes}
    assert {e.key for e in together.edges} == {e.key for g in apart for e in g.edges}
    assert {n.id for n in together.nodes} == {"f1", "f3", "cause:a", "component:c"}
    with pytest.raises(NotFoundError):
        store.neighbours(["f1", "missing"])


def test_neighbours_can_be_limited_to_relationship_types(store: GraphStore) -> None:
    chain_graph(store)
    around = store.neighbours("f2", [RelType.AFFECTED], depth=2)
    assert {n.id for n in around.nodes} == {"f2", "component:c", "f3"}


def test_neighbours_then_adds_the_outgoing_edges_of_what_the_walk_reached(
    store: GraphStore,
) -> None:
    """f1's lesson became a practice; f2, which shares f1's cause, tested that cause."""
    chain_graph(store)
    store.upsert_nodes(
        [
            Lesson(id="f1/lesson", text="l"),
            Practice(id="practice:p", name="p"),
            Experiment(id="f2/experiment", hypothesis="h"),
        ]
    )
    store.upsert_edges(
        [
            Edge(source="f1", rel=RelType.TAUGHT, target="f1/lesson"),
            Edge(source="f1/lesson", rel=RelType.ADOPTED_AS, target="practice:p"),
            Edge(source="f2", rel=RelType.INVESTIGATED_BY, target="f2/experiment"),
            Edge(source="f2/experiment", rel=RelType.TESTED, target="cause:a"),
        ]
    )
    around = store.neighbours(["f1"], then=[RelType.ADOPTED_AS, RelType.TESTED])
    assert [n.id for n in around.nodes][:1] == ["f1"]
    # cause:a was reached, but TESTED points into it: f2's experiment stays out.
    assert {n.id for n in around.nodes} == {"f1", "cause:a", "f1/lesson", "practice:p"}
    assert ("f1/lesson", "ADOPTED_AS", "practice:p") in {e.key for e in around.edges}
    plain = store.neighbours(["f1"])
    assert {n.id for n in plain.nodes} == {"f1", "cause:a", "f1/lesson"}
    # Reached on the third hop, the lesson still leads to its practice.
    rels = [RelType.CAUSED_BY, RelType.TAUGHT]
    deeper = store.neighbours(["f2"], rels, depth=3, then=[RelType.ADOPTED_AS])
    assert {n.id for n in deeper.nodes} == {"f2", "cause:a", "f1", "f1/lesson", "practice:p"}


def test_vector_search_orders_by_cosine_and_filters_labels(store: GraphStore) -> None:
    store.upsert_nodes(
        [
            Failure(id="near", title="n", summary="s"),
            Failure(id="middle", title="m", summary="s"),
            Failure(id="far", title="f", summary="s"),
            Cause(id="cause:exact", name="c"),
        ],
        {
            "near": unit(1, 0.1, 0),
            "middle": unit(1, 1, 0),
            "far": unit(0, 0, 1),
            "cause:exact": unit(1, 0, 0),
        },
    )
    hits = store.vector_search([Label.FAILURE], unit(1, 0, 0), k=2)
    assert [h.id for h in hits] == ["near", "middle"]
    assert hits[0].score == pytest.approx(float(unit(1, 0.1, 0)[0]), abs=1e-3)
    both = store.vector_search([Label.FAILURE, Label.CAUSE], unit(1, 0, 0), k=10)
    assert [h.id for h in both] == ["cause:exact", "near", "middle", "far"]


def test_nearest_answers_many_vector_queries_at_once(store: GraphStore) -> None:
    store.upsert_nodes(
        [Cause(id=f"cause:{n}", name=f"c{n}") for n in range(5)],
        {f"cause:{n}": unit(1, n, n * n) for n in range(5)},
    )
    queries = np.stack([unit(1, 0, 0), unit(1, 4, 16), unit(0, 0, 1)])
    together = store.nearest(Label.CAUSE, queries, 3)
    assert [[h.id for h in hits] for hits in together] == [
        [h.id for h in store.vector_search([Label.CAUSE], q, 3)] for q in queries
    ]
    assert [h.id for h in together[1]][:1] == ["cause:4"]
    assert together[0][0].score == pytest.approx(1.0, abs=1e-3)
    assert store.nearest(Label.LESSON, queries, 3) == [[], [], []]


def test_vector_search_sees_later_writes(store: GraphStore) -> None:
    store.upsert_nodes([Failure(id="a", title="a", summary="s")], {"a": unit(0, 1)})
    assert [h.id for h in store.vector_search([Label.FAILURE], unit(1, 0), 5)] == ["a"]
    store.upsert_nodes([Failure(id="b", title="b", summary="s")], {"b": unit(1, 0)})
    assert [h.id for h in store.vector_search([Label.FAILURE], unit(1, 0), 5)] == ["b", "a"]


def test_keyword_search_ranks_matches_and_ignores_query_syntax(store: GraphStore) -> None:
    store.upsert_nodes(
        [
            Failure(
                id="dns", title="DNS outage", summary="DNS records deleted; DNS lookups failed"
            ),
            Failure(id="tls", title="Certificate expired", summary="TLS handshake failed"),
            Failure(id="pool", title="Pool exhausted", summary="database connections ran out"),
            Cause(id="cause:dns", name="DNS misconfiguration"),
        ]
    )
    hits = store.keyword_search([Label.FAILURE], "dns lookups failing", k=5)
    assert [h.id for h in hits][:2] == ["dns", "tls"]
    assert hits[0].score > hits[1].score
    assert store.keyword_search([Label.CAUSE], "DNS", k=5)[0].id == "cause:dns"
    for hostile in ['"unbalanced', "a AND OR NOT", "col:umn*", "(", "^", "' OR 1=1 --", "\x00"]:
        store.keyword_search([Label.FAILURE], hostile, k=5)
    assert store.keyword_search([Label.FAILURE], "the of and", k=5) == []


def document_graph(name: str) -> DocumentGraph:
    """Document `name` with its failure and lesson, naming the shared cause:shared."""
    return DocumentGraph(
        document=document(f"document:{name}"),
        nodes=[
            Failure(id=f"f-{name}", title=name, summary="s"),
            Cause(id="cause:shared", name="shared"),
            Lesson(id=f"f-{name}/lesson-1", text=f"lesson {name}"),
        ],
        edges=[
            Edge(source=f"f-{name}", rel=RelType.CAUSED_BY, target="cause:shared"),
            Edge(source=f"f-{name}", rel=RelType.TAUGHT, target=f"f-{name}/lesson-1"),
            Edge(source=f"f-{name}", rel=RelType.DOCUMENTED_IN, target=f"document:{name}"),
        ],
        vectors={f"f-{name}": unit(1, 0)},
    )


def two_documents(store: GraphStore) -> None:
    """Documents one and two, written in one batch, both naming cause:shared."""
    store.replace_documents([document_graph("one"), document_graph("two")])


def test_a_batch_of_documents_is_all_or_nothing(store: GraphStore) -> None:
    bad = document_graph("bad")
    bad.edges.append(Edge(source="f-bad", rel=RelType.AFFECTED, target="component:missing"))
    with pytest.raises(ValidationError):
        store.replace_documents([document_graph("one"), bad])
    assert store.stats().total_nodes == 0
    clash = document_graph("clash")
    clash.nodes.append(Team(id="cause:shared", name="not a cause"))
    with pytest.raises(ValidationError):
        store.replace_documents([document_graph("one"), clash])
    assert store.stats().total_nodes == 0
    store.replace_documents([document_graph("one")])
    assert store.stats().nodes == {"Failure": 1, "Cause": 1, "Lesson": 1, "Document": 1}


def test_replacing_a_document_with_the_same_graph_changes_nothing(store: GraphStore) -> None:
    two_documents(store)
    before = store.to_networkx()
    two_documents(store)
    after = store.to_networkx()
    assert nx.utils.graphs_equal(before, after)
    assert store.stats().nodes == {"Failure": 2, "Cause": 1, "Lesson": 2, "Document": 2}


def test_replacing_a_document_drops_what_it_no_longer_says(store: GraphStore) -> None:
    two_documents(store)
    store.replace_documents(
        [
            DocumentGraph(
                document=document("document:one", sha="1" * 64),
                nodes=[Failure(id="f-one", title="one, revised", summary="s")],
                edges=[Edge(source="f-one", rel=RelType.DOCUMENTED_IN, target="document:one")],
            )
        ]
    )
    assert store.get("f-one").title == "one, revised"  # type: ignore[union-attr]
    assert store.get("document:one").sha256 == "1" * 64  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        store.get("f-one/lesson-1")
    assert store.get("cause:shared").id == "cause:shared"  # still claimed by document two
    assert {e.source for e in store.neighbours("cause:shared").edges} == {"f-two"}
    assert store.vector_search([Label.FAILURE], unit(1, 0), 5)[0].id == "f-two"


def test_deleting_a_document_keeps_shared_and_hand_made_nodes(store: GraphStore) -> None:
    two_documents(store)
    store.upsert_nodes([Practice(id="practice:p", name="p")])
    store.upsert_edges([Edge(source="practice:p", rel=RelType.ADDRESSES, target="cause:shared")])
    store.delete_document("document:one")
    assert store.stats().nodes == {
        "Failure": 1,
        "Cause": 1,
        "Lesson": 1,
        "Document": 1,
        "Practice": 1,
    }
    store.delete_document("document:two")
    assert store.stats().nodes == {"Practice": 1}
    with pytest.raises(NotFoundError):
        store.delete_document("document:two")


def test_deleting_nodes_takes_their_edges_vectors_text_and_claims(store: GraphStore) -> None:
    two_documents(store)
    store.upsert_nodes([Lesson(id="by-hand", text="shared lesson")])
    store.upsert_edges([Edge(source="f-one", rel=RelType.TAUGHT, target="by-hand")])
    before = store.revision()
    store.delete_nodes(["f-one", "f-one/lesson-1", "by-hand", "never-there"])
    assert store.revision() != before
    assert store.get_many(["f-one", "f-one/lesson-1", "by-hand"]) == {}
    assert store.stats().edges == {"CAUSED_BY": 1, "TAUGHT": 1, "DOCUMENTED_IN": 1}
    assert [h.id for h in store.vector_search([Label.FAILURE], unit(1, 0), 5)] == ["f-two"]
    assert store.keyword_search([Label.LESSON], "lesson", 5)[0].id == "f-two/lesson-1"
    assert len(store.keyword_search([Label.LESSON], "lesson", 5)) == 1
    assert store.vectors(["f-one"]) == {}
    said = store.document_graph("document:one")  # the document stays, saying less
    assert {n.id for n in said.nodes} == {"cause:shared"}
    assert said.edges == []
    # Written again by hand, the failure and its link belong to no document any more.
    store.upsert_nodes([Failure(id="f-one", title="one", summary="s")])
    store.upsert_edges([Edge(source="f-one", rel=RelType.CAUSED_BY, target="cause:shared")])
    store.delete_document("document:one")
    assert store.stats().nodes == {"Failure": 2, "Cause": 1, "Lesson": 1, "Document": 1}
    assert store.stats().edges == {"CAUSED_BY": 2, "TAUGHT": 1, "DOCUMENTED_IN": 1}
    store.delete_nodes([])
    assert store.stats().total_nodes == 5


def test_all_edges_lists_every_edge_once(store: GraphStore) -> None:
    two_documents(store)
    chain_graph(store)
    listed = [e for page in all_edges(store, size=2) for e in page]
    assert len(listed) == len({e.key for e in listed}) == store.stats().total_edges
    projected = {(s, r, t) for s, t, r in store.to_networkx().edges(keys=True)}
    assert {e.key for e in listed} == projected


def test_edges_claimed_for_a_document_go_with_it(store: GraphStore) -> None:
    two_documents(store)
    store.upsert_edges(
        [Edge(source="f-one", rel=RelType.RECURRENCE_OF, target="f-two")],
        document_id="document:one",
    )
    store.replace_documents(
        [
            DocumentGraph(
                document=document("document:one", sha="2" * 64),
                nodes=[Failure(id="f-one", title="one", summary="s")],
                edges=[Edge(source="f-one", rel=RelType.DOCUMENTED_IN, target="document:one")],
            )
        ]
    )
    assert RelType.RECURRENCE_OF.value not in store.stats().edges


def test_stats_and_networkx_projection_agree(store: GraphStore) -> None:
    store.upsert_nodes(ONE_OF_EACH)
    store.upsert_edges(ONE_OF_EACH_EDGE)
    graph = store.to_networkx()
    stats = store.stats()
    assert graph.number_of_nodes() == stats.total_nodes == len(ONE_OF_EACH)
    assert graph.number_of_edges() == stats.total_edges == len(ONE_OF_EACH_EDGE)
    assert graph.nodes["f1"]["label"] == "Failure"
    assert graph.nodes["f1"]["title"] == "Checkout down"
    assert graph.edges["f1", "cause:pool", "CAUSED_BY"]["role"] == "trigger"


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() == s and s != "")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=texts,
    summary=texts,
    tags=st.lists(texts, max_size=4).map(tuple),
    severity=st.none() | texts,
    when=st.none() | st.datetimes(timezones=st.just(UTC)),
)
def test_failure_properties_round_trip(
    store: GraphStore,
    title: str,
    summary: str,
    tags: tuple[str, ...],
    severity: str | None,
    when: datetime | None,
) -> None:
    failure = Failure(
        id="prop", title=title, summary=summary, tags=tags, severity=severity, occurred_at=when
    )
    store.upsert_nodes([failure])
    assert store.get("prop") == failure


def test_document_graph_returns_what_the_document_claims(store: GraphStore) -> None:
    two_documents(store)
    store.upsert_edges(
        [Edge(source="f-one", rel=RelType.RECURRENCE_OF, target="f-two")],
        document_id="document:one",
    )
    graph = store.document_graph("document:one")
    assert graph.document == store.get("document:one")
    assert sorted(n.id for n in graph.nodes) == ["cause:shared", "f-one", "f-one/lesson-1"]
    assert sorted(e.key for e in graph.edges) == [
        ("f-one", "CAUSED_BY", "cause:shared"),
        ("f-one", "DOCUMENTED_IN", "document:one"),
        ("f-one", "RECURRENCE_OF", "f-two"),
        ("f-one", "TAUGHT", "f-one/lesson-1"),
    ]
    assert set(graph.vectors) == {"f-one"}
    assert np.allclose(graph.vectors["f-one"], unit(1, 0), atol=1e-6)
    with pytest.raises(NotFoundError):
        store.document_graph("document:nope")
    with pytest.raises(ValidationError):
        store.document_graph("f-one")


def test_vectors_and_ping(store: GraphStore) -> None:
    store.upsert_nodes(
        [Failure(id="a", title="a", summary="s"), Failure(id="b", title="b", summary="s")],
        {"a": unit(0, 1)},
    )
    vectors = store.vectors(["a", "b", "missing"])
    assert set(vectors) == {"a"}
    assert vectors["a"].dtype == np.float32
    assert np.allclose(vectors["a"], unit(0, 1), atol=1e-6)
    store.ping()


def test_every_write_changes_the_revision(store: GraphStore) -> None:
    seen = [store.revision()]

    def assert_new_revision() -> None:
        revision = store.revision()
        assert revision not in seen
        seen.append(revision)

    store.upsert_nodes(ONE_OF_EACH, {"f1": unit(1, 0)})
    assert_new_revision()
    store.upsert_edges(ONE_OF_EACH_EDGE)
    assert_new_revision()
    two_documents(store)
    assert_new_revision()
    store.upsert_edges(
        [Edge(source="f-one", rel=RelType.RECURRENCE_OF, target="f-two")],
        document_id="document:one",
    )
    assert_new_revision()
    store.delete_document("document:one")
    assert_new_revision()


def test_reads_leave_the_revision_alone(store: GraphStore) -> None:
    store.upsert_nodes(ONE_OF_EACH, {"f1": unit(1, 0)})
    store.upsert_edges(ONE_OF_EACH_EDGE)
    two_documents(store)
    before = store.revision()
    store.get("f1")
    store.get_many(["f1", "cause:pool", "missing"])
    store.list_nodes(Label.FAILURE)
    store.neighbours(["f1", "f-one"], depth=2)
    store.vector_search([Label.FAILURE], unit(1, 0), 5)
    store.nearest(Label.FAILURE, np.stack([unit(1, 0), unit(0, 1)]), 3)
    store.keyword_search([Label.FAILURE, Label.CAUSE], "checkout pool", 5)
    store.document_graph("document:one")
    store.vectors(["f1", "f-one"])
    store.ping()
    store.stats()
    store.to_networkx()
    with pytest.raises(NotFoundError):
        store.get("missing")
    assert store.revision() == before


def test_a_failed_write_leaves_the_revision_alone(store: GraphStore) -> None:
    store.upsert_nodes(ONE_OF_EACH)
    before = store.revision()
    bad = document_graph("bad")
    bad.edges.append(Edge(source="f-bad", rel=RelType.AFFECTED, target="component:missing"))
    with pytest.raises(ValidationError):
        store.replace_documents([document_graph("one"), bad])
    with pytest.raises(ValidationError):
        store.upsert_edges([Edge(source="f1", rel=RelType.AFFECTED, target="nowhere")])
    with pytest.raises(ValidationError):
        store.upsert_nodes([Team(id="cause:pool", name="not a cause")])
    with pytest.raises(NotFoundError):
        store.delete_document("document:missing")
    assert store.revision() == before


def test_the_revision_is_kept_and_shared_by_stores_on_the_same_database(
    store: GraphStore, open_same_database: Callable[[], GraphStore]
) -> None:
    other = open_same_database()
    store.upsert_nodes([Cause(id="cause:x", name="X")])
    assert other.revision() == store.revision()
    before = store.revision()
    other.upsert_nodes([Cause(id="cause:y", name="Y")])
    assert store.revision() != before
    assert store.revision() == other.revision()
    assert open_same_database().revision() == store.revision()  # kept when opened again


@pytest.mark.parametrize(
    ("node_ids", "rel_types"),
    [
        (["f2"], [RelType.AFFECTED]),
        (["f1", "cause:a"], list(RelType)),
        (["f3", "missing", "f3"], [RelType.CAUSED_BY, RelType.AFFECTED]),
        (["cause:a"], [RelType.TAUGHT]),
    ],
)
def test_edges_are_the_links_neighbours_finds_at_depth_one(
    store: GraphStore, node_ids: list[str], rel_types: list[RelType]
) -> None:
    chain_graph(store)
    present = [i for i in node_ids if i != "missing"]
    links = store.edges(node_ids, rel_types)
    assert len(links) == len({e.key for e in links})
    assert sorted(links, key=lambda e: e.key) == sorted(
        store.neighbours(present, rel_types).edges, key=lambda e: e.key
    )
    assert store.edges([], rel_types) == []
