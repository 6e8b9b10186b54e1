"""The embedded store's keyword index (graph/store/keywords.py): BM25 as FTS5 scored it, kept
up to date across writes, merges and other connections."""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons.graph.models import Failure, Label
from lessons.graph.store import SqliteStore
from lessons.graph.store.keywords import KeywordIndex, encode_terms, query_words, words
from lessons.graph.text import keyword_terms
from lessons.ingest.pipeline import discover, ingest
from tests.hashing_embedder import HashingEmbedder

EXAMPLES = Path(__file__).parent.parent / "examples" / "postmortems"
FTS5 = "porter unicode61 remove_diacritics 2"  # the tokenizer of the store's old FTS5 tables
QUERIES = [
    "checkout latency spike after deploy",
    "database connections exhausted",
    "certificate expired overnight",
    "disk full on the log volume",
    "dns records deleted by automation",
]


def reference_bm25(texts: dict[str, str], query: str) -> dict[str, float]:
    """BM25 as FTS5 defines it, computed the slow way from the texts themselves."""
    docs = {node_id: Counter(words(text)) for node_id, text in texts.items()}
    average = sum(sum(c.values()) for c in docs.values()) / len(docs)
    scores: dict[str, float] = {}
    for term in query_words(query):
        having = sum(1 for c in docs.values() if term in c)
        idf = math.log((len(docs) - having + 0.5) / (having + 0.5))
        idf = idf if idf > 0 else 1e-6
        for node_id, counts in docs.items():
            if tf := counts[term]:
                length = sum(counts.values())
                norm = 1.2 * (1 - 0.75 + 0.75 * length / average)
                scores[node_id] = scores.get(node_id, 0.0) + idf * tf * 2.2 / (tf + norm)
    return scores


def blob(text: str, vocabulary: dict[str, int]) -> bytes:
    return encode_terms(Counter(vocabulary.setdefault(w, len(vocabulary)) for w in words(text)))


VOCABULARY = "dns outage database pool exhausted certificate expired deploy cache latency".split()
texts_strategy = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=12).map(" ".join)
steps_strategy = st.lists(
    st.tuples(st.integers(0, 7), st.one_of(st.none(), texts_strategy)), min_size=1, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(steps=steps_strategy, query=texts_strategy)
def test_an_index_kept_up_to_date_scores_like_bm25_over_the_texts(
    steps: list[tuple[int, str | None]], query: str
) -> None:
    vocabulary: dict[str, int] = {}
    index = KeywordIndex()
    texts: dict[str, str] = {}
    for number, text in steps:  # writes one at a time: some merge, some stay recent
        node_id = f"n{number}"
        index.update([(node_id, None if text is None else blob(text, vocabulary))])
        if text is None:
            texts.pop(node_id, None)
        else:
            texts[node_id] = text
    term_ids = [vocabulary[w] for w in query_words(query) if w in vocabulary]
    found = dict(index.search(term_ids, 10))
    expected = reference_bm25(texts, query) if texts else {}
    assert found.keys() <= expected.keys()
    assert len(found) == min(10, len(expected))
    for node_id, score in found.items():
        assert score == pytest.approx(expected[node_id])
    best = sorted(expected.values(), reverse=True)[: len(found)]
    assert sorted(found.values(), reverse=True) == pytest.approx(best)  # the best ones


def fts5_stems(texts: list[str]) -> list[list[str]]:
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5 (text, tokenize = '{FTS5}')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
    db.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", enumerate(texts))
    stems: list[list[str]] = [[] for _ in texts]
    for term, doc in db.execute("SELECT term, doc FROM v ORDER BY doc, offset"):
        stems[doc].append(term)
    return stems


def test_words_are_those_fts5s_porter_tokenizer_made() -> None:
    texts = [p.read_text() for p in sorted(EXAMPLES.glob("*"))]
    texts.append("Café DNS_resolver was re-deployed at 03:00; it is as it was. Ünïcode naïve")
    theirs = fts5_stems(texts)
    ours = [words(text) for text in texts]
    assert [len(w) for w in ours] == [len(w) for w in theirs]
    differing = [
        (a, b)
        for t, o in zip(theirs, ours, strict=True)
        for a, b in zip(t, o, strict=True)
        if a != b
    ]
    # Snowball's Porter and SQLite's differ on words like "possibly" ("possibli" / "possibl").
    assert len(differing) <= sum(len(w) for w in ours) // 1000, differing[:10]


def test_the_index_follows_another_connections_adds_changes_and_deletes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.sqlite3"
    reader, writer = SqliteStore(path), SqliteStore(path)

    def ranking(store: SqliteStore) -> list[tuple[str, float]]:
        hits = store.keyword_search([Label.FAILURE], "dns outage database", 10)
        return [(h.id, round(h.score, 6)) for h in hits]

    def failure(n: int, summary: str) -> Failure:
        return Failure(id=f"f{n}", title=f"failure {n}", summary=summary)

    steps = [
        lambda: writer.upsert_nodes([failure(n, "dns outage") for n in range(3)]),
        lambda: writer.upsert_nodes([failure(3, "database outage, database down")]),
        lambda: writer.upsert_nodes([failure(0, "disk full")]),  # changed: no longer a hit
        lambda: writer.delete_nodes(["f1"]),
        lambda: writer.upsert_nodes([failure(n, "dns") for n in range(4, 40)]),  # merges
    ]
    for step in steps:
        step()
        fresh = SqliteStore(path)
        assert ranking(reader) == ranking(fresh)
        fresh.close()
    assert [i for i, _ in ranking(reader)][:2] == ["f3", "f2"]
    assert "f0" not in dict(ranking(reader)) and "f1" not in dict(ranking(reader))
    reader.close()
    writer.close()


def test_ranks_the_examples_as_fts5_did(tmp_path: Path) -> None:
    """The store's answers beside FTS5's own BM25 over the same failure texts."""
    store = SqliteStore(tmp_path / "s.sqlite3")
    sources, _ = discover([str(EXAMPLES)])
    ingest(store, HashingEmbedder(), sources)
    failures = store.list_nodes(Label.FAILURE, limit=1000)
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5 (id UNINDEXED, text, tokenize = '{FTS5}')")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(f.id, f.search_text()) for f in failures])
    for query in QUERIES:
        match = " OR ".join(f'"{t}"' for t in keyword_terms(query))
        sql = "SELECT id, -rank FROM t WHERE t MATCH ? ORDER BY rank LIMIT 5"
        fts5 = [(i, pytest.approx(score)) for i, score in db.execute(sql, (match,))]
        ours = [(h.id, h.score) for h in store.keyword_search([Label.FAILURE], query, 5)]
        assert ours == fts5, query
    store.close()


def test_term_ids_past_16_bits_find_their_nodes() -> None:
    """Postings are grouped by term with a 16-bit radix sort; ids above 65535 need two passes."""
    ids = {f"n{i}": [5, 70_000 + i % 7, 65_536 * (1 + i % 3) + 1] for i in range(60)}
    index = KeywordIndex.of(
        (node_id, encode_terms(Counter(terms))) for node_id, terms in ids.items()
    )
    for term in (5, 70_003, 65_537, 131_073, 196_609):
        expected = {node_id for node_id, terms in ids.items() if term in terms}
        assert {node_id for node_id, _ in index.search([term], 100)} == expected, term


@given(st.text(st.characters(max_codepoint=0x7F)))
def test_ascii_texts_have_the_words_of_the_general_path(text: str) -> None:
    # A non-ASCII word after a space sends the text down the general path.
    assert words(text + " é") == [*words(text), "e"]
