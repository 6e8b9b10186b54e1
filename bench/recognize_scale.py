"""Recognition at scale: a question nobody asked before, answered by `recognize` over N failures.

    python bench/recognize_scale.py [--n 100000] [--queries 200] [--store sqlite|neo4j]

1. N generated postmortems (bench/generate.py, the graphs bench/search.py builds) are written
   into a fresh store (the embedded one, or a Neo4j that bench/stores.py starts, then warmed
   by 50 questions that are not measured) the way an import writes them: `node_vectors` through a
   `CachingEmbedder`, so failures, causes, lessons, components, practices and teams get their
   vectors and every failure's passages go into the vector cache. The cache is kept in
   bench/results/recognize-cache-n{N}-seed{S}.sqlite3 (gitignored): the first run encodes
   everything with the real model (~30 min at 100k), later runs only read it.
2. ~200 on-call style questions (bench/search.py's `make_queries`, phrased unlike the
   generated texts), each new to the process: `recognize(store, embedder, question)` once,
   end to end, encoding of the question included (the "cold" figure the target is about).
3. On the same questions, in the same run, the baselines and the parts: the model alone
   encoding the question, `search()` (vector + keyword only), and `gather_signals`, the
   store's `keyword_search` and `vector_search` on their own.

4. On Neo4j, the peer: neo4j-graphrag's `HybridRetriever` over the store's own vector and
   full-text indexes (bench/peer.py; needs `pip install -e '.[bench]'`), same model, asked
   the same questions for as many results, the two taking turns at going first; and the
   peer followed by reading its matches' contexts, which `recognize` returns and the peer
   does not.

Printed: p50 / p95 / mean / max ms per line. Targets (issue 14): recognize p95 <= 50 ms at
100k on the embedded store, <= 60 ms on a warm Neo4j and no slower than the peer. Nothing is
asserted on time.
"""

from __future__ import annotations

import lessons.graph  # noqa: F401  first: it sets how idle numpy and torch threads wait

# isort: split
import argparse
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from common import (
    RESULTS_DIR,
    load_model,
    machine_info,
    ms_summary,
    peak_rss_mib,
    percentile,
    timed,
)
from generate import DEFAULT_SEED
from search import document_batches, make_queries

from lessons.graph.embeddings import CachingEmbedder, Embedder, node_vectors
from lessons.graph.models import Label
from lessons.graph.reads import failure_contexts
from lessons.graph.recognize import CANDIDATES, RecognizeQuery, gather_signals, recognize
from lessons.graph.search import search
from lessons.graph.store import GraphStore, SqliteStore

TARGET_P95_MS = {"sqlite": 50.0, "neo4j": 60.0}
WARM_UP_QUESTIONS = 50  # Neo4j plans and compiles its read paths on first use
MATCHES = 5  # what `recognize` returns by default, and what the peer is asked for


@contextmanager
def open_store(
    kind: str, folder: Path, model: Embedder
) -> Iterator[tuple[GraphStore, Callable[[str], list[str]] | None]]:
    """A fresh store of that kind; on Neo4j, also the peer: neo4j-graphrag's
    `HybridRetriever` over the store's own indexes (bench/peer.py), asked for as many
    results as `recognize` gives."""
    if kind == "sqlite":
        store = SqliteStore(folder / "store.sqlite3")
        yield store, None
        store.close()
        return
    from peer import peer_retrievers  # needs the bench extra (neo4j-graphrag)
    from stores import fresh_neo4j, neo4j_server  # starts Java: imported only here

    with neo4j_server() as (uri, user, password):
        neo4j_store = fresh_neo4j(uri, user, password)
        driver, peers = peer_retrievers(uri, user, password, model, MATCHES)
        yield neo4j_store, peers["neo4j-graphrag HybridRetriever"]
        driver.close()
        neo4j_store.close()


