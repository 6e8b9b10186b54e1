"""Neo4j beside the embedded store: the import write path and search latency, same data, same run.

    python bench/stores.py import [--n 1000] [--naive-docs 200]
    python bench/stores.py search [--n 10000] [--queries 200]
    python bench/stores.py profile [--n 1000]

Neo4j is the real Neo4j Community the tests use (the release tests/neo4j/pom.xml names, run by
tests/neo4j/server.py; started here with
a 2 GiB page cache, the full JIT and the settings docker-compose.yml gives production: see
SERVER_SETTINGS), or the server named by LESSONS_BENCH_NEO4J_URI (with
LESSONS_BENCH_NEO4J_USER / LESSONS_BENCH_NEO4J_PASSWORD; its data is wiped).

`import`: N generated postmortems (bench/generate.py) are imported once to fill a vector cache
with the real model; then `discover` + `ingest` run into a fresh SqliteStore and into an empty
Neo4j through that warm cache, so neither import encodes anything and the times compare the
write paths alone (the rounds alternate, best of each; one import into Neo4j before them is
not counted, as the server's JIT warms up). Neo4j is timed twice per round:
vectors sent as VECTOR values (on a server that speaks Bolt 6) and as lists of floats (as
5.26 gets them). Then, on the first `--naive-docs` documents, three Neo4j write paths for
the same graphs: `replace_documents` on chunks of 64
documents (what `ingest` does: a handful of `UNWIND` queries and one commit per chunk), the
same with one document per transaction, and a one-query-per-node path (every node, edge and
claim its own auto-commit query), the way an unbatched client would write them. Target: Neo4j
import at most 2x the embedded store's.

`search`: both stores are filled with the same N failures (title + summary vectors from the
real model, cached by bench/search.py) and their whole graphs; the same ~200 on-call style
queries (bench/search.py) go through `lessons.graph.search.search` on each store, one store
answering all of them in a row (the order of the stores alternates between rounds), after
`--warmup` other queries on each store (uncounted), with the query encoding timed on its own as
the baseline; then each store call of a search is timed on its own. Target: p95 < 60 ms on
Neo4j at 100k, query encoding included.

`profile`: where a Neo4j import's time goes, per query. After one uncounted import (the JIT
warms up), the same N documents are imported twice into an empty Neo4j through the warm vector
cache: once timing every query of the write transactions from the client (the query's
round trip, its records included) and each transaction's commit (the rest of
`execute_write`); once with every write query run under `PROFILE`, summing the database hits
and the server time each operator reports.

Nothing is asserted on time.
"""

from __future__ import annotations

import lessons.graph  # noqa: F401  first: it sets how idle numpy and torch threads wait

# isort: split
import argparse
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import neo4j
import numpy as np
from common import load_model, machine_info, ms_summary, peak_rss_mib, percentile, timed
from generate import DEFAULT_SEED, generate_records, write_corpus
from search import cached_vectors, document_batches, failure_texts, make_queries

from lessons.graph.embeddings import CachingEmbedder, Embedder
from lessons.graph.models import Document, Label
from lessons.graph.reads import failure_contexts
from lessons.graph.search import CANDIDATES, SearchHit, search
from lessons.graph.store import DocumentGraph, GraphStore, SqliteStore
from lessons.graph.store.neo4j import NODE, Neo4jStore
from lessons.ingest.mapping import build_document_graph
from lessons.ingest.pipeline import Source, discover, ingest
from lessons.ingest.record import PostmortemRecord

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


@contextmanager
def neo4j_server() -> Iterator[tuple[str, str, str | None]]:
    """(uri, user, password) of the Neo4j to measure."""
    uri = os.environ.get("LESSONS_BENCH_NEO4J_URI")
    if uri:
        yield (
            uri,
            os.environ.get("LESSONS_BENCH_NEO4J_USER", "neo4j"),
            os.environ.get("LESSONS_BENCH_NEO4J_PASSWORD"),
        )
        return
    from tests.neo4j.server import Neo4jServer

    with Neo4jServer(heap="2g", pagecache_mb=2048, fast_start=False) as server:
        yield server.uri, server.user, server.password


