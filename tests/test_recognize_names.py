"""The causes and components a user names in `recognize`, resolved to stored entities as the
import resolves names: on both stores, with the real model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from lessons.graph.embeddings import CachingEmbedder, Matrix
from lessons.graph.models import Cause, Label
from lessons.graph.recognize import RecognizeQuery, gather_signals, recognize
from lessons.graph.resolution import resolve_names
from lessons.graph.store import GraphStore, ScoredId
from lessons.ingest.pipeline import discover, ingest

POOL = "cause:connection-pool-exhausted"


def postmortem(failure_id: str, component: str, cause: str) -> str:
    return f"""---
id: {failure_id}
title: {failure_id} outage
components: [{component}]
---
## Summary
Requests failed for an hour.

## Root cause
- {cause}
"""


def run(store: GraphStore, embedder: CachingEmbedder, folder: Path, *docs: tuple[str, ...]) -> None:
    """Import each postmortem in a run of its own, in order."""
    for doc in docs:
        path = folder / f"{doc[0]}.md"
        path.write_text(postmortem(*doc))
        report = ingest(store, embedder, discover([str(path)])[0])
        assert report.ok, [r.reason for r in report.results]


@pytest.fixture
def imported(store: GraphStore, embedder: CachingEmbedder, tmp_path: Path) -> GraphStore:
    """Three failures; the second's cause was merged into the first's as an alias."""
    run(
        store,
        embedder,
        tmp_path,
        ("inc-a", "checkout-api", "connection pool exhausted"),
        ("inc-b", "payments-api", "database connection pool exhausted"),
        ("inc-c", "edge-proxy", "cache TTL too low"),
    )
    cause = store.get(POOL)
    assert isinstance(cause, Cause) and cause.aliases == ("database connection pool exhausted",)
    return store


def graph_signal(
    store: GraphStore, embedder: CachingEmbedder, causes: list[str], components: list[str]
) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
    query = RecognizeQuery(description="requests fail", causes=causes, components=components)
    signals = gather_signals(store, embedder, query)
    return signals.rankings["graph"], signals.shared_causes, signals.shared_components


@pytest.mark.parametrize(
    "name",
    [
        "DB connection-pool exhaustion",  # the alias's name key; cosine to the name 0.84
        "database connection pool exhausted",  # the alias itself
        "Connection pool exhausted",  # the entity's id
    ],
)
def test_a_cause_named_in_another_form_credits_the_failures_of_its_entity(
    imported: GraphStore, embedder: CachingEmbedder, name: str
) -> None:
    ranking, causes, _ = graph_signal(imported, embedder, [name], [])
    assert ranking == ["inc-a", "inc-b"]
    assert causes == {"inc-a": [name], "inc-b": [name]}  # the user's name, not the entity's


def test_names_of_one_entity_credit_it_once_and_opposite_names_not_at_all(
    imported: GraphStore, embedder: CachingEmbedder
) -> None:
    pool = ["database connection-pool exhaustion", "DB connection pool exhausted"]
    opposite = ["cache TTL too high"]  # embeds close to "cache TTL too low" (0.97)
    ranking, causes, components = graph_signal(
        imported, embedder, pool + opposite, ["Checkout API"]
    )
    assert ranking == ["inc-a", "inc-b"]  # inc-a shares two entities, inc-b one
    assert causes == {
        "inc-a": ["database connection-pool exhaustion"],
        "inc-b": ["database connection-pool exhaustion"],
    }
    assert components == {"inc-a": ["Checkout API"]}


def test_names_without_ascii_letters_never_fail_recognition(
    imported: GraphStore, embedder: CachingEmbedder
) -> None:
    query = RecognizeQuery(
        title="结账服务超时",
        description="Checkout requests time out waiting for a database connection.",
        causes=["数据库连接池耗尽", "--"],
        components=["结账服务", "checkout-api"],
    )
    result = recognize(imported, embedder, query)
    by_id = {m.context.failure.id: m for m in result.matches}
    # all-MiniLM-L6-v2 does not know Chinese: those names match nothing and are left out.
    assert by_id["inc-a"].shared_components == ["checkout-api"]
    assert by_id["inc-a"].shared_causes == []
    assert gather_signals(imported, embedder, query).rankings["graph"] == ["inc-a"]


class Multilingual:
    """The real model, reading Chinese names as their English translation: a stand-in for a
    multilingual model that embeds both alike."""

    TRANSLATION: ClassVar[dict[str, str]] = {"数据库连接池耗尽": "connection pool exhausted"}

    def __init__(self, inner: CachingEmbedder) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dimension = inner.dimension

    def encode(self, texts: Sequence[str]) -> Matrix:
        return self.inner.encode([self.TRANSLATION.get(t, t) for t in texts])


def test_names_outside_the_latin_script_are_resolved_by_their_words_never_by_embedding(
    imported: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    # Even a model that embeds the name as "connection pool exhausted" does not resolve it:
    # the default model's cosine of names it cannot read says nothing (same_entity).
    query = RecognizeQuery(description="requests fail", causes=["数据库连接池耗尽"])
    assert gather_signals(imported, Multilingual(embedder), query).rankings["graph"] == []
    run(imported, embedder, tmp_path, ("inc-d", "结账服务", "数据库 连接池 耗尽"))
    query = RecognizeQuery(description="requests fail", causes=["耗尽 数据库 连接池"])
    signals = gather_signals(imported, embedder, query)  # the same words: the same name key
    assert signals.rankings["graph"] == ["inc-d"]
    assert signals.shared_causes == {"inc-d": ["耗尽 数据库 连接池"]}


def test_resolving_names_costs_one_nearest_per_label(
    imported: GraphStore, embedder: CachingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Label, int]] = []
    nearest = imported.nearest

    def counting(label: Label, vectors: Matrix, k: int) -> list[list[ScoredId]]:
        calls.append((label, len(vectors)))
        return nearest(label, vectors, k)

    monkeypatch.setattr(imported, "nearest", counting)
    names = [
        (Label.CAUSE, "connection pool exhausted"),  # by id: no vector search
        (Label.CAUSE, "DB connection-pool exhaustion"),
        (Label.CAUSE, "数据库连接池耗尽"),
        (Label.CAUSE, "DNS provider outage"),
        (Label.COMPONENT, "Checkout API"),  # by id
        (Label.COMPONENT, "payments api service"),
        (Label.COMPONENT, "结账服务"),
        (Label.COMPONENT, "..."),  # no letters or digits: never looked up
    ]
    assert resolve_names(imported, embedder, names) == {
        (Label.CAUSE, "connection pool exhausted"): POOL,
        (Label.CAUSE, "DB connection-pool exhaustion"): POOL,
        (Label.COMPONENT, "Checkout API"): "component:checkout-api",
        (Label.COMPONENT, "payments api service"): "component:payments-api",
    }
    assert sorted(calls) == [(Label.CAUSE, 3), (Label.COMPONENT, 2)]
    calls.clear()
    resolve_names(imported, embedder, names[:1] + names[4:5])
    assert calls == []