def ask_peer(
    peer: Callable[[str], list[str]],
    store: GraphStore,
    question: str,
    seconds: dict[str, list[float]],
) -> None:
    """Time the peer on a question, alone and followed by what `recognize` also does for its
    matches and the peer's caller would have to: read their contexts (one store call)."""
    with timed() as clock:
        ids = peer(question)
    seconds["peer"].append(clock.seconds)
    with timed() as then:
        failure_contexts(store, ids)
    seconds["peer+"].append(clock.seconds + then.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--store", choices=["sqlite", "neo4j"], default="sqlite")
    args = parser.parse_args()
    print(machine_info())
    model = load_model(64, ["warm-up"])
    RESULTS_DIR.mkdir(exist_ok=True)
    cache = CachingEmbedder(
        model, RESULTS_DIR / f"recognize-cache-n{args.n}-seed{args.seed}.sqlite3"
    )
    asked = make_queries(args.queries + WARM_UP_QUESTIONS, args.seed)
    questions, warm_up = asked[: args.queries], asked[args.queries :]
    with (
        tempfile.TemporaryDirectory(prefix="lessons-bench-recognize-") as tmp,
        open_store(args.store, Path(tmp), model) as (store, peer),
    ):
        done = 0
        with timed() as fill:
            for nodes, edges, fids in document_batches(args.n, args.seed):
                store.upsert_nodes(nodes, node_vectors(cache, nodes))
                store.upsert_edges(edges)
                done += len(fids)
                if done % 10_000 == 0:
                    print(f"  {done}/{args.n} written, {cache.encoded_count} texts encoded")
        stats = store.stats()
        print(
            f"store: {stats.nodes.get('Failure', 0)} failures, {stats.total_nodes} nodes, "
            f"written in {fill.seconds:.0f} s ({cache.encoded_count} texts encoded)"
        )
        # The vector matrix and the keyword index are loaded once per process, untimed.
        store.vector_search([Label.FAILURE], model.encode(["load"])[0], 1)
        with timed() as load:
            store.keyword_search([Label.FAILURE], "load", 1)
        print(f"first keyword search (the embedded store loads its index): {load.seconds:.2f} s")
        if peer is not None:  # on Neo4j: both warmed up on questions not measured
            for question in warm_up:
                recognize(store, cache, RecognizeQuery(description=question))
                peer(question)

        lines = {
            "recognize": "recognize, new question (encoding included)",
            "encode": "  encode the question (model alone)",
            "gather": "  gather_signals (question's vector cached)",
            "keyword": "    keyword_search",
            "vector": "    vector_search, failures",
            "search": "search() (vector + keyword, no cache)",
        }
        if peer is not None:
            lines["peer"] = "neo4j-graphrag HybridRetriever, same questions"
            lines["peer+"] = "  the same, then its matches' contexts read"
        seconds: dict[str, list[float]] = {key: [] for key in lines}
        for i, question in enumerate(questions):
            query = RecognizeQuery(description=question)
            if peer is not None and i % 2:  # the two take turns at going first
                ask_peer(peer, store, question, seconds)
            with timed() as clock:
                recognize(store, cache, query, limit=MATCHES)
            seconds["recognize"].append(clock.seconds)
            if peer is not None and not i % 2:
                ask_peer(peer, store, question, seconds)
            with timed() as clock:
                vector = model.encode([query.text()])[0]
            seconds["encode"].append(clock.seconds)
            with timed() as clock:
                gather_signals(store, cache, query)
            seconds["gather"].append(clock.seconds)
            with timed() as clock:
                store.keyword_search([Label.FAILURE], query.text(), CANDIDATES)
            seconds["keyword"].append(clock.seconds)
            with timed() as clock:
                store.vector_search([Label.FAILURE], vector, CANDIDATES)
            seconds["vector"].append(clock.seconds)
            with timed() as clock:
                search(store, model, question)
            seconds["search"].append(clock.seconds)
    cache.close()
    print(f"\n{len(questions)} questions over {args.n} failures, ms")
    for key, name in lines.items():
        print(f"{name:<46} {ms_summary(seconds[key])}")
    p95 = percentile(seconds["recognize"], 95) * 1000
    target = TARGET_P95_MS[args.store]
    verdict = "met" if p95 <= target else "MISSED"
    print(f"target recognize p95 on {args.store} <= {target:.0f} ms: {verdict} ({p95:.0f} ms)")
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