def fresh_neo4j(uri: str, user: str, password: str | None) -> Neo4jStore:
    """An empty Neo4jStore (everything deleted, schema kept)."""
    auth = (user, password) if password else None
    with neo4j.GraphDatabase.driver(uri, auth=auth) as driver, driver.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS").consume()
    return Neo4jStore(uri, user=user, password=password)


# -- import ---------------------------------------------------------------------------------


def naive_replace(driver: neo4j.Driver, graph: DocumentGraph) -> None:
    """Write a document one query per node, edge and claim (each its own transaction)."""
    doc = graph.document.id
    for node in [graph.document, *graph.nodes]:
        props = {k: v for k, v in node.properties().items() if v is not None}
        vector = graph.vectors.get(node.id)
        driver.execute_query(
            f"MERGE (n:{NODE} {{id: $id}}) SET n:{node.label.value} SET n = $props "
            "SET n.id = $id, n.search_text = $text, n.embedding = $embedding",
            id=node.id,
            props=props,
            text=node.search_text() or None,
            embedding=None if vector is None else [float(x) for x in vector],
        )
        driver.execute_query(
            "MERGE (:NodeClaim {document_id: $doc, node_id: $id})", doc=doc, id=node.id
        )
    for edge in graph.edges:
        driver.execute_query(
            f"MATCH (a:{NODE} {{id: $src}}) MATCH (b:{NODE} {{id: $dst}}) "
            f"MERGE (a)-[r:{edge.rel.value}]->(b) SET r.role = $role",
            src=edge.source,
            dst=edge.target,
            role=edge.role.value if edge.role else None,
        )
        driver.execute_query(
            "MERGE (:EdgeClaim {document_id: $doc, src: $src, rel: $rel, dst: $dst})",
            doc=doc,
            src=edge.source,
            rel=edge.rel.value,
            dst=edge.target,
        )


def document_graphs(count: int, seed: int, embedder: Embedder) -> list[DocumentGraph]:
    """The graphs of the first `count` generated postmortems, with vectors from `embedder`."""
    graphs = []
    for index, record in enumerate(generate_records(count, seed)):
        document = Document(
            id=f"document:{index:08d}",
            path=f"/bench/{record['id']}.md",
            sha256="0" * 64,
            format="md",
            ingested_at="2026-01-01T00:00:00Z",
        )
        graph = build_document_graph(
            document, [(record["id"], PostmortemRecord.model_validate(record))]
        )
        texts = {n.id: n.search_text() for n in graph.nodes if n.search_text()}
        graph.vectors = dict(zip(texts, embedder.encode(list(texts.values())), strict=True))
        graphs.append(graph)
    return graphs


def corpus_with_vectors(n: int, seed: int) -> tuple[list[Source], Embedder, Path]:
    """N generated postmortems on disk, the model, and a vector cache holding all their
    texts (filled by one import into a scratch SqliteStore)."""
    work = Path(tempfile.mkdtemp(prefix="lessons-bench-stores-"))
    files = write_corpus(work / "docs", n, seed)
    sources, _ = discover([str(work / "docs")])
    model = load_model(64, [p.read_text()[:200] for p in files[:64]])
    cache = work / "vectors.sqlite3"
    with timed() as warm:
        report = ingest(SqliteStore(work / "warm.sqlite3"), CachingEmbedder(model, cache), sources)
    assert report.ok
    print(f"{n} documents; vector cache filled in {warm.seconds:.0f} s (not compared)")
    return sources, model, cache


