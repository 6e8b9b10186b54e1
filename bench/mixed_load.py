"""Tail latency under mixed load: 8 HTTP readers while 2 bulk imports write the same store.

    python bench/mixed_load.py [--n 10000] [--readers 8] [--documents 192] [--rounds 2]

1. Build the embedded store with N generated failures and their graphs (as bench/api.py),
   and start the API over it in its own process (uvicorn, one worker, loopback).
2. Alternate two phases per round, with the same readers and the same mix of requests
   (search, recognize, one failure by id, in turn):
   - alone: the readers only, for as long as the last loaded phase took (the baseline);
   - loaded: the readers while 2 `lessons ingest` processes each import `--documents` new
     generated postmortems into the same SQLite file (commits of 64 documents).
   Every question is asked once before (its vector and its candidates' passage vectors are
   in the vector cache, as for a question asked before); `lessons ingest` lowers its own
   CPU priority (cli/main.py, INGEST_NICENESS).

Printed per phase: requests, throughput and the readers' p50/p95/p99/max; per round the
loaded/alone ratio of p99 (measured in the same run: the machine's noise is shared) and the
writers' wall time. Target (issue 16): the readers' p99 at most 500 ms at 10k failures.
Nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from common import RESULTS_DIR, load_model, machine_info, percentile
from generate import DEFAULT_SEED, generate_records, write_corpus
from search import build_store, cached_vectors, failure_texts, make_queries

from api import KEY, free_port, start_server
from lessons.graph.embeddings import CachingEmbedder

TARGET_P99_MS = 500
LIMIT = 5
LESSONS = Path(sys.executable).with_name("lessons")


def readers_until(
    calls: list[Callable[[httpx.Client, int], None]],
    clients: list[httpx.Client],
    done: Callable[[], bool],
) -> dict[str, list[float]]:
    """Each client calls the next of `calls` in turn until `done()`; returns the latencies
    by call."""
    latencies: dict[str, list[float]] = {call.__name__: [] for call in calls}
    errors: list[str] = []
    lock = threading.Lock()

    def reader(number: int) -> None:
        client = clients[number]
        for step in itertools.count(number * 7):
            if done():
                return
            call = calls[step % len(calls)]
            start = time.perf_counter()
            try:
                call(client, step)
            except Exception as e:
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                latencies[call.__name__].append(time.perf_counter() - start)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} reads failed, e.g. {errors[0]}")
    return latencies


def after(seconds: float) -> Callable[[], bool]:
    """Whether `seconds` have passed since this was called."""
    until = time.monotonic() + seconds
    return lambda: time.monotonic() > until


def finished(processes: list[subprocess.Popen[bytes]]) -> Callable[[], bool]:
    """Whether every process has exited."""
    return lambda: all(p.poll() is not None for p in processes)


def summary(by_call: dict[str, list[float]], seconds: float) -> dict[str, Any]:
    """Throughput and latency percentiles of all reads, and p99 of each kind of read."""
    latencies = [latency for kind in by_call.values() for latency in kind]
    return {
        "requests": len(latencies),
        "per_second": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000,
        "p99_ms_by_call": {call: percentile(v, 99) * 1000 for call, v in by_call.items() if v},
    }


def show(name: str, row: dict[str, Any]) -> None:
    by_call = "  ".join(f"{call} {ms:.0f}" for call, ms in row["p99_ms_by_call"].items())
    print(
        f"{name:<8} {row['requests']:5.0f} reads {row['per_second']:6.1f}/s  "
        f"p50 {row['p50_ms']:6.0f}  p95 {row['p95_ms']:6.0f}  p99 {row['p99_ms']:6.0f}  "
        f"max {row['max_ms']:6.0f} ms  (p99 of {by_call})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="failures in the store")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--documents", type=int, default=192, help="per writer and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="API worker processes")
    args = parser.parse_args()

    print(f"machine: {machine_info()}; load average {os.getloadavg()[0]:.1f}")
    queries = make_queries(200, args.seed)
    model = load_model(64, queries[:64])
    vectors = cached_vectors(model, args.n, args.seed)
    ids = [r["id"] for r in generate_records(args.n, args.seed)]

    with tempfile.TemporaryDirectory(prefix="lessons-bench-mixed-") as tmp:
        path = Path(tmp) / "mixed.sqlite3"
        build_store(path, vectors, failure_texts(args.n, args.seed), args.n, args.seed)
        cache_dir = Path(tmp) / "cache"
        cached = CachingEmbedder(model, cache_dir / "vectors.sqlite3")
        cached.encode(queries)  # repeated questions: their vectors are cached
        cached.close()
        port = free_port()
        server = start_server(path, cache_dir, port, args.workers)
        url = f"http://127.0.0.1:{port}"
        clients = [
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120)
            for _ in range(args.readers)
        ]

        def search(client: httpx.Client, step: int) -> None:
            q = queries[step % len(queries)]
            client.get("/v1/search", params={"q": q, "limit": LIMIT}).raise_for_status()

        def recognize(client: httpx.Client, step: int) -> None:
            q = queries[(step * 3) % len(queries)]
            body = {"description": q}
            client.post("/v1/recognize", params={"limit": LIMIT}, json=body).raise_for_status()

        def failure(client: httpx.Client, step: int) -> None:
            client.get(f"/v1/failures/{ids[(step * 37) % len(ids)]}").raise_for_status()

        calls: list[Callable[[httpx.Client, int], None]] = [search, recognize, failure]
        writer_env = {
            **os.environ,
            "LESSONS_STORE": f"sqlite:///{path}",
            "LESSONS_CACHE_DIR": str(cache_dir),
        }
        rounds: list[dict[str, Any]] = []
        try:
            for step in range(len(queries)):  # every question seen once: passages cached
                search(clients[0], step)
                recognize(clients[0], step)
            readers_until(calls, clients, after(10))
            for number in range(args.rounds):
                folders = []
                for writer in range(2):
                    folder = Path(tmp) / f"round-{number}-writer-{writer}"
                    write_corpus(folder, args.documents, seed=10_000 + 2 * number + writer)
                    folders.append(folder)
                began = time.perf_counter()
                writers = [
                    subprocess.Popen(
                        [str(LESSONS), "ingest", str(folder)],
                        env=writer_env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                    )
                    for folder in folders
                ]
                loaded = readers_until(calls, clients, finished(writers))
                loaded_seconds = time.perf_counter() - began
                for writer_process in writers:
                    _, stderr = writer_process.communicate()
                    if writer_process.returncode != 0:
                        raise RuntimeError(f"an import failed: {stderr.decode()[-500:]}")
                began = time.perf_counter()
                alone = readers_until(calls, clients, after(loaded_seconds))
                alone_seconds = time.perf_counter() - began
                row = {
                    "alone": summary(alone, alone_seconds),
                    "loaded": summary(loaded, loaded_seconds),
                    "writers_seconds": loaded_seconds,
                }
                row["p99_ratio"] = row["loaded"]["p99_ms"] / row["alone"]["p99_ms"]
                print(
                    f"round {number + 1}: 2 writers x {args.documents} documents in "
                    f"{loaded_seconds:.1f} s"
                )
                show("alone", row["alone"])
                show("loaded", row["loaded"])
                rounds.append(row)
        finally:
            for client in clients:
                client.close()
            server.terminate()
            server.wait(timeout=30)

    worst = max(r["loaded"]["p99_ms"] for r in rounds)
    verdict = "met" if worst <= TARGET_P99_MS else "MISSED"

    def figures(key: str, unit: str = "p99_ms") -> str:
        return ", ".join(f"{r[key][unit]:.0f}" for r in rounds)

    ratios = ", ".join(f"{r['p99_ratio']:.2f}" for r in rounds)
    print(
        f"\n== {args.readers} readers, 2 writers, {args.n} failures: loaded p99 "
        f"{figures('loaded')} ms vs alone {figures('alone')} ms (ratios {ratios}); "
        f"target p99 <= {TARGET_P99_MS} ms: {verdict} =="
    )
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"mixed-load-n{args.n}.json"
    out.write_text(json.dumps({"args": vars(args), "rounds": rounds}, indent=2))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
