"""What only the embedded store promises: durability, one writer and readers across processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from lessons.graph.models import Document, Failure, Label
from lessons.graph.settings import Settings
from lessons.graph.store import DocumentGraph, SqliteStore, open_store

WRITER = """
import sys
import numpy as np
import pytest
from lessons.graph.models import Failure
from lessons.graph.store import SqliteStore

store = SqliteStore(sys.argv[1])
for n in range(int(sys.argv[2])):
    vector = np.zeros(4, dtype=np.float32)
    vector[n % 4] = 1.0
    store.upsert_nodes([Failure(id=f"w{n}", title="t", summary="s")], {f"w{n}": vector})
store.close()
"""


def test_data_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "durable.sqlite3"
    store = SqliteStore(path)
    store.upsert_nodes([Failure(id="f", title="kept", summary="s")], {"f": np.ones(4, np.float32)})
    store.close()
    reopened = open_store(Settings(store_url=f"sqlite:///{path}"))
    assert reopened.get("f").title == "kept"  # type: ignore[union-attr]
    assert reopened.vector_search([Label.FAILURE], np.ones(4, np.float32) / 2, 1)[0].id == "f"
    reopened.close()


def test_a_reader_sees_what_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    reader = SqliteStore(path)
    reader.upsert_nodes(
        [Failure(id="mine", title="t", summary="s")], {"mine": np.ones(4, np.float32)}
    )
    assert len(reader.vector_search([Label.FAILURE], np.ones(4, np.float32), 10)) == 1

    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), "40"]) for _ in range(2)]
    seen = 0
    while any(w.poll() is None for w in writers):
        seen = max(seen, reader.stats().nodes.get("Failure", 0))  # reads while they write
    assert [w.returncode for w in writers] == [0, 0]
    assert seen >= 1

    assert reader.stats().nodes["Failure"] == 41  # both writers wrote the same 40 ids
    hits = reader.vector_search([Label.FAILURE], np.array([1, 0, 0, 0], np.float32), 100)
    assert len(hits) == 41  # the in-memory index noticed the other processes' writes
    reader.close()


def old_schema(path: Path, version: str) -> None:
    """Make the store at `path` look like one written by `version`, which kept its words in
    FTS5 (schema 1: one table for all labels, 2 and 3: one per label) instead of
    `keyword_terms`."""
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM keyword_terms")
        db.execute("DELETE FROM keyword_vocabulary")
        if version == "1":
            db.execute("CREATE VIRTUAL TABLE node_text USING fts5 (label UNINDEXED, text)")
        else:
            db.execute("CREATE VIRTUAL TABLE text_failure USING fts5 (text)")
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))


@pytest.mark.parametrize("version", ["1", "3"])
def test_an_older_store_is_migrated_to_the_keyword_index(tmp_path: Path, version: str) -> None:
    path = tmp_path / "old.sqlite3"
    store = SqliteStore(path)
    store.upsert_nodes([Failure(id="f", title="DNS outage", summary="records deleted")])
    store.close()
    old_schema(path, version)
    migrated = SqliteStore(path)
    assert [h.id for h in migrated.keyword_search([Label.FAILURE], "dns", 5)] == ["f"]
    migrated.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "4",
        )
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert not {"node_text", "text_failure"} & tables


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def ranking(store: SqliteStore, query: np.ndarray) -> list[tuple[str, float]]:
    return [(h.id, round(h.score, 5)) for h in store.vector_search([Label.FAILURE], query, 50)]


def test_the_vector_index_follows_another_connections_adds_changes_and_deletes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.sqlite3"
    reader, writer = SqliteStore(path), SqliteStore(path)
    failures = {f"f{n}": Failure(id=f"f{n}", title=f"t{n}", summary="s") for n in range(6)}
    writer.upsert_nodes(list(failures.values())[:4], {f"f{n}": unit(1, n, 0) for n in range(4)})
    query = unit(1, 2, 1)
    assert [i for i, _ in ranking(reader, query)] == ["f2", "f3", "f1", "f0"]

    document = Document(
        id="document:d", path="d.md", sha256="0", format="md", ingested_at=datetime.now(UTC)
    )
    claimed = DocumentGraph(
        document=document,
        nodes=[document, failures["f4"], failures["f5"]],
        vectors={"f4": unit(0, 0, 1), "f5": unit(1, 1, 1)},
    )
    steps = [
        lambda: writer.replace_documents([claimed]),  # added
        lambda: writer.upsert_nodes([failures["f0"]], {"f0": unit(1, 2, 1)}),  # changed
        lambda: writer.upsert_nodes([failures["f3"]]),  # its vector removed
        lambda: writer.delete_document("document:d"),  # f4 and f5 deleted
        lambda: writer.upsert_nodes([failures["f1"]], {"f1": unit(0, 1, 0)}),  # after a delete
    ]
    for step in steps:
        step()
        fresh = SqliteStore(path)
        assert ranking(reader, query) == ranking(fresh, query)
        fresh.close()
    assert [i for i, _ in ranking(reader, query)] == ["f0", "f2", "f1"]
    reader.close()
    writer.close()


def test_a_schema_2_store_gets_the_vector_change_column(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite3"
    store = SqliteStore(path)
    store.upsert_nodes([Failure(id="old", title="t", summary="s")], {"old": unit(1, 0)})
    store.close()
    with sqlite3.connect(path) as db:  # make it look like a store written by schema 2
        db.execute("DROP INDEX vectors_by_change")
        db.execute("ALTER TABLE vectors DROP COLUMN changed")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    migrated = SqliteStore(path)
    assert [i for i, _ in ranking(migrated, unit(1, 1))] == ["old"]
    migrated.upsert_nodes([Failure(id="new", title="t", summary="s")], {"new": unit(1, 1)})
    assert [i for i, _ in ranking(migrated, unit(1, 1))] == ["new", "old"]
    migrated.close()
