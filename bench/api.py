"""HTTP API benchmark: what serving over HTTP adds to `POST /v1/recognize` and `GET /v1/search`.

    python bench/api.py [--n 10000] [--clients 16] [--requests 480] [--seconds 60]

1. Build the embedded store with N generated failures and their whole graphs, as
   bench/search.py does (same generator, same cached vectors in bench/results/).
2. Start the API as its own process (uvicorn, `lessons.api.app:app_from_env`, one worker) on
   loopback over that store, sharing the vector cache file with this process.
3. Warm the vector cache with every query (so both sides look up, never encode, the query
   vectors and compare the same work), then, for each endpoint, alternate two phases:
   - in-process: `--clients` threads call the service function directly (`search_page`,
     `recognize`) through the same serialised caching embedder the API uses;
   - HTTP: `--clients` threads, each with its own keep-alive httpx client, send the same
     requests to the server.
   A phase stops after `--requests` calls or `--seconds`, whichever comes first.

Printed: throughput and p50/p95 latency per phase; per endpoint, each side's best round
(highest throughput, lowest p50 and p95: the round least disturbed by other work) and the
HTTP/in-process ratio of those p95s, plus the ratio of every round. Target: HTTP adds under
25% to p95. Nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import socket
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
from generate import DEFAULT_SEED
from search import build_store, cached_vectors, failure_texts, make_queries

from lessons.api.paging import search_page
from lessons.api.services import SerialEmbedder
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.recognize import RecognizeQuery, recognize
from lessons.graph.store import SqliteStore

KEY = "bench-key-0123456789abcdef"
TARGET_OVERHEAD = 0.25
LIMIT = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    store: Path, cache_dir: Path, port: int, workers: int = 1
) -> subprocess.Popen[bytes]:
    """The API in its own process (`workers` worker processes); returns once /readyz
    answers 200."""
    env = {
        **os.environ,
        "LESSONS_STORE": f"sqlite:///{store}",
        "LESSONS_CACHE_DIR": str(cache_dir),
        "LESSONS_API_KEYS": f"write:{KEY}",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "lessons.api.app:app_from_env",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
        ],
        env=env,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the API server exited with status {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError("the API server did not get ready in 300 s")


def run_phase(
    call: Callable[[int, str], None],
    queries: list[str],
    clients: int,
    requests: int,
    seconds: float,
) -> dict[str, Any]:
    """`clients` threads take queries from a shared queue and `call(client, query)` each;
    returns the latencies, the wall time and the throughput."""
    work: queue.SimpleQueue[str] = queue.SimpleQueue()
    for number in range(requests):
        work.put(queries[number % len(queries)])
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(number: int) -> None:
        while time.perf_counter() < stop_at:
            try:
                query = work.get_nowait()
            except queue.Empty:
                return
            start = time.perf_counter()
            try:
                call(number, query)
            except Exception as e:
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed, e.g. {errors[0]}")
    return {
        "requests": len(latencies),
        "seconds": wall,
        "per_second": len(latencies) / wall,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="failures in the store")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=480, help="per phase")
    parser.add_argument("--seconds", type=float, default=60, help="longest phase")
    parser.add_argument("--rounds", type=int, default=2, help="alternations per endpoint")
    args = parser.parse_args()

    load_start = os.getloadavg()[0]
    print(f"machine: {machine_info()}; load average {load_start:.1f}")
    queries = make_queries(200, args.seed)
    model = load_model(64, queries[:64])
    vectors = cached_vectors(model, args.n, args.seed)

    with tempfile.TemporaryDirectory(prefix="lessons-bench-api-") as tmp:
        path = Path(tmp) / "api.sqlite3"
        build_store(path, vectors, failure_texts(args.n, args.seed), args.n, args.seed)
        cache_dir = Path(tmp) / "cache"
        cached = CachingEmbedder(model, cache_dir / "vectors.sqlite3")
        embedder = SerialEmbedder(cached)
        cached.encode(queries)  # every query vector is in the shared cache from now on
        store = SqliteStore(path)
        port = free_port()
        server = start_server(path, cache_dir, port)
        http_clients = [
            httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {KEY}"},
                timeout=120,
            )
            for _ in range(args.clients)
        ]

        def http_search(client: int, q: str) -> None:
            response = http_clients[client].get("/v1/search", params={"q": q, "limit": LIMIT})
            response.raise_for_status()

        def http_recognize(client: int, q: str) -> None:
            response = http_clients[client].post(
                "/v1/recognize", params={"limit": LIMIT}, json={"description": q}
            )
            response.raise_for_status()

        def local_search(client: int, q: str) -> None:
            search_page(store, embedder, q, limit=LIMIT)

        def local_recognize(client: int, q: str) -> None:
            recognize(store, embedder, RecognizeQuery(description=q), limit=LIMIT)

        endpoints = {
            "GET /v1/search": (local_search, http_search),
            "POST /v1/recognize": (local_recognize, http_recognize),
        }
        results: dict[str, dict[str, list[dict[str, Any]]]] = {}
        try:
            for name, (local, remote) in endpoints.items():
                # One untimed pass each, so caches (vector matrix, query cache) are warm.
                run_phase(local, queries, args.clients, len(queries), args.seconds)
                run_phase(remote, queries, args.clients, len(queries), args.seconds)
                results[name] = {"in-process": [], "http": []}
                for _ in range(args.rounds):
                    for side, call in (("in-process", local), ("http", remote)):
                        phase = run_phase(call, queries, args.clients, args.requests, args.seconds)
                        results[name][side].append(phase)
                        print(
                            f"{name:<20} {side:<10} {phase['requests']:4d} requests "
                            f"{phase['per_second']:6.1f}/s  p50 {phase['p50_ms']:7.1f} ms  "
                            f"p95 {phase['p95_ms']:7.1f} ms",
                            flush=True,
                        )
        finally:
            for client in http_clients:
                client.close()
            server.terminate()
            server.wait(timeout=30)
            store.close()
            cached.close()

    load_end = os.getloadavg()[0]
    summary: dict[str, Any] = {}
    print(
        f"\n== HTTP vs in-process, {args.n} failures, {args.clients} concurrent clients, "
        f"best of {args.rounds} rounds of up to {args.requests} calls per side =="
    )
    for name, sides in results.items():
        # Each side's least disturbed round (other work on the machine inflates single
        # rounds by seconds); every round is printed above and kept in the JSON.
        row: dict[str, Any] = {
            side: {
                "per_second": max(p["per_second"] for p in phases),
                "p50_ms": min(p["p50_ms"] for p in phases),
                "p95_ms": min(p["p95_ms"] for p in phases),
                "phases": phases,
            }
            for side, phases in sides.items()
        }
        ratio = row["http"]["p95_ms"] / row["in-process"]["p95_ms"]
        per_round = [
            h["p95_ms"] / i["p95_ms"]
            for h, i in zip(sides["http"], sides["in-process"], strict=True)
        ]
        row["p95_ratio"] = ratio
        row["p95_ratio_per_round"] = per_round
        summary[name] = row
        verdict = "met" if ratio - 1 < TARGET_OVERHEAD else "MISSED"
        print(
            f"{name:<20} in-process {row['in-process']['per_second']:6.1f}/s "
            f"p95 {row['in-process']['p95_ms']:7.1f} ms | HTTP {row['http']['per_second']:6.1f}/s "
            f"p95 {row['http']['p95_ms']:7.1f} ms | p95 ratio {ratio:.2f}x "
            f"(HTTP adds {100 * (ratio - 1):+.0f}%; target < +{100 * TARGET_OVERHEAD:.0f}%: "
            f"{verdict}); per round: {', '.join(f'{r:.2f}x' for r in per_round)}"
        )
    print(f"load average: {load_start:.1f} at the start, {load_end:.1f} at the end")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"api-n{args.n}.json"
    out.write_text(
        json.dumps(
            {
                "n": args.n,
                "clients": args.clients,
                "requests_per_phase": args.requests,
                "rounds": args.rounds,
                "machine": machine_info(),
                "load_average_start": load_start,
                "load_average_end": load_end,
                "results": summary,
            },
            indent=2,
        )
    )
    print(f"results saved to {out}")


if __name__ == "__main__":
    main()
