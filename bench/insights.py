"""Insights benchmark: each insight at N failures, beside the projection it is computed from.

    python bench/insights.py [--n 10000 100000] [--seed 1] [--rounds 3] [--rebuild]

1. For each N, a SqliteStore holding the whole graph of N generated postmortems
   (bench/generate.py via bench/search.py's `document_batches`: failures, causes, components,
   teams, lessons, practices with adoption dates and the causes they address, actions,
   experiments, documents, and RECURRENCE_OF links), written with `upsert_nodes` /
   `upsert_edges` and no vectors (no insight reads them). It is kept in bench/results/
   (gitignored) and reused by later runs unless `--rebuild`.
2. On a freshly opened store, `to_networkx()`: the projection every insight reads (the
   baseline). Then each public function of `lessons.graph.insights` on that projection,
   `--rounds` times, plus `all_insights` (all five at once): first on the plain projection
   (each insight walks the whole graph, as in the CLI), then on it `indexed` (what the API
   caches per store revision; indexing is timed on its own), then on an indexed projection built
   after `--rounds - 1` more (a process that projects again and again, as a server does
   after writes, walks a graph scattered over a fragmented heap, measurably slower).
   Run one N per process for figures that do not depend on the runs before. `as_of` is 91
   days after the last generated failure: the generator adopts practices 7-90 days after a
   failure, so every generated practice is in force and judged.

Printed: best and median seconds per insight, each as a ratio to the projection's time, and
what each insight found (so it is visibly doing work). Target: every insight under 2 s at
100,000 failures on the embedded store. Nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import networkx as nx
from common import RESULTS_DIR, peak_rss_mib, timed
from generate import DEFAULT_SEED
from search import document_batches

from lessons.graph import insights, projection
from lessons.graph.store import SqliteStore

TARGET_SECONDS = 2.0


def store_path(n: int, seed: int) -> Path:
    return RESULTS_DIR / f"insights-n{n}-seed{seed}.sqlite3"


def build_store(n: int, seed: int, rebuild: bool) -> Path:
    """The store of N generated postmortems, built unless a complete one is already there."""
    path = store_path(n, seed)
    sidecar = path.with_suffix(".json")
    if not rebuild and path.exists() and sidecar.exists():
        meta = json.loads(sidecar.read_text())
        if meta.get("n") == n and meta.get("seed") == seed:
            print(f"store: reusing {path.name} ({meta['nodes']} nodes, {meta['edges']} edges)")
            return path
    for old in (path, path.with_suffix(".sqlite3-wal"), path.with_suffix(".sqlite3-shm"), sidecar):
        old.unlink(missing_ok=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    store = SqliteStore(path)
    written = 0
    with timed() as t:
        for nodes, edges, failure_ids in document_batches(n, seed):
            store.upsert_nodes(nodes)
            store.upsert_edges(edges)
            written += len(failure_ids)
            if written % 10_000 == 0:
                print(f"  store: {written}/{n} postmortems written", flush=True)
    stats = store.stats()
    store.close()
    sidecar.write_text(
        json.dumps({"n": n, "seed": seed, "nodes": stats.total_nodes, "edges": stats.total_edges})
    )
    print(
        f"store built in {t.seconds:.0f} s: {stats.total_nodes} nodes, {stats.total_edges} "
        f"edges ({stats.edges.get('RECURRENCE_OF', 0)} RECURRENCE_OF, "
        f"{stats.edges.get('ADDRESSES', 0)} ADDRESSES, {stats.nodes.get('Practice', 0)} practices)"
    )
    return path


def last_failure_day(graph: nx.MultiDiGraph) -> date:
    """The day of the most recent failure in the projection."""
    return max(
        date.fromisoformat(attrs["occurred_at"][:10])
        for _, attrs in graph.nodes(data=True)
        if attrs["label"] == "Failure" and attrs.get("occurred_at")
    )


def what_it_found(name: str, result: Any) -> str:
    """A one-line summary of an insight's result, to show it did real work."""
    if name == "recurring_causes":
        return f"{len(result)} recurring causes, top behind {result[0].failure_count} failures"
    if name == "learning_gaps":
        return (
            f"{len(result.failures_without_practice)} failures without practice, "
            f"{len(result.unaddressed_causes)} unaddressed causes, "
            f"{len(result.overdue_actions)} overdue and {len(result.ownerless_actions)} "
            "ownerless actions"
        )
    if name == "practice_effectiveness":
        verdicts = statistics.multimode([e.verdict for e in result.practices])
        recurred = sum(e.verdict == "recurred" for e in result.practices)
        return (
            f"{len(result.practices)} practices judged, {recurred} recurred "
            f"(most common verdict: {', '.join(verdicts)})"
        )
    if name == "failure_clusters":
        sizes = sorted((len(c.failure_ids) for c in result), reverse=True)
        return f"{len(result)} clusters, largest {sizes[:3]}"
    if name == "timing":
        return (
            f"{len(result.adaptation)} adaptations (median {result.median_days_to_adaptation} d), "
            f"{len(result.recurrences)} recurrence gaps, {len(result.causes)} causes timed"
        )
    return "all five"


