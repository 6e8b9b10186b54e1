"""Search benchmark: latency of `lessons.graph.search.search` over a store of N failures.

    python bench/search.py [--n 10000] [--seed 1] [--queries 200] [--rounds 3] [--profile]

1. Generate N postmortems (bench/generate.py, in memory) and encode every failure's
   `search_text()` (title + summary) with the real all-MiniLM-L6-v2. The vectors are cached in
   bench/results/search-vectors-n{N}-seed{S}.npy (gitignored; a JSON sidecar holds a digest
   of the texts, so a stale cache is never used), so reruns skip the encoding.
2. Fill a fresh SqliteStore with the whole graph of every postmortem (failures with their
   vectors; causes, components, teams, lessons, practices, actions, experiments, documents
   and all edges, recurrences included), written in batches of 1,000 documents with
   `upsert_nodes` / `upsert_edges` rather than the import pipeline. Every node is in the FTS
   index, as after a real import; only failures get vectors (search only ranks failures).
3. Reopen the store (so nothing is cached in the process) and time the first search, which
   loads the vector matrix from SQLite, as the "cold" query; the matrix load alone is timed
   on another fresh store object. Neither is part of the latency figures.
4. Run ~200 held-out, on-call style queries (`make_queries`, phrased unlike the generated
   texts) for several rounds. Per query: `search(store, model, q, limit=5)` end to end, then
   each of its parts on its own: `model.encode([q])` (the baseline: what the model alone
   costs), `vector_search`, `keyword_search`, hydration (`failure_context` of the fused top
   hits), and a numpy floor for the vector part (matrix @ q + argpartition on the same
   vectors held in memory).
5. Once more through a `CachingEmbedder` over a fresh cache, as the CLI and API use it: each
   new query is looked up, encoded and stored in the vector cache.

Printed: p50/p95/mean/max per part and in total. Target: p95 < 30 ms including encoding at
100k. Nothing is asserted on time.

`--profile` also runs one more round of `search()` under cProfile, after the measurements,
and prints where the time goes (the profile is saved under bench/results/).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from common import (
    RESULTS_DIR,
    load_model,
    machine_info,
    ms_summary,
    peak_rss_mib,
    percentile,
    timed,
)
from generate import DEFAULT_SEED, generate_records

from lessons.graph.embeddings import CachingEmbedder, Embedder
from lessons.graph.models import Document, Edge, Failure, Label, Node, RelType
from lessons.graph.reads import failure_context
from lessons.graph.search import CANDIDATES, matched_terms, reciprocal_rank_fusion, search
from lessons.graph.store import SqliteStore
from lessons.ingest.mapping import build_document_graph
from lessons.ingest.record import PostmortemRecord

TARGET_P95_MS = 30.0
BATCH_DOCS = 1000

# -- held-out queries ---------------------------------------------------------------------
# Phrased the way someone on call types: short, colloquial, with names that are not the
# generated component ids and vocabulary the generator never uses verbatim.
QUERY_TEMPLATES = (
    "{svc} throwing {err} since the last deploy",
    "why is {svc} so slow right now",
    "{db} connections maxed out, requests queueing",
    "pods keep getting OOMKilled in {svc}",
    "customers say they were charged twice",
    "{queue} lag through the roof, consumers not keeping up",
    "cert expired?? {svc} handshake errors",
    "login broken for some users after {change}",
    "disk almost full on the {db} primary, what did we do last time",
    "search returns nothing for users in {place}",
    "has {svc} ever fallen over during {peak}",
    "prices wrong on product pages after a flag flip",
    "webhooks from {vendor} not arriving",
    "read replica hours behind primary",
    "queue backing up, one bad message keeps crashing the consumer",
    "did a dns change break {svc}?",
    "migration locked the {table} table and everything hung",
    "rate limiter is blocking real customers",
    "node pool upgrade took down {svc}",
    "too many open files on {svc}",
    "canary failing health checks but LB still sends traffic",
    "push notifications and emails not going out",
    "DST bug again? jobs ran twice overnight",
    "terraform removed a {resource} by accident",
    "p99 jumped after bumping {lib}",
    "{vendor} is down and we have no fallback",
    "stale data shown to users after failover",
    "retry storm from {client} hammering {svc}",
    "gc pauses making {svc} flap",
    "alerts went to the wrong team again",
    "restore from backup failed, never tested it",
    "autoscaler hit max during {peak}",
    "redis split brain after network blip",
    "token validation failing, clocks out of sync?",
    "{svc} memory creeping up until it restarts",
    "logs flooding the pipeline from {svc}",
    "iam permission removed, {job} failing",
    "kernel patch broke networking on {svc} hosts",
    "someone pushed config to every region at once",
    "cache expired all at once and the db melted",
)
QUERY_SLOTS = {
    "svc": [
        "checkout",
        "the payments service",
        "search API",
        "the login service",
        "cart",
        "order processing",
        "the mobile backend",
        "image uploads",
        "billing",
        "the storefront",
        "the admin panel",
        "shipping quotes",
        "the recommendations widget",
        "invoicing",
    ],
    "err": ["500s", "502s", "503s", "timeouts", "connection resets", "gateway errors"],
    "db": ["postgres", "mysql", "mongo", "the main db", "the orders db", "redis"],
    "queue": ["kafka", "rabbit", "sqs", "the event bus", "the order queue"],
    "change": [
        "the SSO rollout",
        "the auth migration",
        "rotating keys",
        "the app release",
        "the identity provider switch",
    ],
    "place": ["Germany", "Brazil", "Japan", "the US", "Australia", "France"],
    "peak": [
        "black friday",
        "the holiday sale",
        "a big launch",
        "cyber monday",
        "payday",
        "the superbowl ad",
    ],
    "vendor": [
        "stripe",
        "twilio",
        "sendgrid",
        "okta",
        "the shipping partner",
        "the tax vendor",
        "our PSP",
    ],
    "table": ["orders", "users", "payments", "products", "accounts"],
    "resource": ["bucket", "dns zone", "database replica", "load balancer", "iam role"],
    "lib": ["the http client", "the ORM", "grpc", "the json library", "the kafka client"],
    "client": ["the mobile app", "partner integrations", "the web frontend", "batch jobs"],
    "job": ["backups", "deploys", "exports", "the nightly ETL", "cert renewal"],
}


def make_queries(count: int, seed: int) -> list[str]:
    """`count` distinct queries from the templates, in a seeded order."""
    rng = random.Random(f"{seed}:queries")
    queries: dict[str, None] = {}
    while len(queries) < count:
        template = rng.choice(QUERY_TEMPLATES)
        query = re.sub(r"\{(\w+)\}", lambda m: rng.choice(QUERY_SLOTS[m.group(1)]), template)
        queries.setdefault(query)
    return list(queries)


# -- the store ----------------------------------------------------------------------------


def failure_texts(n: int, seed: int) -> list[str]:
    """`Failure.search_text()` of each generated record, in order."""
    return [f"{r['title']}. {r['summary']}" for r in generate_records(n, seed)]


def cached_vectors(model: Embedder, n: int, seed: int) -> np.ndarray:
    """The failure vectors: from bench/results/ when a cache of at least N vectors was made
    from the same texts (the first N of a larger corpus are the same), else encoded and saved.
    """
    RESULTS_DIR.mkdir(exist_ok=True)
    for path in sorted(RESULTS_DIR.glob(f"search-vectors-n*-seed{seed}.npy")):
        sidecar = path.with_suffix(".json")
        if not sidecar.exists():
            continue
        meta = json.loads(sidecar.read_text())
        if meta.get("n", 0) < n or meta.get("model") != model.model_name:
            continue
        texts = failure_texts(meta["n"], seed)
        if meta.get("digest") == _digest(texts):
            vectors = np.load(path)[:n].copy()
            fresh = model.encode(texts[:8])  # spot check: same model, same vectors
            assert np.allclose(fresh, vectors[:8], atol=1e-4), f"{path.name} is stale"
            print(f"vectors: first {n} of {path.name}")
            return vectors
    texts = failure_texts(n, seed)
    path = RESULTS_DIR / f"search-vectors-n{n}-seed{seed}.npy"
    print(f"encoding {n} failure texts with the real model (saved to {path.name}) ...")
    parts = []
    began = time.perf_counter()
    for start in range(0, n, 4096):
        parts.append(model.encode(texts[start : start + 4096]))
        done = min(start + 4096, n)
        rate = done / (time.perf_counter() - began)
        print(f"  {done}/{n} encoded, {rate:.0f} texts/s", flush=True)
    vectors = np.concatenate(parts).astype(np.float32)
    np.save(path, vectors)
    meta = {"n": n, "seed": seed, "model": model.model_name, "digest": _digest(texts)}
    path.with_suffix(".json").write_text(json.dumps(meta))
    return vectors


def _digest(texts: list[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


def document_batches(n: int, seed: int) -> Iterator[tuple[list[Node], list[Edge], list[str]]]:
    """Nodes, edges and failure ids of BATCH_DOCS generated postmortems at a time."""
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    fids: list[str] = []
    now = datetime.now(UTC)
    for index, record in enumerate(generate_records(n, seed)):
        parsed = PostmortemRecord.model_validate(record)
        document = Document(
            id=f"document:{index:08d}",
            path=f"/bench/{record['id']}.md",
            sha256=hashlib.sha256(record["id"].encode()).hexdigest(),
            format="md",
            ingested_at=now,
        )
        fid = record["id"]
        graph = build_document_graph(document, [(fid, parsed)])
        nodes.setdefault(document.id, document)
        for node in graph.nodes:
            nodes.setdefault(node.id, node)
        edges.extend(graph.edges)
        edges.extend(
            Edge(source=fid, rel=RelType.RECURRENCE_OF, target=t) for t in parsed.recurrence_of
        )
        fids.append(fid)
        if len(fids) == BATCH_DOCS:
            yield list(nodes.values()), edges, fids
            nodes, edges, fids = {}, [], []
    if fids:
        yield list(nodes.values()), edges, fids


def build_store(path: Path, vectors: np.ndarray, texts: list[str], n: int, seed: int) -> None:
    store = SqliteStore(path)
    done = 0
    with timed() as t:
        for nodes, edges, fids in document_batches(n, seed):
            failures = {node.id: node for node in nodes if isinstance(node, Failure)}
            for offset, fid in enumerate(fids):
                assert failures[fid].search_text() == texts[done + offset]
            store.upsert_nodes(
                nodes, {fid: vectors[done + offset] for offset, fid in enumerate(fids)}
            )
            store.upsert_edges(edges)
            done += len(fids)
            if done % 10_000 == 0 or done == n:
                print(f"  store: {done}/{n} postmortems written", flush=True)
    stats = store.stats()
    store.close()
    print(
        f"store built in {t.seconds:.0f} s: {stats.total_nodes} nodes, {stats.total_edges} "
        f"edges, {path.stat().st_size / 2**20:.0f} MiB"
    )


# -- measuring ----------------------------------------------------------------------------


def measure(
    store: SqliteStore,
    model: Embedder,
    vectors: np.ndarray,
    queries: list[str],
    rounds: int,
    limit: int,
) -> dict[str, list[float]]:
    """Per-query seconds of search() and of each of its parts, over `rounds` rounds."""
    parts: dict[str, list[float]] = {
        k: [] for k in ("total", "encode", "vector", "keyword", "hydrate", "store", "numpy")
    }
    per_query_keyword: dict[str, float] = {}
    best_total: dict[str, float] = {}
    for _ in range(rounds):
        for query in queries:
            with timed() as total:
                hits = search(store, model, query, limit=limit)
            text = re.sub(r"\s+", " ", query).strip()
            with timed() as enc:
                vector = model.encode([text])[0]
            with timed() as vec:
                vector_hits = store.vector_search([Label.FAILURE], vector, CANDIDATES)
            with timed() as kw:
                keyword_hits = store.keyword_search([Label.FAILURE], text, CANDIDATES)
            fused = reciprocal_rank_fusion(
                [[h.id for h in vector_hits], [h.id for h in keyword_hits]]
            )[:limit]
            with timed() as hyd:
                for failure_id, _ in fused:
                    context = failure_context(store, failure_id)
                    matched_terms(text, context.failure.search_text())
            with timed() as floor:
                scores = vectors @ vector
                np.argpartition(-scores, CANDIDATES - 1)[:CANDIDATES]
            assert [h.context.failure.id for h in hits] == [f for f, _ in fused]
            parts["total"].append(total.seconds)
            parts["encode"].append(enc.seconds)
            parts["vector"].append(vec.seconds)
            parts["keyword"].append(kw.seconds)
            parts["hydrate"].append(hyd.seconds)
            parts["store"].append(vec.seconds + kw.seconds + hyd.seconds)
            parts["numpy"].append(floor.seconds)
            per_query_keyword[query] = min(kw.seconds, per_query_keyword.get(query, 1e9))
            best_total[query] = min(total.seconds, best_total.get(query, 1e9))
    parts["best_total"] = list(best_total.values())
    slow = sorted(per_query_keyword.items(), key=lambda kv: -kv[1])[:5]
    print("slowest keyword searches (best of rounds):")
    for query, seconds in slow:
        print(f"  {seconds * 1000:7.1f} ms  {query!r}")
    return parts


def profile_search(
    store: SqliteStore, model: Embedder, queries: list[str], limit: int, n: int
) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for query in queries:
        search(store, model, query, limit=limit)
    profiler.disable()
    out = RESULTS_DIR / f"search-profile-n{n}.pstats"
    profiler.dump_stats(str(out))
    raw = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    print(f"\nprofile of {len(queries)} searches saved to {out}")
    rows = sorted(
        (
            (ct, nc, f"{Path(f).name}:{line} {func}")
            for (f, line, func), (_, nc, _, ct, _) in raw.items()
        ),
        reverse=True,
    )
    print("top functions by cumulative time:")
    for ct, nc, where in rows[:30]:
        print(f"  {ct * 1000 / len(queries):8.2f} ms/query  {nc:8d} calls  {where}")
    own = sorted(
        (
            (tt, nc, f"{Path(f).name}:{line} {func}")
            for (f, line, func), (_, nc, tt, _, _) in raw.items()
        ),
        reverse=True,
    )
    print("top functions by own time:")
    for tt, nc, where in own[:15]:
        print(f"  {tt * 1000 / len(queries):8.2f} ms/query  {nc:8d} calls  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="failures in the store")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument(
        "--profile", action="store_true", help="then cProfile one round of search()"
    )
    args = parser.parse_args()

    print(f"machine: {machine_info()}; load average {os.getloadavg()[0]:.1f}")
    queries = make_queries(args.queries + 1, args.seed)
    first, queries = queries[0], queries[1:]
    model = load_model(64, queries[:64])
    vectors = cached_vectors(model, args.n, args.seed)
    texts = failure_texts(args.n, args.seed)
    assert not set(queries) & set(texts)

    with tempfile.TemporaryDirectory(prefix="lessons-bench-search-") as tmp:
        path = Path(tmp) / "search.sqlite3"
        build_store(path, vectors, texts, args.n, args.seed)
        del texts

        # Cold: the matrix load alone, then a whole first search, each on a fresh store object.
        store = SqliteStore(path)
        with timed() as cold_matrix:
            store.vector_search([Label.FAILURE], vectors[0], CANDIDATES)
        store.close()
        store = SqliteStore(path)
        with timed() as cold:
            search(store, model, first, limit=args.limit)
        print(
            f"cold first search: {cold.seconds * 1000:.0f} ms "
            f"(vector matrix load alone: {cold_matrix.seconds * 1000:.0f} ms)"
        )

        parts = measure(store, model, vectors, queries, args.rounds, args.limit)

        with tempfile.TemporaryDirectory(prefix="lessons-bench-cache-") as cache_dir:
            caching = CachingEmbedder(model, Path(cache_dir) / "vectors.sqlite3")
            cached_total = []
            for query in queries:
                with timed() as t:
                    search(store, caching, query, limit=args.limit)
                cached_total.append(t.seconds)
            caching.close()
        if args.profile:
            profile_search(store, model, queries, args.limit, args.n)
        store.close()

    samples = len(parts["total"])
    rows = [
        ("search() total", parts["total"]),
        ("  encode query (model alone, baseline)", parts["encode"]),
        ("  store part: vector+keyword+hydrate", parts["store"]),
        ("    vector_search (k=50)", parts["vector"]),
        ("    keyword_search (BM25, k=50)", parts["keyword"]),
        (f"    hydrate top {args.limit} (failure_context)", parts["hydrate"]),
        ("  numpy floor: matrix @ q + argpartition", parts["numpy"]),
        ("search() total, best of rounds per query", parts["best_total"]),
        ("search() via CachingEmbedder (CLI/API path)", cached_total),
    ]
    p95 = percentile(parts["total"], 95)
    results = {
        "n": args.n,
        "seed": args.seed,
        "queries": len(queries),
        "rounds": args.rounds,
        "limit": args.limit,
        "machine": machine_info(),
        "cold_first_search_ms": cold.seconds * 1000,
        "cold_matrix_load_ms": cold_matrix.seconds * 1000,
        "ms": {
            name.strip(): {
                "p50": percentile(v, 50) * 1000,
                "p95": percentile(v, 95) * 1000,
                "mean": float(np.mean(v)) * 1000,
            }
            for name, v in rows
        },
        "peak_rss_mib": peak_rss_mib(),
        "load_average_end": os.getloadavg()[0],
    }
    (RESULTS_DIR / f"search-n{args.n}.json").write_text(json.dumps(results, indent=2))
    print(
        f"\n== search over {args.n} failures: {len(queries)} queries x {args.rounds} rounds "
        f"= {samples} samples, limit {args.limit} =="
    )
    for name, values in rows:
        print(f"{name:<46} {ms_summary(values)}")
    encode_p50 = percentile(parts["encode"], 50)
    print(
        f"search() p50 is {percentile(parts['total'], 50) / encode_p50:.2f}x the query "
        f"encoding alone; vector_search p50 is "
        f"{percentile(parts['vector'], 50) / percentile(parts['numpy'], 50):.2f}x the numpy "
        "floor"
    )
    print(
        f"cold first search (matrix load from SQLite): {cold.seconds * 1000:.0f} ms, of which "
        f"the matrix load ~{cold_matrix.seconds * 1000:.0f} ms; excluded from the figures above"
    )
    verdict = "met" if p95 < TARGET_P95_MS / 1000 else "MISSED"
    print(f"p95 total {p95 * 1000:.1f} ms; target < {TARGET_P95_MS:.0f} ms: {verdict}")
    verdict = "met" if percentile(parts["best_total"], 95) < TARGET_P95_MS / 1000 else "MISSED"
    print(
        f"p95 of per-query best-of-{args.rounds}: "
        f"{percentile(parts['best_total'], 95) * 1000:.1f} ms: {verdict}"
    )
    print(
        f"peak RSS: {peak_rss_mib():.0f} MiB; load average now {os.getloadavg()[0]:.1f} "
        "(other work on this 2-core machine inflates every figure)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
