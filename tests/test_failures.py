"""The failure service functions (lessons.graph.facts, reads and the API's pages) on both
stores, with the real model."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from lessons.api import paging
from lessons.graph import facts, reads
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.errors import AlreadyExistsError, NotFoundError, ValidationError
from lessons.graph.inputs import (
    ActionDraft,
    CauseLink,
    ExperimentDraft,
    FailureChanges,
    FailureDraft,
    FailureFilter,
    LessonDraft,
    PracticeLink,
    RecurrenceLink,
)
from lessons.graph.models import CauseRole, Label, Node, PracticeStatus
from lessons.graph.store import GraphStore
from lessons.ingest.pipeline import discover, ingest

from .conftest import EXAMPLES


def draft(**fields: object) -> FailureDraft:
    return FailureDraft.model_validate({"title": "Checkout down", "summary": "Pool", **fields})


def test_create_get_update_and_delete(store: GraphStore, embedder: CachingEmbedder) -> None:
    made = facts.create_failure(store, embedder, draft(components=["api"], team="Payments"))
    assert made.failure.id == "checkout-down" and made.components == ["api"]
    assert store.vectors(["checkout-down", "component:api", "team:payments"]).keys() == {
        "checkout-down",
        "component:api",
        "team:payments",
    }
    with pytest.raises(AlreadyExistsError):
        facts.create_failure(store, embedder, draft(id="checkout-down"))
    assert facts.create_failure(store, embedder, draft()).failure.id == "checkout-down-2"

    before = store.vectors(["checkout-down"])["checkout-down"]
    kept = facts.update_failure(store, embedder, "checkout-down", FailureChanges(severity="SEV2"))
    assert kept.failure.severity == "SEV2" and kept.failure.title == "Checkout down"
    assert (store.vectors(["checkout-down"])["checkout-down"] == before).all()
    facts.update_failure(store, embedder, "checkout-down", FailureChanges(title="DNS broken"))
    assert not (store.vectors(["checkout-down"])["checkout-down"] == before).all()

    facts.delete_failure(store, "checkout-down")
    with pytest.raises(NotFoundError):
        reads.get_failure(store, "checkout-down")
    with pytest.raises(NotFoundError):
        facts.delete_failure(store, "component:api")  # not a failure
    assert store.get("component:api").label is Label.COMPONENT  # still shared by nothing


def test_parts_are_linked_and_deleted_with_their_failure(
    store: GraphStore, embedder: CachingEmbedder
) -> None:
    fid = facts.create_failure(store, embedder, draft()).failure.id
    facts.create_failure(store, embedder, draft(id="other"))
    facts.add_cause(store, embedder, "other", CauseLink(name="Leak"))
    cause = facts.add_cause(store, embedder, fid, CauseLink(name="leak", role=CauseRole.TRIGGER))
    assert cause.id == "cause:leak" and cause.name == "Leak"  # the existing one, by name
    experiment = facts.add_experiment(
        store, embedder, fid, ExperimentDraft(hypothesis="h", tested_causes=["cause:leak"])
    )
    lesson = facts.add_lesson(store, embedder, fid, LessonDraft(text="l", adopted_as=["P"]))
    second = facts.add_lesson(store, embedder, fid, LessonDraft(text="m"))
    assert (lesson.id, second.id) == (f"{fid}/added-lesson-1", f"{fid}/added-lesson-2")
    facts.add_practice(store, embedder, fid, PracticeLink(name="Q", lesson_id=second.id))
    action = facts.add_action(store, embedder, fid, ActionDraft(text="a", implements="Q"))
    facts.add_recurrence(store, fid, RecurrenceLink(of="other"))

    context = reads.get_failure(store, fid)
    assert [(c.id, c.role) for c in context.causes] == [("cause:leak", "trigger")]
    assert context.experiments[0].tested_causes == ["Leak"]
    assert {p.name for p in context.practices} == {"P", "Q"}
    assert context.recurrence_of == ["other"]
    assert [f.id for f in reads.get_practice(store, "Q").failures] == [fid]

    facts.delete_failure(store, fid)
    assert store.get_many([experiment.id, lesson.id, second.id, action.id]) == {}
    assert [f.id for f in reads.get_cause(store, "Leak").failures] == ["other"]
    assert reads.get_failure(store, "other").recurred_as == []


def test_list_with_filters_and_cursor(store: GraphStore, embedder: CachingEmbedder) -> None:
    for n in range(7):
        facts.create_failure(
            store,
            embedder,
            draft(
                id=f"f{n}",
                severity="SEV1" if n % 2 else None,
                occurred_at=datetime(2024, 1, n + 1),
                components=["api"] if n > 2 else [],
            ),
        )

    def walk(where: FailureFilter, limit: int) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            page = paging.failures_page(store, where, limit=limit, cursor=cursor)
            seen += [f.id for f in page.items]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    assert walk(FailureFilter(), 3) == [f"f{n}" for n in range(7)]
    assert walk(FailureFilter(severity="SEV1"), 1) == ["f1", "f3", "f5"]
    assert walk(FailureFilter(component="api", severity="SEV1"), 1) == ["f3", "f5"]
    since = FailureFilter(occurred_from=datetime(2024, 1, 6, tzinfo=UTC))
    assert walk(since, 5) == ["f5", "f6"]
    with pytest.raises(ValidationError, match="cursor"):
        paging.failures_page(store, cursor=paging.causes_page(store).next_cursor or "eyJ9")
    with pytest.raises(ValidationError, match="limit"):
        paging.failures_page(store, limit=0)


def test_delete_an_imported_failure(store: GraphStore, embedder: CachingEmbedder) -> None:
    sources, _ = discover(
        [
            str(EXAMPLES / "2023-02-14-checkout-db-pool.md"),
            str(EXAMPLES / "2023-09-14-psp-upstream-outage.json"),
        ]
    )
    assert ingest(store, embedder, sources).ok
    facts.delete_failure(store, "2023-02-14-checkout-db-pool")
    assert "2023-02-14-checkout-db-pool" not in store.get_many(["2023-02-14-checkout-db-pool"])
    assert not [n for n in store.list_nodes(Label.LESSON) if n.id.startswith("2023-02-14")]
    assert reads.get_failure(store, "2023-09-14-psp-upstream-outage").lessons
    assert ingest(store, embedder, sources[:1]).results[0].status == "unchanged"


def test_add_practice_looks_the_practice_up_once(
    store: GraphStore, embedder: CachingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    fid = facts.create_failure(store, embedder, draft()).failure.id
    asked: list[list[str]] = []
    get_many = store.get_many

    def recording(node_ids: Iterable[str]) -> dict[str, Node]:
        ids = list(node_ids)
        asked.append(ids)
        return get_many(ids)

    monkeypatch.setattr(store, "get_many", recording)
    link = PracticeLink(name="Canary deploys", status=PracticeStatus.PROPOSED)
    new = facts.add_practice(store, embedder, fid, link)
    assert (new.id, new.status) == ("practice:canary-deploys", PracticeStatus.PROPOSED)
    assert [ids for ids in asked if "Canary deploys" in ids] == [
        ["Canary deploys", "practice:canary-deploys"]
    ]
    asked.clear()
    link = PracticeLink(name="canary deploys", status=PracticeStatus.ADOPTED)
    adopted = facts.add_practice(store, embedder, fid, link)
    assert (adopted.id, adopted.name, adopted.status) == (new.id, new.name, PracticeStatus.ADOPTED)
    assert len([ids for ids in asked if "canary deploys" in ids]) == 1