def time_insights(
    graph: nx.MultiDiGraph, as_of: date, rounds: int
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Seconds of each insight on `graph`, `rounds` times each, and what each found."""
    runs: dict[str, Callable[[], Any]] = {
        "recurring_causes": lambda: insights.recurring_causes(graph, as_of=as_of),
        "learning_gaps": lambda: insights.learning_gaps(graph, as_of=as_of),
        "practice_effectiveness": lambda: insights.practice_effectiveness(graph, as_of=as_of),
        "failure_clusters": lambda: insights.failure_clusters(graph, as_of=as_of),
        "timing": lambda: insights.timing(graph, as_of=as_of),
        "all_insights": lambda: insights.all_insights(graph, as_of=as_of),
    }
    seconds: dict[str, list[float]] = {}
    found: dict[str, str] = {}
    for name, run in runs.items():
        seconds[name] = []
        for _ in range(rounds):
            with timed() as t:
                result = run()
            seconds[name].append(t.seconds)
        found[name] = what_it_found(name, result)
        print(f"  {name}: {min(seconds[name]):.2f} s best; {found[name]}", flush=True)
    return seconds, found


def project(path: Path) -> tuple[nx.MultiDiGraph, float, float]:
    """The store's projection, from a freshly opened store (nothing cached), and the seconds
    of `to_networkx()` and of `projection.indexed` on it."""
    store = SqliteStore(path)
    with timed() as t:
        graph = store.to_networkx()
    store.close()
    with timed() as index:
        graph = projection.indexed(graph)
    return graph, t.seconds, index.seconds


def measure(n: int, seed: int, rounds: int, rebuild: bool) -> dict[str, Any]:
    """The insights on the first projection this process builds (as the CLI does), walked
    and indexed, then on one built after `rounds - 1` more (as a server that projects again
    after writes does: the heap is fragmented by the earlier ones, and walking the graph is
    slower)."""
    path = build_store(n, seed, rebuild)
    store = SqliteStore(path)
    with timed() as t:
        graph = store.to_networkx()
    store.close()
    projection_times, index_times = [t.seconds], []
    as_of = last_failure_day(graph) + timedelta(days=91)
    print(
        f"projection: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges; "
        f"as_of {as_of}\non the first projection, walked by each insight:"
    )
    walked, found = time_insights(graph, as_of, rounds)
    with timed() as t:
        graph = projection.indexed(graph)
    index_times.append(t.seconds)
    print("on the first projection, indexed:")
    first, _ = time_insights(graph, as_of, rounds)
    for _ in range(rounds - 1):
        del graph
        graph, seconds, index_seconds = project(path)
        projection_times.append(seconds)
        index_times.append(index_seconds)
    print(f"on projection number {rounds}, indexed:")
    rebuilt, _ = time_insights(graph, as_of, rounds)
    return {
        "n": n,
        "seed": seed,
        "rounds": rounds,
        "as_of": as_of.isoformat(),
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "projection_s": projection_times,
        "index_s": index_times,
        "insights_walked_s": walked,
        "insights_s": first,
        "insights_rebuilt_s": rebuilt,
        "found": found,
    }


def report(result: dict[str, Any]) -> None:
    projection = statistics.median(result["projection_s"])
    print(
        f"\n== insights over {result['n']} failures ({result['nodes']} nodes, "
        f"{result['edges']} edges), {result['rounds']} rounds, median seconds =="
    )
    print(f"{'':<26} {'walked':>7} {'indexed':>8} {'/ projection':>13} {'indexed, later':>15}")
    print(f"{'to_networkx() (baseline)':<26} {'':>7} {projection:8.2f} {1:13.2f}")
    index = statistics.median(result["index_s"])
    print(f"{'indexed() (once each)':<26} {'':>7} {index:8.2f} {index / projection:13.2f}")
    for name, times in result["insights_s"].items():
        median = statistics.median(times)
        walked = statistics.median(result["insights_walked_s"][name])
        again = statistics.median(result["insights_rebuilt_s"][name])
        print(f"{name:<26} {walked:7.2f} {median:8.2f} {median / projection:13.2f} {again:15.2f}")
    if result["n"] >= 100_000:
        for key, which in (("insights_s", "first"), ("insights_rebuilt_s", "later")):
            slow = sorted(
                name
                for name, times in result[key].items()
                if name != "all_insights" and statistics.median(times) >= TARGET_SECONDS
            )
            verdict = "met" if not slow else f"MISSED by {', '.join(slow)}"
            print(
                f"target: every insight < {TARGET_SECONDS:.0f} s (median) at 100k, "
                f"{which} indexed projection: {verdict}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the stores")
    args = parser.parse_args()

    print(
        f"load average at start {os.getloadavg()[0]:.1f} "
        "(2 cores: other work inflates every figure)"
    )
    results = []
    for n in args.n:
        print(f"\n-- {n} failures --")
        results.append(measure(n, args.seed, args.rounds, args.rebuild))
    for result in results:
        report(result)
    load = os.getloadavg()[0]
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB; load average at the end {load:.1f}")
    out = RESULTS_DIR / f"insights-n{'-'.join(str(n) for n in args.n)}.json"
    out.write_text(
        json.dumps(
            {"runs": results, "load_average_end": load, "peak_rss_mib": peak_rss_mib()}, indent=2
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