def run_import(args: argparse.Namespace) -> None:
    sources, model, cache = corpus_with_vectors(args.n, args.seed)
    work = cache.parent

    with neo4j_server() as (uri, user, password):
        # One import not counted: a server just started compiles its write paths (JIT) over
        # the first thousands of documents, which a server in use has long done.
        with timed() as warm_up:
            warming = fresh_neo4j(uri, user, password)
            assert ingest(warming, CachingEmbedder(model, cache), sources).ok
            warming.close()
        print(f"  Neo4j warmed up by one import, not counted ({warm_up.seconds:.1f} s)")
        # "neo4j-lists": the same server sent vectors as lists of floats, as 5.26 is (the
        # baseline of sending them as VECTOR values, where the server speaks Bolt 6).
        times: dict[str, list[float]] = {"sqlite": [], "neo4j": [], "neo4j-lists": []}
        for round_ in range(args.rounds):
            for name in times:
                store: GraphStore
                if name == "sqlite":
                    store = SqliteStore(work / f"sqlite-{round_}.sqlite3")
                else:
                    server_store = fresh_neo4j(uri, user, password)
                    server_store.vector_values &= name == "neo4j"
                    store = server_store
                embedder = CachingEmbedder(model, cache)
                with timed() as t:
                    report = ingest(store, embedder, sources)
                assert report.ok and embedder.encoded_count == 0
                times[name].append(t.seconds)
                print(f"  round {round_ + 1}: {name:11s} import {t.seconds:7.1f} s", flush=True)
                store.close()
        best = {name: min(values) for name, values in times.items()}
        ratio = best["neo4j"] / best["sqlite"]
        print(
            f"import without encoding, best of {args.rounds}: embedded {best['sqlite']:.1f} s "
            f"({args.n / best['sqlite']:.0f} docs/s), Neo4j {best['neo4j']:.1f} s "
            f"({args.n / best['neo4j']:.0f} docs/s): Neo4j / embedded = {ratio:.2f}x "
            f"(target <= 2x: {'met' if ratio <= 2 else 'MISSED'}); with vectors sent as lists "
            f"{best['neo4j-lists']:.1f} s: {best['neo4j-lists'] / best['sqlite']:.2f}x"
        )

        graphs = document_graphs(args.naive_docs, args.seed, CachingEmbedder(model, cache))
        paths = {
            "64 documents per transaction": lambda s: [
                s.replace_documents(graphs[i : i + 64]) for i in range(0, len(graphs), 64)
            ],
            "1 document per transaction": lambda s: [s.replace_documents([g]) for g in graphs],
        }
        seconds: dict[str, float] = {}
        for name, write in paths.items():
            store = fresh_neo4j(uri, user, password)
            with timed() as t:
                write(store)
            seconds[name] = t.seconds
            store.close()
        fresh_neo4j(uri, user, password).close()
        auth = (user, password) if password else None
        with neo4j.GraphDatabase.driver(uri, auth=auth) as driver, timed() as naive:
            for graph in graphs:
                naive_replace(driver, graph)
        seconds["1 query per node, edge and claim"] = naive.seconds
        batched = seconds["64 documents per transaction"]
        print(f"Neo4j write paths on the same {len(graphs)} documents (no encoding):")
        for name, value in seconds.items():
            print(
                f"  {name:34s} {1000 * value / len(graphs):7.1f} ms/doc "
                f"({value / batched:.1f}x the batched path)"
            )
    print(f"peak RSS of this process {peak_rss_mib():.0f} MiB")


# -- profile --------------------------------------------------------------------------------


@dataclass
class QueryLog:
    """Client-side seconds per query kind and per commit; operator totals under PROFILE."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    runs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    operators: dict[tuple[str, str], list[float]] = field(default_factory=dict)


def query_kind(query: str) -> str:
    """A query's first words, with its label or relationship type named by a placeholder."""
    text = re.sub(r"\s+", " ", query.removeprefix("CYPHER 25 "))
    text = re.sub(r"SET n:\w+", "SET n:<label>", text)
    text = re.sub(r"\[r:(?!\$)\w+\]", "[r:<type>]", text)
    return text[:110]


def collect_operators(log: QueryLog, kind: str, plan: dict) -> None:
    """Add each operator's db hits, rows and time (ns, when the runtime reports it)."""
    name = plan.get("operatorType", "?").split("@")[0]
    totals = log.operators.setdefault((kind, name), [0.0, 0.0, 0.0])
    totals[0] += plan.get("dbHits", 0)
    totals[1] += plan.get("rows", 0)
    totals[2] += plan.get("time", 0) or 0
    for child in plan.get("children", []):
        collect_operators(log, kind, child)


