"""Entity resolution during import, and `unmerge`, on both stores with the real model."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import networkx as nx

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.models import Cause, Label, Practice, RelType
from lessons.graph.resolution import unmerge
from lessons.graph.store import GraphStore
from lessons.ingest.pipeline import discover, ingest


def postmortem(failure_id: str, cause: str, summary: str = "Checkout was down.") -> str:
    return f"""---
id: {failure_id}
title: {failure_id} outage
---
## Summary
{summary}

## Root cause
- {cause}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def run(store: GraphStore, embedder: CachingEmbedder, *paths: Path):
    report = ingest(store, embedder, discover([str(p) for p in paths])[0])
    assert report.ok, [r.reason for r in report.results]
    return report


def causes_of(store: GraphStore, failure_id: str) -> dict[str, str | None]:
    """Cause id -> the alias the failure's edge used."""
    around = store.neighbours(failure_id, [RelType.CAUSED_BY])
    return {e.target: e.alias for e in around.edges}


def test_a_second_name_for_a_cause_becomes_an_alias(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    first = write(tmp_path, "a.md", postmortem("inc-a", "DB connection pool exhausted"))
    run(store, embedder, first)
    second = write(tmp_path, "b.md", postmortem("inc-b", "database connection-pool exhaustion"))
    report = run(store, embedder, second)

    (merge,) = report.merges
    assert (merge.alias, merge.entity_id) == (
        "database connection-pool exhaustion",
        "cause:db-connection-pool-exhausted",
    )
    cause = store.get("cause:db-connection-pool-exhausted")
    assert isinstance(cause, Cause)
    assert cause.name == "DB connection pool exhausted"
    assert cause.aliases == ("database connection-pool exhaustion",)
    assert causes_of(store, "inc-b") == {
        "cause:db-connection-pool-exhausted": "database connection-pool exhaustion"
    }
    assert causes_of(store, "inc-a") == {"cause:db-connection-pool-exhausted": None}
    assert store.stats().nodes[Label.CAUSE.value] == 1


def test_names_in_one_run_are_resolved_against_each_other(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    write(tmp_path / "docs", "a.md", postmortem("inc-a", "DB connection pool exhausted"))
    write(tmp_path / "docs", "b.md", postmortem("inc-b", "database connection-pool exhaustion"))
    write(tmp_path / "docs", "c.md", postmortem("inc-c", "DNS misconfiguration"))
    write(tmp_path / "docs", "d.md", postmortem("inc-d", "DNS provider outage"))
    report = run(store, embedder, tmp_path / "docs")

    assert [(m.alias, m.entity_id) for m in report.merges] == [
        ("database connection-pool exhaustion", "cause:db-connection-pool-exhausted")
    ]
    assert store.stats().nodes[Label.CAUSE.value] == 3
    graph = store.to_networkx()
    assert not run(store, embedder, tmp_path / "docs").merges  # re-import: nothing to do
    assert nx.utils.graphs_equal(graph, store.to_networkx())


def test_unmerge_splits_the_alias_off_and_it_stays_apart(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    run(
        store,
        embedder,
        write(tmp_path, "a.md", postmortem("inc-a", "DB connection pool exhausted")),
    )
    second = write(tmp_path, "b.md", postmortem("inc-b", "database connection-pool exhaustion"))
    run(store, embedder, second)

    split = unmerge(
        store, embedder, "cause:db-connection-pool-exhausted", "database connection-pool exhaustion"
    )

    assert split.id == "cause:database-connection-pool-exhaustion"
    assert causes_of(store, "inc-b") == {split.id: None}
    assert causes_of(store, "inc-a") == {"cause:db-connection-pool-exhausted": None}
    kept = store.get("cause:db-connection-pool-exhausted")
    assert isinstance(kept, Cause) and kept.aliases == ()
    assert store.vectors([split.id])  # searchable like any cause
    # A changed document that still uses the name keeps it apart.
    second.write_text(postmortem("inc-b", "database connection-pool exhaustion", "Down again."))
    assert not run(store, embedder, second).merges
    assert causes_of(store, "inc-b") == {split.id: None}


def test_an_import_keeps_what_the_store_knows_about_shared_entities(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    first = write(
        tmp_path,
        "a.yaml",
        "id: inc-a\ntitle: Pool\nsummary: Checkout was down.\n"
        "causes: [DB connection pool exhausted]\n"
        "practices:\n- {name: Pool alerting, status: adopted, adopted_at: 2024-03-01,"
        " description: page at 80% pool use}\n",
    )
    run(store, embedder, first)
    practice = store.get("practice:pool-alerting")
    assert isinstance(practice, Practice) and practice.adopted_at == date(2024, 3, 1)
    # A later document that only names the practice does not reset its date...
    later = (
        "id: inc-b\ntitle: Pool again\nsummary: Down.\n"
        "causes: [database connection-pool exhaustion]\n"
        "lessons:\n- {text: Alert earlier, adopted_as: [Pool alerting]}\n"
    )
    run(store, embedder, write(tmp_path, "b.yaml", later))
    assert store.get("practice:pool-alerting") == practice
    # ...and changing the first document keeps the alias the second one merged in.
    first.write_text(first.read_text().replace("was down.", "was down twice."))
    run(store, embedder, first)
    cause = store.get("cause:db-connection-pool-exhausted")
    assert isinstance(cause, Cause) and cause.aliases == ("database connection-pool exhaustion",)


POOL = "cause:connection-pool-exhausted"
# Merged into POOL by cosine; the third name has the second's name key, but its cosine to
# "connection pool exhausted" is 0.84, below SAME_ENTITY_COSINE.
POOL_NAMES = [
    "connection pool exhausted",
    "database connection pool exhausted",
    "DB connection-pool exhaustion",
]


def test_a_name_with_the_key_of_an_alias_lands_on_its_entity(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    for name, doc in zip(POOL_NAMES[:2], "ab", strict=True):
        run(store, embedder, write(tmp_path, f"{doc}.md", postmortem(f"inc-{doc}", name)))
    report = run(store, embedder, write(tmp_path, "c.md", postmortem("inc-c", POOL_NAMES[2])))

    assert [(m.alias, m.entity_id) for m in report.merges] == [(POOL_NAMES[2], POOL)]
    assert causes_of(store, "inc-c") == {POOL: POOL_NAMES[2]}
    cause = store.get(POOL)
    assert isinstance(cause, Cause) and cause.aliases == tuple(POOL_NAMES[1:])
    assert store.stats().nodes[Label.CAUSE.value] == 1


def test_a_name_with_the_key_of_a_name_merged_in_the_same_run_lands_on_its_entity(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    for name, doc in zip(POOL_NAMES, "abc", strict=True):
        write(tmp_path / "docs", f"{doc}.md", postmortem(f"inc-{doc}", name))
    report = run(store, embedder, tmp_path / "docs")

    assert [(m.alias, m.entity_id) for m in report.merges] == [
        (POOL_NAMES[1], POOL),
        (POOL_NAMES[2], POOL),
    ]
    assert store.stats().nodes[Label.CAUSE.value] == 1
