"""`explain` and `suggest_causes` on both stores."""

from __future__ import annotations

from datetime import UTC, date, datetime

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.facts import add_cause
from lessons.graph.inputs import CauseLink
from lessons.graph.models import (
    Action,
    Cause,
    CauseRole,
    CauseStatus,
    Edge,
    Experiment,
    ExperimentOutcome,
    Failure,
    Lesson,
    Practice,
    PracticeStatus,
    RelType,
)
from lessons.graph.sensemaking import explain, suggest_causes, to_dot, to_text
from lessons.graph.store import GraphStore
from lessons.ingest.pipeline import discover, ingest

from .conftest import EXAMPLES


def small_story(store: GraphStore) -> None:
    """f1 (pool exhausted, root; traffic spike, trigger) taught a lesson that became an
    adopted practice addressing the pool; an experiment refuted the spike; f2 recurred."""
    store.upsert_nodes(
        [
            Failure(id="f1", title="Checkout down", summary="Pool exhausted"),
            Failure(id="f2", title="Checkout down again", summary="Pool exhausted again"),
            Cause(id="cause:pool", name="Pool exhausted"),
            Cause(id="cause:spike", name="Traffic spike"),
            Experiment(
                id="f1/experiment-1",
                hypothesis="The spike alone did it",
                outcome=ExperimentOutcome.REFUTED,
                finding="Same load last week was fine",
            ),
            Lesson(id="f1/lesson-1", text="Watch pool saturation"),
            Practice(
                id="practice:alert",
                name="Pool saturation alert",
                status=PracticeStatus.ADOPTED,
                adopted_at=date(2024, 3, 1),
            ),
            Action(id="f1/action-1", text="Add the alert", owner="ana"),
        ]
    )
    store.upsert_edges(
        [
            Edge(source="f1", rel=RelType.CAUSED_BY, target="cause:pool"),
            Edge(source="f1", rel=RelType.CAUSED_BY, target="cause:spike", role=CauseRole.TRIGGER),
            Edge(source="f1", rel=RelType.INVESTIGATED_BY, target="f1/experiment-1"),
            Edge(source="f1/experiment-1", rel=RelType.TESTED, target="cause:spike"),
            Edge(source="f1", rel=RelType.TAUGHT, target="f1/lesson-1"),
            Edge(source="f1/lesson-1", rel=RelType.ADOPTED_AS, target="practice:alert"),
            Edge(source="practice:alert", rel=RelType.ADDRESSES, target="cause:pool"),
            Edge(source="f1", rel=RelType.HAS_ACTION, target="f1/action-1"),
            Edge(source="f1/action-1", rel=RelType.IMPLEMENTS, target="practice:alert"),
            Edge(source="f2", rel=RelType.RECURRENCE_OF, target="f1"),
            Edge(source="f2", rel=RelType.CAUSED_BY, target="cause:pool"),
        ]
    )


def test_explain_builds_the_causal_tree(store: GraphStore) -> None:
    small_story(store)
    explanation = explain(store, "f1")
    assert [(c.id, c.role) for c in explanation.causes] == [
        ("cause:pool", "root"),
        ("cause:spike", "trigger"),
    ]
    pool, spike = explanation.causes
    assert [p.name for p in pool.addressed_by] == ["Pool saturation alert"]
    assert pool.addressed_by[0].actions == ["Add the alert"]
    assert pool.tested_by == []
    assert [(t.outcome, t.finding) for t in spike.tested_by] == [
        ("refuted", "Same load last week was fine")
    ]
    (lesson,) = explanation.lessons
    assert [(p.id, p.status, p.adopted_at) for p in lesson.practices] == [
        ("practice:alert", "adopted", date(2024, 3, 1))
    ]
    assert explanation.recurred_as == ["f2"] and explanation.recurrence_of == []
    text = to_text(explanation)
    assert "  caused by (trigger): Traffic spike" in text
    assert "    tested: The spike alone did it -> refuted: Same load last week was fine" in text
    assert "  came back as: f2" in text
    dot = to_dot(explanation)
    assert dot.startswith("digraph explanation {") and dot.endswith("}")
    assert '"practice:alert" -> "cause:pool" [label="addresses"];' in dot
    assert '"f2" -> "f1" [label="recurrence of"];' in dot


def test_suggested_causes_come_from_similar_failures(
    store: GraphStore, embedder: CachingEmbedder
) -> None:
    assert ingest(store, embedder, discover([str(EXAMPLES)])[0]).ok
    store.upsert_nodes(
        [
            Failure(
                id="new",
                title="Checkout requests time out",
                summary="checkout-api waits for free database connections during a sale",
                occurred_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        ],
        {"new": embedder.encode(["Checkout requests time out. checkout-api waits ..."])[0]},
    )
    suggestions = suggest_causes(store, embedder, "new")
    assert suggestions, "similar failures have causes"
    assert "cause:database-connection-pool-exhausted" in [s.id for s in suggestions]
    assert all(s.seen_in and "new" not in s.seen_in for s in suggestions)
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)


def test_competing_hypotheses_live_side_by_side_until_judged(
    store: GraphStore, embedder: CachingEmbedder
) -> None:
    small_story(store)
    add_cause(store, embedder, "f2", CauseLink(name="Connection leak", status=CauseStatus.PROPOSED))
    add_cause(store, embedder, "f2", CauseLink(name="cause:spike", status=CauseStatus.PROPOSED))
    judged = add_cause(
        store,
        embedder,
        "f2",
        CauseLink(
            name="cause:spike",
            role=CauseRole.TRIGGER,
            status=CauseStatus.REJECTED,
            evidence="same load last week",
        ),
    )
    assert (judged.status, judged.evidence) == (CauseStatus.REJECTED, "same load last week")
    causes = {c.id: (c.role, c.status, c.evidence) for c in explain(store, "f2").causes}
    assert causes == {
        "cause:pool": ("root", "accepted", None),
        "cause:connection-leak": ("root", "proposed", None),
        "cause:spike": ("trigger", "rejected", "same load last week"),
    }
    text = to_text(explain(store, "f2"))
    assert (
        "  caused by (trigger) [rejected]: Traffic spike\n    evidence: same load last week" in text
    )


def test_judging_a_linked_cause_keeps_what_the_judgement_leaves_out(
    store: GraphStore, embedder: CachingEmbedder
) -> None:
    small_story(store)
    first = CauseLink(name="cause:spike", role=CauseRole.TRIGGER, evidence="load doubled")
    assert add_cause(store, embedder, "f2", first).status is CauseStatus.ACCEPTED  # new: accepted
    rejected = add_cause(store, embedder, "f2", CauseLink(name="cause:spike", status="rejected"))
    assert (rejected.role, rejected.status, rejected.evidence) == (
        CauseRole.TRIGGER,
        CauseStatus.REJECTED,
        "load doubled",
    )
    causes = {c.id: (c.role, c.status, c.evidence) for c in explain(store, "f2").causes}
    assert causes["cause:spike"] == ("trigger", "rejected", "load doubled")