@contextmanager
def logged_queries(profiled: bool) -> Iterator[QueryLog]:
    """Time (or PROFILE) every query run in a managed transaction, and every commit."""
    log = QueryLog()
    run, execute_write = neo4j.ManagedTransaction.run, neo4j.Session.execute_write
    in_queries = [0.0]
    writing = [False]  # reads (execute_query) run in managed transactions too: left alone

    def timed_run(tx: neo4j.ManagedTransaction, query: str, parameters=None, **kw):  # type: ignore[no-untyped-def]
        if not writing[0]:
            return run(tx, query, parameters, **kw)
        kind = query_kind(query)
        if profiled:
            prefix = "CYPHER 25 " if query.startswith("CYPHER 25 ") else ""
            query = f"{prefix}PROFILE {query.removeprefix(prefix)}"
        start = time.perf_counter()
        result = run(tx, query, parameters, **kw)
        records = list(result)
        summary = result.consume()
        seconds = time.perf_counter() - start
        in_queries[0] += seconds
        log.seconds[kind] += seconds
        log.runs[kind] += 1
        log.rows[kind] += len((parameters or kw).get("rows", (parameters or kw).get("ids", [])))
        if summary.profile:
            collect_operators(log, kind, summary.profile)
        return records

    def timed_write(session: neo4j.Session, work, *args, **kw):  # type: ignore[no-untyped-def]
        before, start = in_queries[0], time.perf_counter()
        writing[0] = True
        try:
            result = execute_write(session, work, *args, **kw)
        finally:
            writing[0] = False
        log.seconds["commit and client (the rest of execute_write)"] += (
            time.perf_counter() - start - (in_queries[0] - before)
        )
        return result

    neo4j.ManagedTransaction.run = timed_run  # type: ignore[method-assign]
    neo4j.Session.execute_write = timed_write  # type: ignore[method-assign]
    try:
        yield log
    finally:
        neo4j.ManagedTransaction.run = run  # type: ignore[method-assign]
        neo4j.Session.execute_write = execute_write  # type: ignore[method-assign]


def run_profile(args: argparse.Namespace) -> None:
    sources, model, cache = corpus_with_vectors(args.n, args.seed)
    with neo4j_server() as (uri, user, password):
        assert ingest(fresh_neo4j(uri, user, password), CachingEmbedder(model, cache), sources).ok
        for profiled in (False, True):
            store = fresh_neo4j(uri, user, password)
            with logged_queries(profiled) as log, timed() as whole:
                assert ingest(store, CachingEmbedder(model, cache), sources).ok
            store.close()
            print(
                f"\n{'PROFILE' if profiled else 'timed'} import of {args.n} documents: "
                f"{whole.seconds:.1f} s; write transactions' queries and commits:"
            )
            for kind, seconds in sorted(log.seconds.items(), key=lambda kv: -kv[1]):
                print(
                    f"  {seconds:6.2f} s  {log.runs.get(kind, 0):5d} runs "
                    f"{log.rows.get(kind, 0):7d} rows  {kind}"
                )
            if profiled:
                print("operators (db hits, rows, server ms) of each query kind:")
                for (kind, name), (hits, rows, ns) in sorted(log.operators.items()):
                    print(f"  {hits:9.0f} {rows:9.0f} {ns / 1e6:9.1f}  {name:28s} {kind[:60]}")


# -- search ---------------------------------------------------------------------------------


def fill(store: GraphStore, vectors: np.ndarray, n: int, seed: int) -> None:
    """Write N generated postmortems (whole graphs, failure vectors) in batches."""
    done = 0
    for nodes, edges, fids in document_batches(n, seed):
        store.upsert_nodes(nodes, {fid: vectors[done + offset] for offset, fid in enumerate(fids)})
        store.upsert_edges(edges)
        done += len(fids)
        if done % 10_000 == 0 or done == n:
            print(f"  {type(store).__name__}: {done}/{n} postmortems written", flush=True)


def time_parts(
    store: GraphStore, vector: np.ndarray, query: str, hits: list[SearchHit]
) -> dict[str, float]:
    """Seconds of each store call a search makes, repeated on their own."""
    seconds = {}
    with timed() as t:
        store.vector_search([Label.FAILURE], vector, CANDIDATES)
    seconds["vector_search"] = t.seconds
    with timed() as t:
        store.keyword_search([Label.FAILURE], query, CANDIDATES)
    seconds["keyword_search"] = t.seconds
    with timed() as t:
        failure_contexts(store, [h.context.failure.id for h in hits])
    seconds["hydration (failure_contexts)"] = t.seconds
    return seconds


