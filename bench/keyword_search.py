"""Keyword search at 100k: can FTS5 be made to do less work without ranking differently?

    python bench/keyword_search.py [--n 100000] [--queries 200]

The store of bench/search.py (N generated postmortems, whole graphs, real vectors from its
cache) is built once; the ~200 on-call style queries of bench/search.py are then asked of the
failures' FTS5 index, the way `SqliteStore.keyword_search` asks them (the OR of the query's
words, `ORDER BY rank LIMIT 50`), beside the same query without its most common words: a
word whose stem is in more than a share of the failures is left out (the three rarest words
are kept when all are that common). A share of 1.0 is the store's query itself, the
baseline; 0.5 leaves out only words BM25 weighs at zero (FTS5 gives an IDF <= 0 a weight of
1e-6). Each variant's time includes looking up its words' document frequencies (the query's
stems from FTS5's own tokenizer, their counts from an `fts5vocab` table).

Printed per share: p50 / p95 ms, and how much of the baseline's top 10 the variant keeps.
Then the store's query beside the same query with its 50 best rows joined to their nodes
after the LIMIT instead of before it (the two alternate, query by query).
Then the time to read the index's postings back out of FTS5 (what a dedicated in-memory BM25
index built from the store would cost to load). Nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from common import load_model, machine_info, percentile, timed
from search import build_store, cached_vectors, failure_texts, make_queries

from lessons.graph.store.sqlite import SqliteStore
from lessons.graph.text import keyword_terms

SHARES = (1.0, 0.5, 0.2, 0.1, 0.05)
JOIN_FIRST = (  # the store's query
    "SELECT n.id FROM text_failure t JOIN nodes n ON n.pk = t.rowid "
    "WHERE text_failure MATCH ? ORDER BY t.rank LIMIT 50"
)
LIMIT_FIRST = (
    "SELECT n.id FROM (SELECT rowid, rank FROM text_failure WHERE text_failure MATCH ? "
    "ORDER BY rank LIMIT 50) AS best JOIN nodes n ON n.pk = best.rowid ORDER BY best.rank"
)
TOKENIZER = "porter unicode61 remove_diacritics 2"  # the store's, graph/store/sqlite.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    print(machine_info())
    vectors = cached_vectors(load_model(64, ["warm-up"]), args.n, args.seed)
    queries = make_queries(args.queries + 1, args.seed)[1:]
    with tempfile.TemporaryDirectory(prefix="lessons-bench-keyword-") as tmp:
        path = Path(tmp) / "store.sqlite3"
        build_store(path, vectors, failure_texts(args.n, args.seed), args.n, args.seed)
        store = SqliteStore(path)
        db = store._db  # the bench reads FTS5's own tables; the store has no API for them
        db.executescript(
            f"CREATE VIRTUAL TABLE temp.words USING fts5 (word, tokenize = '{TOKENIZER}');"
            "CREATE VIRTUAL TABLE temp.stems USING fts5vocab (temp, words, 'instance');"
            "CREATE VIRTUAL TABLE temp.rows_with USING fts5vocab (main, text_failure, 'row');"
            "CREATE VIRTUAL TABLE temp.postings USING fts5vocab (main, text_failure, 'instance');"
        )
        (total,) = db.execute("SELECT count(*) FROM nodes WHERE label = 'Failure'").fetchone()

        def rows_with(words: list[str]) -> list[int]:
            """In how many failures each word's stems occur (the most common stem counts)."""
            db.execute("DELETE FROM temp.words")
            db.executemany("INSERT INTO temp.words (rowid, word) VALUES (?, ?)", enumerate(words))
            stems: dict[str, list[int]] = {}
            for stem, word in db.execute("SELECT term, doc FROM temp.stems"):
                stems.setdefault(stem, []).append(word)
            counts = [0] * len(words)
            marks = ",".join("?" * len(stems))
            sql = f"SELECT term, doc FROM temp.rows_with WHERE term IN ({marks})"
            for stem, count in db.execute(sql, list(stems)):
                for word in stems[stem]:
                    counts[word] = max(counts[word], count)
            return counts

        def top(words: list[str], sql: str = JOIN_FIRST) -> list[str]:
            match = " OR ".join(f'"{w}"' for w in words)
            return [row[0] for row in db.execute(sql, (match,))]

        baseline = {q: top(keyword_terms(q)) for q in queries}
        print(f"\n{total} failures, {len(queries)} queries; ms per keyword search")
        print(f"{'leave out words in more than':<30} {'p50':>7} {'p95':>7} {'top-10 kept':>12}")
        for share in SHARES:
            seconds, kept = [], []
            for query in queries:
                words = keyword_terms(query)
                with timed() as clock:
                    if share < 1.0:
                        counts = rows_with(words)
                        rarest = sorted(range(len(words)), key=counts.__getitem__)[:3]
                        words = [
                            w for w, c in zip(words, counts, strict=True) if c <= share * total
                        ]
                        words = words or [keyword_terms(query)[i] for i in sorted(rarest)]
                    found = top(words)
                seconds.append(clock.seconds)
                kept.append(len(set(found[:10]) & set(baseline[query][:10])) / 10)
            name = "nothing (the store's query)" if share == 1.0 else f"{share:.0%} of failures"
            print(
                f"{name:<30} {percentile(seconds, 50) * 1000:>7.1f} "
                f"{percentile(seconds, 95) * 1000:>7.1f} {statistics.mean(kept):>12.3f}"
            )
        # The same query, with the 50 best rows joined to their nodes after the LIMIT rather
        # than every matching row before it; the two alternate, query by query.
        seconds_by = {JOIN_FIRST: [], LIMIT_FIRST: []}
        same = 0
        for i, query in enumerate(queries):
            found = {}
            for sql in (JOIN_FIRST, LIMIT_FIRST)[:: 1 if i % 2 else -1]:
                with timed() as clock:
                    found[sql] = top(keyword_terms(query), sql)
                seconds_by[sql].append(clock.seconds)
            same += found[JOIN_FIRST] == found[LIMIT_FIRST]
        for sql, name in (
            (JOIN_FIRST, "join, then LIMIT (the store's)"),
            (LIMIT_FIRST, "LIMIT, then join"),
        ):
            print(
                f"{name:<30} {percentile(seconds_by[sql], 50) * 1000:>7.1f} "
                f"{percentile(seconds_by[sql], 95) * 1000:>7.1f}"
            )
        print(f"  same 50 results, in the same order, for {same} of {len(queries)} queries")
        with timed() as clock:
            (postings,) = db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM temp.postings GROUP BY term, doc)"
            ).fetchone()
        print(f"\nreading the {postings} postings back out of FTS5: {clock.seconds:.1f} s")
        store.close()


if __name__ == "__main__":
    main()
