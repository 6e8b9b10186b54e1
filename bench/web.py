"""Web page benchmark: each page's latency beside the API calls it stands on, same run.

    python bench/web.py [--n 100000] [--samples 60]

1. Build the embedded store with N generated failures, as bench/api.py does (same generator,
   same cached vectors in bench/results/), and start `lessons serve`'s app on it in its own
   process with a write key.
2. Sign in to the web page with that key (a session cookie, as a browser would).
3. For each page, alternate one request to the page with the API request(s) that give the
   same data (one client, so each is a latency, not a queue): a failure's page against
   `GET /v1/failures/{id}` plus its `/graph`; the learning page against the five insight
   endpoints in a row; and so on. Each request is made once untimed first (warm caches:
   whichever side came first would pay for the passage vectors recognize caches).

Printed: p50 and p95 per page and per API side, and the page/API ratio of the p95s. Target
(issue 17): a page answers within its API's latency plus rendering. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from common import RESULTS_DIR, load_model, machine_info, percentile
from generate import DEFAULT_SEED
from search import build_store, cached_vectors, failure_texts, make_queries

from api import KEY, free_port, start_server
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.models import Label
from lessons.graph.store import SqliteStore

Request = Callable[[httpx.Client, int], None]


def sign_in(client: httpx.Client) -> str:
    """Start a web session with the bench key; the session's CSRF token."""
    token = _csrf(client.get("/sign-in").text)
    answer = client.post("/sign-in", data={"key": KEY, "csrf": token, "next": "/"})
    assert answer.status_code == 303, answer.text
    return _csrf(client.get("/").text)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def get(path: Callable[[int], str], **params: Any) -> Request:
    def call(client: httpx.Client, i: int) -> None:
        client.get(path(i), params=params or None).raise_for_status()

    return call


def in_a_row(*calls: Request) -> Request:
    def call(client: httpx.Client, i: int) -> None:
        for one in calls:
            one(client, i)

    return call


def measure(
    page: Request, api: Request, web: httpx.Client, rest: httpx.Client, samples: int
) -> dict[str, Any]:
    """Alternate page and API requests; their latencies' p50 and p95 and the p95 ratio.

    Every request is made once untimed first: the side that came first would otherwise pay
    for what both share (recognize encodes its candidates' passages into the vector cache)."""
    for i in range(samples):
        page(web, i)
        api(rest, i)
    times: dict[str, list[float]] = {"page": [], "api": []}
    for i in range(samples):
        for side, call, client in (("page", page, web), ("api", api, rest)):
            start = time.perf_counter()
            call(client, i)
            times[side].append(time.perf_counter() - start)
    row: dict[str, Any] = {
        side: {"p50_ms": percentile(t, 50) * 1000, "p95_ms": percentile(t, 95) * 1000}
        for side, t in times.items()
    }
    row["p95_ratio"] = row["page"]["p95_ms"] / row["api"]["p95_ms"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="failures in the store")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--samples", type=int, default=60, help="timed requests per side")
    args = parser.parse_args()

    print(f"machine: {machine_info()}; load average {os.getloadavg()[0]:.1f}", flush=True)
    queries = make_queries(200, args.seed)
    model = load_model(64, queries[:64])
    vectors = cached_vectors(model, args.n, args.seed)
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="lessons-bench-web-") as tmp:
        path = Path(tmp) / "web.sqlite3"
        build_store(path, vectors, failure_texts(args.n, args.seed), args.n, args.seed)
        cache_dir = Path(tmp) / "cache"
        cached = CachingEmbedder(model, cache_dir / "vectors.sqlite3")
        cached.encode(queries)  # the server reads query vectors from this cache
        cached.close()
        store = SqliteStore(path)
        failures = [n.id for n in store.list_nodes(Label.FAILURE, limit=5000)]
        causes = [n.id for n in store.list_nodes(Label.CAUSE, limit=500)]
        components = [n.id for n in store.list_nodes(Label.COMPONENT, limit=100)]
        store.close()
        rng.shuffle(failures)
        port = free_port()
        server = start_server(path, cache_dir, port)
        base = f"http://127.0.0.1:{port}"
        web = httpx.Client(base_url=base, timeout=300, follow_redirects=False)
        rest = httpx.Client(base_url=base, timeout=300, headers={"X-API-Key": KEY})
        try:
            csrf = sign_in(web)

            def recognize_page(client: httpx.Client, i: int) -> None:
                form = {"csrf": csrf, "description": queries[i % len(queries)]}
                client.post("/recognize", data=form).raise_for_status()

            def recognize_api(client: httpx.Client, i: int) -> None:
                body = {"description": queries[i % len(queries)]}
                client.post("/v1/recognize", json=body).raise_for_status()

            def failure(i: int) -> str:
                return failures[i % len(failures)]

            insight_paths = ["recurring-causes", "gaps", "practices", "clusters", "timing"]
            pages: dict[str, tuple[Request, Request]] = {
                "recognize (POST /recognize)": (recognize_page, recognize_api),
                "failure (GET /failures/{id})": (
                    get(lambda i: f"/failures/{failure(i)}"),
                    in_a_row(
                        get(lambda i: f"/v1/failures/{failure(i)}"),
                        get(lambda i: f"/v1/failures/{failure(i)}/graph"),
                    ),
                ),
                "failures list, by component": (
                    get(lambda i: "/failures", component=components[0]),
                    get(lambda i: "/v1/failures", component=components[0], limit=25),
                ),
                "cause (GET /causes/{id})": (
                    get(lambda i: f"/causes/{causes[i % len(causes)]}"),
                    get(lambda i: f"/v1/causes/{causes[i % len(causes)]}"),
                ),
                "search causes": (
                    get(lambda i: "/search", q="connection pool exhausted", type="cause"),
                    get(lambda i: "/v1/search", q="connection pool exhausted", type="cause"),
                ),
                "learning (all insights)": (
                    get(lambda i: "/learning"),
                    in_a_row(*(get(lambda i, p=p: f"/v1/insights/{p}") for p in insight_paths)),
                ),
            }
            results: dict[str, Any] = {}
            print(f"\n== each page beside its API calls, {args.n} failures, one client ==")
            print(f"{'page':<30} {'page p50':>9} {'page p95':>9} {'API p50':>9} {'API p95':>9}")
            for name, (page, api) in pages.items():
                row = measure(page, api, web, rest, args.samples)
                results[name] = row
                print(
                    f"{name:<30} {row['page']['p50_ms']:7.1f}ms {row['page']['p95_ms']:7.1f}ms "
                    f"{row['api']['p50_ms']:7.1f}ms {row['api']['p95_ms']:7.1f}ms  "
                    f"p95 ratio {row['p95_ratio']:.2f}",
                    flush=True,
                )
        finally:
            web.close()
            rest.close()
            server.terminate()
            server.wait(timeout=30)

    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"web-n{args.n}.json"
    out.write_text(json.dumps({"n": args.n, "samples": args.samples, "pages": results}, indent=2))
    print(f"\nload average {os.getloadavg()[0]:.1f}; results in {out}")


if __name__ == "__main__":
    main()