def run_search(args: argparse.Namespace) -> None:
    texts = failure_texts(args.n, args.seed)
    model = load_model(64, texts[:64])
    vectors = cached_vectors(model, args.n, args.seed)
    queries = make_queries(args.queries, args.seed)
    work = Path(tempfile.mkdtemp(prefix="lessons-bench-stores-"))
    with neo4j_server() as (uri, user, password):
        stores: dict[str, GraphStore] = {
            "sqlite": SqliteStore(work / "search.sqlite3"),
            "neo4j": fresh_neo4j(uri, user, password),
        }
        for name, store in stores.items():
            with timed() as t:
                fill(store, vectors, args.n, args.seed)
            print(f"{name}: filled in {t.seconds:.0f} s", flush=True)
        # Warm-up, not counted: the embedded store loads its matrix, and Neo4j, just filled
        # by writes, compiles its read paths (JIT) over the first few hundred queries, as a
        # server in use has long done. Other queries than the measured ones (another seed).
        measured = set(queries)
        candidates = make_queries(args.warmup + len(queries), args.seed + 1)
        warm_up = [q for q in candidates if q not in measured][: args.warmup]
        for store in stores.values():
            for query in warm_up:
                search(store, model, query, limit=5)
        latency: dict[str, list[float]] = {"encode": [], "sqlite": [], "neo4j": []}
        parts: dict[str, list[float]] = {}
        for round_number in range(args.rounds):
            for query in queries:
                with timed() as t:
                    model.encode([query])
                latency["encode"].append(t.seconds)
            # Each store answers all queries in a row, as in a process that uses one store
            # (the order alternates between rounds): right after a search on the other store
            # a search pays for that one's leftovers (caches, a heap grown by the other).
            names = list(stores) if round_number % 2 == 0 else list(reversed(stores))
            for name in names:
                for query in queries:
                    with timed() as t:
                        search(stores[name], model, query, limit=5)
                    latency[name].append(t.seconds)
        for name, store in stores.items():  # where a search's time goes, one call at a time
            for query in queries:
                vector = model.encode([query])[0]
                hits = search(store, model, query, limit=5)
                for part, seconds in time_parts(store, vector, query, hits).items():
                    parts.setdefault(f"{name}: {part}", []).append(seconds)
        for name, values in latency.items():
            label = "query encoding alone" if name == "encode" else f"search on {name}"
            print(f"{label:22s} {ms_summary(values)}")
        for name, values in sorted(parts.items()):
            print(f"  {name:28s} {ms_summary(values)}")
        p95 = {name: percentile(values, 95) * 1000 for name, values in latency.items()}
        print(
            f"p95 at {args.n}: embedded {p95['sqlite']:.1f} ms, Neo4j {p95['neo4j']:.1f} ms "
            f"({p95['neo4j'] / p95['sqlite']:.2f}x), encoding alone {p95['encode']:.1f} ms; "
            f"Neo4j target < 60 ms: {'met' if p95['neo4j'] < 60 else 'MISSED'}"
        )
        for store in stores.values():
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    imp = sub.add_parser("import", help="import write path, Neo4j vs embedded")
    imp.add_argument("--n", type=int, default=1000)
    imp.add_argument("--rounds", type=int, default=2)
    imp.add_argument("--naive-docs", type=int, default=200)
    sub.add_parser("profile", help="where a Neo4j import's time goes, per query").add_argument(
        "--n", type=int, default=1000
    )
    found = sub.add_parser("search", help="search latency, Neo4j vs embedded")
    found.add_argument("--n", type=int, default=10_000)
    found.add_argument("--queries", type=int, default=200)
    found.add_argument("--rounds", type=int, default=2)
    found.add_argument("--warmup", type=int, default=200, help="uncounted queries per store")
    for p in sub.choices.values():
        p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    print(machine_info())
    {"import": run_import, "search": run_search, "profile": run_profile}[args.what](args)


if __name__ == "__main__":
    main()
