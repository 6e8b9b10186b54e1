"""The one set of rules by which facts become nodes and edges (graph/building.py), as the
import (ingest/mapping.py) and facts written by hand (graph/facts.py) both use it."""

from __future__ import annotations

from datetime import UTC, datetime

from lessons.graph.building import GraphBuilder, failure_node
from lessons.graph.models import (
    CauseRole,
    Document,
    Edge,
    Label,
    Lesson,
    Practice,
    PracticeStatus,
    RelType,
)
from lessons.ingest.mapping import build_document_graph
from lessons.ingest.record import PostmortemRecord


def test_the_first_node_and_the_first_edge_stay() -> None:
    graph = GraphBuilder()
    cause = graph.entity(Label.CAUSE, "Pool exhausted", description="first")
    assert graph.entity(Label.CAUSE, "pool exhausted", description="second") == cause
    graph.edge(Edge(source="f", rel=RelType.CAUSED_BY, target=cause, role=CauseRole.ROOT))
    graph.edge(Edge(source="f", rel=RelType.CAUSED_BY, target=cause, role=CauseRole.TRIGGER))
    assert graph.nodes[cause].description == "first"  # type: ignore[union-attr]
    assert [e.role for e in graph.edges.values()] == [CauseRole.ROOT]


def test_a_practice_only_named_is_adopted_and_a_described_one_keeps_its_status() -> None:
    graph = GraphBuilder()
    named = graph.named(Label.PRACTICE, "Load test before a sale")
    assert graph.nodes[named].status is PracticeStatus.ADOPTED  # type: ignore[union-attr]
    described = graph.described(Practice(id=named, name="Load test before a sale"))
    assert described == named and graph.nodes[named].status is PracticeStatus.PROPOSED  # type: ignore[union-attr]
    assert named in graph.named_only and named in graph.defined


def test_a_failure_is_made_of_the_shared_fields_and_a_naive_time_is_utc() -> None:
    fields = {"title": "t", "summary": "s", "occurred_at": datetime(2024, 1, 2), "tags": ["a"]}
    failure = failure_node("f", {**fields, "components": ["api"], "id": "ignored"})
    assert failure.id == "f" and failure.tags == ("a",)
    assert failure.occurred_at == datetime(2024, 1, 2, tzinfo=UTC)


def test_the_import_gives_a_practice_no_lesson_names_a_lesson_that_says_it() -> None:
    record = PostmortemRecord.model_validate(
        {
            "title": "Checkout down",
            "summary": "The pool ran dry.",
            "causes": [{"name": "Pool exhausted", "role": "trigger"}, "Pool exhausted"],
            "lessons": [{"text": "Watch the pool", "adopted_as": ["Pool alerts"]}],
            "practices": [{"name": "Pool alerts"}, {"name": "Load tests", "status": "adopted"}],
        }
    )
    document = Document(
        id="document:d", path="d.md", sha256="0" * 64, format="md", ingested_at=datetime.now(UTC)
    )
    graph = build_document_graph(document, [("f", record)])
    roles = [e.role for e in graph.edges if e.rel is RelType.CAUSED_BY]
    assert roles == [CauseRole.TRIGGER]  # the first mention of the cause decides
    lessons = {n.id: n for n in graph.nodes if isinstance(n, Lesson)}
    assert set(lessons) == {"f/lesson-1", "f/lesson-for-load-tests"}
    assert lessons["f/lesson-for-load-tests"].text == "Load tests"
    practices = {n.id: n.status for n in graph.nodes if isinstance(n, Practice)}
    assert practices == {
        "practice:pool-alerts": PracticeStatus.PROPOSED,  # described: the record's default
        "practice:load-tests": PracticeStatus.ADOPTED,
    }
    assert graph.named_only == set()
