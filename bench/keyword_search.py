"""Keyword search at 100k: the embedded store's BM25 index beside the FTS5 query it replaced.

    python bench/keyword_search.py [--n 100000] [--queries 200]

1. The store of bench/search.py (N generated postmortems, whole graphs; keyword search needs
   no vectors, so every failure gets a one-number placeholder) is built once.
2. The baseline, in the same process: the failures' texts in an FTS5 table with the tokenizer
   the store used until schema 4 (`porter unicode61 remove_diacritics 2`), asked the way
   `SqliteStore.keyword_search` asked it (the OR of the query's words, joined to the nodes,
   `ORDER BY rank LIMIT 50`).
3. The store's `keyword_search` on the same ~200 on-call style queries of bench/search.py; the
   two take turns, query by query, after one uncounted round. Printed: p50 / p95 ms, how many
   of FTS5's top 10 the store also returns, and how many answers are the same 50 in the same
   order.
4. The index's cost: loading it from SQLite on the first search of a process, the memory
   that takes (RSS before and after), and bringing it up to date after a write of 64 more
   postmortems (the first search after the write).

Target (issue 14): keyword search at 100k p95 <= 10 ms. Nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
from pathlib import Path

import numpy as np
from common import machine_info, percentile, timed
from search import build_store, failure_texts, make_queries

from lessons.graph.models import Failure, Label, node_from_properties
from lessons.graph.store.sqlite import SqliteStore
from lessons.graph.text import keyword_terms

FTS5_TOKENIZER = "porter unicode61 remove_diacritics 2"  # the store's, schema 1-3
FTS5_QUERY = (  # the store's, schema 1-3
    "SELECT n.id FROM fts5_failure t JOIN nodes n ON n.pk = t.rowid "
    "WHERE fts5_failure MATCH ? ORDER BY t.rank LIMIT 50"
)


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    print(machine_info())
    queries = make_queries(args.queries + 1, args.seed)[1:]
    with tempfile.TemporaryDirectory(prefix="lessons-bench-keyword-") as tmp:
        path = Path(tmp) / "store.sqlite3"
        texts = failure_texts(args.n, args.seed)
        build_store(path, np.ones((args.n, 1), dtype=np.float32), texts, args.n, args.seed)
        store = SqliteStore(path)
        db = store._db  # the baseline's FTS5 table lives beside the store's own tables
        with timed() as clock:
            db.execute(
                "CREATE VIRTUAL TABLE fts5_failure USING fts5 "
                f"(text, tokenize = '{FTS5_TOKENIZER}')"
            )
            rows = db.execute("SELECT pk, id, props FROM nodes WHERE label = 'Failure'")
            db.executemany(
                "INSERT INTO fts5_failure (rowid, text) VALUES (?, ?)",
                (
                    (pk, node_from_properties("Failure", i, json.loads(p)).search_text())
                    for pk, i, p in rows.fetchall()
                ),
            )
        print(f"baseline FTS5 table filled in {clock.seconds:.1f} s")

        rss_before = rss_mib()
        with timed() as clock:
            store.keyword_search([Label.FAILURE], queries[0], 50)
        print(
            f"\nindex loaded on the first search: {clock.seconds:.2f} s, "
            f"RSS +{rss_mib() - rss_before:.0f} MiB"
        )

        def fts5(query: str) -> list[str]:
            match = " OR ".join(f'"{w}"' for w in keyword_terms(query))
            return [row[0] for row in db.execute(FTS5_QUERY, (match,))]

        def ours(query: str) -> list[str]:
            return [h.id for h in store.keyword_search([Label.FAILURE], query, 50)]

        seconds: dict[str, list[float]] = {"fts5": [], "index": []}
        answers: dict[str, dict[str, list[str]]] = {"fts5": {}, "index": {}}
        for counted in (False, True):
            for i, query in enumerate(queries):
                for name in ("fts5", "index")[:: 1 if i % 2 else -1]:
                    with timed() as clock:
                        answers[name][query] = (fts5 if name == "fts5" else ours)(query)
                    if counted:
                        seconds[name].append(clock.seconds)
        kept = [
            len(set(answers["index"][q][:10]) & set(answers["fts5"][q][:10])) / 10 for q in queries
        ]
        same = sum(answers["index"][q] == answers["fts5"][q] for q in queries)
        print(f"\n{args.n} failures, {len(queries)} new queries; ms per keyword search (k = 50)")
        print(f"{'':<34} {'p50':>7} {'p95':>7}")
        for name, label in (
            ("fts5", "FTS5, the store's query (baseline)"),
            ("index", "the store's index"),
        ):
            print(
                f"{label:<34} {percentile(seconds[name], 50) * 1000:>7.1f} "
                f"{percentile(seconds[name], 95) * 1000:>7.1f}"
            )
        p95 = percentile(seconds["fts5"], 95) / percentile(seconds["index"], 95)
        print(f"  p95 ratio FTS5 / index: {p95:.1f}x")
        print(f"  FTS5's top 10 also in the index's: {statistics.mean(kept):.3f}")
        print(f"  the same 50 in the same order: {same} of {len(queries)}")

        store.upsert_nodes(
            [Failure(id=f"bench-more-{i}", title="more", summary=texts[i]) for i in range(64)]
        )
        with timed() as clock:
            store.keyword_search([Label.FAILURE], queries[1], 50)
        print(
            f"\nfirst search after 64 more postmortems were written: {clock.seconds * 1000:.1f} ms"
        )
        store.close()


if __name__ == "__main__":
    main()
