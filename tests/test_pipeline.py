"""Bulk import: idempotency, replacement, bad input that loses nothing, recurrence links."""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import pytest

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.errors import NotFoundError
from lessons.graph.models import Cause, Failure, Label, RelType
from lessons.graph.store import GraphStore
from lessons.ingest.pipeline import FileResult, FileStatus, discover, ingest

from .conftest import EXAMPLES


@pytest.fixture
def embedder(fast_embedder: CachingEmbedder) -> CachingEmbedder:
    """Imports, re-imports and their bookkeeping do not depend on what texts mean
    (tests/hashing_embedder.py serves)."""
    return fast_embedder


GOOD_MD = """---
id: inc-1
title: Checkout timeouts
team: Payments
components: [checkout-api]
---
## Summary
Checkout requests timed out because the database connection pool was exhausted.

## Root cause
- Database connection pool exhausted: every connection was held by slow queries

## Lessons learned
- Size pools from load tests
"""


def run(store: GraphStore, embedder: CachingEmbedder, *paths: Path | str, dry_run: bool = False):
    sources, missing = discover([str(p) for p in paths])
    assert missing == []
    return ingest(store, embedder, sources, dry_run=dry_run)


def test_examples_import_and_reimport_changes_nothing(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    first = run(store, embedder, EXAMPLES)
    assert first.ok, [r.error for r in first.results if r.error]
    assert first.count(FileStatus.IMPORTED) == len(list(EXAMPLES.iterdir())) >= 20
    graph = store.to_networkx()

    again = run(store, embedder, EXAMPLES)
    assert again.count(FileStatus.UNCHANGED) == first.count(FileStatus.IMPORTED)
    assert again.texts_embedded == 0
    assert nx.utils.graphs_equal(graph, store.to_networkx())


def test_same_texts_are_never_encoded_twice(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    (tmp_path / "a.md").write_text(GOOD_MD)
    run(store, embedder, tmp_path / "a.md")
    encoded = embedder.encoded_count
    assert encoded > 0
    (tmp_path / "b.md").write_text(GOOD_MD.replace("inc-1", "inc-2"))
    run(store, embedder, tmp_path / "b.md")
    assert embedder.encoded_count == encoded  # every text of b.md was already cached


def test_a_changed_file_replaces_what_it_said(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    path = tmp_path / "inc.md"
    path.write_text(GOOD_MD)
    run(store, embedder, path)
    assert store.get("inc-1/lesson-1").text == "Size pools from load tests"  # type: ignore[union-attr]

    path.write_text(
        GOOD_MD.replace("- Size pools from load tests\n", "").replace(
            "team: Payments", "team: Platform"
        )
    )
    report = run(store, embedder, path)
    assert report.count(FileStatus.IMPORTED) == 1
    with pytest.raises(NotFoundError):
        store.get("inc-1/lesson-1")
    with pytest.raises(NotFoundError):
        store.get("team:payments")
    assert [n.id for n in store.list_nodes(Label.TEAM)] == ["team:platform"]
    assert store.stats().nodes["Failure"] == 1


BAD_FILES = {
    "empty.md": (b"", "empty", None),
    "blank.yaml": (b"   \n\n", "empty", None),
    "binary.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary", None),
    "latin1.md": ("# Title\n\nSchl\u00fcssel".encode("latin-1"), "not UTF-8", 3),
    "broken.yaml": (b"title: a\nsummary: [unclosed\n", "invalid YAML", 2),
    "broken.json": (b'{"title": "a",\n "summary": }', "invalid JSON", 2),
    "schema.json": (b'{"sevrity": 1}', "nothing here describes a failure", None),
    "list.yaml": (b"- 1\n- 2\n", "expected a postmortem object", None),
    "frontmatter.md": (b"---\ntitle: [a\n---\nbody\n", "front matter is not valid YAML", 2),
    "unknown.txt": (b"some text", "unsupported file type", None),
}


def test_bad_files_are_reported_and_the_rest_imported(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    (tmp_path / "good.md").write_text(GOOD_MD)
    run(store, embedder, tmp_path / "good.md")
    before = store.to_networkx()

    bad_dir = tmp_path / "batch"
    bad_dir.mkdir()
    for name, (data, _, _) in BAD_FILES.items():
        (bad_dir / name).write_bytes(data)
    (bad_dir / "also-good.md").write_text(GOOD_MD.replace("inc-1", "inc-2"))
    sources, _ = discover([str(bad_dir / "unknown.txt"), str(bad_dir)])
    report = ingest(store, embedder, sources)

    results = {Path(r.path).name: r for r in report.results}
    for name, (_, reason, line) in BAD_FILES.items():
        result = results[name]
        assert result.status is FileStatus.FAILED, name
        assert reason in (result.reason or ""), (name, result.reason)
        assert result.line == line, (name, result.line)
        assert str(bad_dir / name) in (result.error or "")
    assert results["also-good.md"].status is FileStatus.IMPORTED
    assert not report.ok
    after = store.to_networkx()
    assert set(before.nodes) < set(after.nodes)  # nothing lost, the good file added
    assert "inc-2" in after.nodes


def test_dry_run_writes_nothing(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    report = run(store, embedder, EXAMPLES, dry_run=True)
    assert report.count(FileStatus.CHECKED) == len(report.results) > 0
    assert all(r.records for r in report.results)
    assert store.stats().total_nodes == 0
    assert embedder.encoded_count == 0


def test_recurrences_link_whatever_the_import_order(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    later = tmp_path / "later.yaml"
    later.write_text(
        "id: later\ntitle: Again\nsummary: It happened again\nrecurrence_of: [earlier]\n"
    )
    report = run(store, embedder, later)
    assert [(e.source, e.target) for e in report.unlinked] == [("later", "earlier")]

    earlier = tmp_path / "earlier.yaml"
    earlier.write_text("id: earlier\ntitle: First\nsummary: It happened first\n")
    report = run(store, embedder, earlier)
    assert report.unlinked == []
    edges = store.neighbours("earlier", [RelType.RECURRENCE_OF]).edges
    assert [(e.source, e.target) for e in edges] == [("later", "earlier")]

    # The link belongs to the document that declared it.
    later.write_text("id: later\ntitle: Again\nsummary: Not a recurrence after all\n")
    run(store, embedder, later)
    assert store.neighbours("earlier", [RelType.RECURRENCE_OF]).edges == []


class _Crash(Exception):
    """Stands in for a process killed between two commits."""


def test_an_interrupted_import_completes_its_recurrence_links_on_the_next_run(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    (tmp_path / "a-later.yaml").write_text(
        "id: later\ntitle: Again\nsummary: It happened again\nrecurrence_of: [earlier]\n"
    )
    (tmp_path / "b-earlier.yaml").write_text("id: earlier\ntitle: First\nsummary: It happened\n")
    (tmp_path / "c-other.yaml").write_text("id: other\ntitle: Other\nsummary: Unrelated\n")
    sources, _ = discover([str(tmp_path)])

    def crash_after_earlier(result: FileResult) -> None:
        if result.failure_ids == ["earlier"]:
            raise _Crash  # both documents are committed; the run ends before linking

    with pytest.raises(_Crash):
        ingest(store, embedder, sources, chunk_size=1, write_batch=1, on_result=crash_after_earlier)
    assert store.neighbours("earlier", [RelType.RECURRENCE_OF]).edges == []

    again = ingest(store, embedder, sources)
    assert again.count(FileStatus.UNCHANGED) == 2 and again.count(FileStatus.IMPORTED) == 1
    edges = store.neighbours("earlier", [RelType.RECURRENCE_OF]).edges
    assert [(e.source, e.target) for e in edges] == [("later", "earlier")]
    revision = store.revision()
    ingest(store, embedder, sources)
    assert store.revision() == revision  # a complete graph: the next run writes nothing


def test_default_ids_from_file_names_do_not_collide(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    body = "# Outage\n\nThe {} service was down for an hour after a deploy.\n"
    for team in ("red", "blue"):
        (tmp_path / team).mkdir()
        (tmp_path / team / "postmortem.md").write_text(body.format(team))
    report = run(store, embedder, tmp_path / "red", tmp_path / "blue")
    ids = [fid for r in report.results for fid in r.failure_ids]
    assert len(set(ids)) == 2 and ids[0] == "postmortem"
    summaries = {f.summary for f in store.list_nodes(Label.FAILURE)}  # type: ignore[union-attr]
    assert len(summaries) == 2


def test_explicit_id_used_by_another_document_is_an_error(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    (tmp_path / "a.md").write_text(GOOD_MD)
    (tmp_path / "b.md").write_text(GOOD_MD.replace("Checkout timeouts", "Other"))
    report = run(store, embedder, tmp_path / "a.md", tmp_path / "b.md")
    results = {Path(r.path).name: r for r in report.results}
    assert results["a.md"].status is FileStatus.IMPORTED
    assert results["b.md"].status is FileStatus.FAILED
    assert "already used by another document" in (results["b.md"].reason or "")
    assert store.get("inc-1").title == "Checkout timeouts"  # type: ignore[union-attr]


def test_csv_and_jsonl_rows_become_failures(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    (tmp_path / "log.csv").write_text(
        "id,title,summary,causes,components\n"
        "c1,Disk full,Logs filled the disk,No disk alert;Log rotation off,db\n"
        "c2,Cert expired,TLS cert expired,Expired TLS certificate,edge\n"
    )
    (tmp_path / "feed.jsonl").write_text(
        '{"title": "Queue backlog", "summary": "Consumers stalled"}\n\n'
        '{"title": "DNS outage", "summary": "Bad record pushed"}\n'
    )
    report = run(store, embedder, tmp_path)
    assert report.ok
    assert sorted(fid for r in report.results for fid in r.failure_ids) == [
        "c1",
        "c2",
        "feed-1",
        "feed-2",
    ]
    causes = store.neighbours("c1", [RelType.CAUSED_BY]).nodes[1:]
    assert sorted(c.name for c in causes) == ["Log rotation off", "No disk alert"]  # type: ignore[union-attr]


def test_shared_causes_become_one_node(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    for n in (1, 2):
        (tmp_path / f"{n}.yaml").write_text(
            f"title: T{n}\nsummary: S{n}\ncauses: ['Database connection pool exhausted']\n"
        )
    run(store, embedder, tmp_path)
    around = store.neighbours("cause:database-connection-pool-exhausted")
    assert sorted(n.id for n in around.nodes if isinstance(n, Failure)) == ["1", "2"]


def test_discover_walks_directories_globs_and_reports_missing(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "pm")
    (tmp_path / "pm" / ".hidden").mkdir()
    (tmp_path / "pm" / ".hidden" / "x.md").write_text("# hidden")
    (tmp_path / "pm" / "notes.txt").write_text("not a postmortem")
    sources, missing = discover(
        [str(tmp_path / "pm"), str(tmp_path / "pm" / "*.json"), str(tmp_path / "nope")]
    )
    names = [Path(s.name).name for s in sources]
    assert len(names) == len(set(names)) == len(list(EXAMPLES.iterdir()))
    assert "x.md" not in names and "notes.txt" not in names
    assert missing == [str(tmp_path / "nope")]


def test_a_document_the_store_rejects_does_not_take_its_chunk_down(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    store.upsert_nodes([Cause(id="clash", name="a cause written by hand")])
    for n in range(3):
        (tmp_path / f"ok-{n}.yaml").write_text(f"title: T{n}\nsummary: S{n}\n")
    (tmp_path / "clash.yaml").write_text("id: clash\ntitle: T\nsummary: S\n")
    report = run(store, embedder, tmp_path)
    results = {Path(r.path).name: r for r in report.results}
    assert results["clash.yaml"].status is FileStatus.FAILED
    assert "cannot become a Failure" in (results["clash.yaml"].reason or "")
    assert [results[f"ok-{n}.yaml"].status for n in range(3)] == [FileStatus.IMPORTED] * 3
    assert store.stats().nodes == {"Cause": 1, "Failure": 3, "Document": 3}
