"""MCP benchmark: what an assistant gets from `recognize` over MCP, beside the REST API.

    python bench/assistant.py [--sets examples,postmortems,danluu] [--rounds 3] [--limit 3]

For each set of documents, imported into an embedded store:
- `examples`: our examples/postmortems, asked with the first sentence of each one's summary;
- `postmortems`: 54 real postmortems of ../shared/corpus (Markdown), asked the 77 questions
  others wrote about them (bench/data/postmortem-questions.jsonl);
- `danluu`: 190 real incident summaries, asked bench/data/recognize-queries.jsonl;

the API runs in its own process (as bench/api.py starts it) and every question is asked
through `POST /v1/recognize` (httpx, keep-alive) and through the `recognize` tool of `/mcp`
(the SDK's client, one connection), alternating round by round after one warm-up round that
caches every question's vector. Printed per set:

- the answer's size in characters, REST JSON against the MCP tool's answer (median and
  largest, and their ratio), with ~tokens as characters / 4;
- whether both rank the same failures (the fraction of questions with the same ids in the
  same order: trimming must not change the answer);
- latency p50 and p95 of each, and the MCP / REST ratio of the p50s per round.

Nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
from common import load_model, machine_info, percentile
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

# isort: off
from api import KEY, free_port, start_server  # bench/api.py: before recognize puts the repo
from recognize import PUBLIC, Query, import_set  # first on sys.path, where api/ is a package
# isort: on

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.settings import Settings
from lessons.graph.store import SqliteStore
from lessons.ingest.pipeline import discover, ingest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "postmortems"


def example_queries(store: SqliteStore, embedder: CachingEmbedder) -> list[Query]:
    """Import the examples; ask with the first sentence of each one's summary."""
    report = ingest(store, embedder, discover([str(EXAMPLES)])[0])
    queries = []
    for result in report.results:
        for fid in result.failure_ids:
            summary = store.get(fid).summary  # type: ignore[union-attr]
            queries.append(Query(fid, summary.split(". ")[0], (fid,)))
    return queries


def ask_rest(client: httpx.Client, text: str, limit: int) -> tuple[float, int, list[str]]:
    start = time.perf_counter()
    response = client.post("/v1/recognize", params={"limit": limit}, json={"description": text})
    seconds = time.perf_counter() - start
    response.raise_for_status()
    ids = [m["context"]["failure"]["id"] for m in response.json()["matches"]]
    return seconds, len(response.text), ids


async def ask_mcp(client: Client, text: str, limit: int) -> tuple[float, int, list[str]]:
    start = time.perf_counter()
    result = await client.call_tool("recognize", {"description": text, "limit": limit})
    seconds = time.perf_counter() - start
    answer = result.content[0].text
    if result.is_error:
        raise RuntimeError(answer)
    ids = [m["context"]["failure"]["id"] for m in json.loads(answer)["matches"]]
    return seconds, len(answer), ids


def measure(url: str, queries: list[Query], rounds: int, limit: int) -> dict[str, Any]:
    """Alternate REST and MCP rounds over every question (after a warm-up round)."""
    texts = [q.text for q in queries]
    rest_client = httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120
    )
    rounds_out: list[dict[str, Any]] = []

    async def run() -> None:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=120)
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
            for text in texts:  # warm-up: every question's vector is cached, both sides
                ask_rest(rest_client, text, limit)
                await ask_mcp(client, text, limit)
            for _ in range(rounds):
                rest = [ask_rest(rest_client, text, limit) for text in texts]
                mcp = [await ask_mcp(client, text, limit) for text in texts]
                rounds_out.append({"rest": rest, "mcp": mcp})

    anyio.run(run)
    rest_client.close()
    return {"rounds": rounds_out}


def report(name: str, queries: list[Query], measured: dict[str, Any]) -> None:
    rounds = measured["rounds"]
    rest_sizes = [size for _, size, _ in rounds[0]["rest"]]
    mcp_sizes = [size for _, size, _ in rounds[0]["mcp"]]
    same = sum(r[2] == m[2] for r, m in zip(rounds[0]["rest"], rounds[0]["mcp"], strict=True))
    print(f"\n== {name}: {len(queries)} questions")
    for label, sizes in (("REST", rest_sizes), ("MCP ", mcp_sizes)):
        median = statistics.median(sizes)
        print(
            f"  {label} answer: median {median:,.0f} chars (~{median / 4:,.0f} tokens), "
            f"largest {max(sizes):,} chars (~{max(sizes) / 4:,.0f} tokens)"
        )
    median_ratio = statistics.median(mcp_sizes) / statistics.median(rest_sizes)
    print(
        f"  MCP / REST size: median {median_ratio:.2f}, largest "
        f"{max(mcp_sizes) / max(rest_sizes):.2f}"
    )
    print(f"  same failures in the same order: {same}/{len(queries)}")
    for number, one in enumerate(rounds, start=1):
        rest_s = [s for s, _, _ in one["rest"]]
        mcp_s = [s for s, _, _ in one["mcp"]]
        print(
            f"  round {number}: REST p50 {1000 * percentile(rest_s, 50):.1f} ms, "
            f"p95 {1000 * percentile(rest_s, 95):.1f} ms; MCP p50 "
            f"{1000 * percentile(mcp_s, 50):.1f} ms, p95 {1000 * percentile(mcp_s, 95):.1f} ms; "
            f"MCP/REST p50 {percentile(mcp_s, 50) / percentile(rest_s, 50):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="examples,postmortems,danluu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=3)
    args = parser.parse_args()
    print(machine_info())
    model = load_model(32, ["warm-up text for the model"] * 32)
    for name in args.sets.split(","):
        if name != "examples" and not PUBLIC.exists():
            print(f"skipping {name}: the corpus lives outside the repository, at {PUBLIC}")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            store = SqliteStore(folder / "store.sqlite3")
            embedder = CachingEmbedder(model, folder / "cache" / "vectors.sqlite3")
            if name == "examples":
                queries = example_queries(store, embedder)
            else:
                queries = import_set(name, store, embedder, folder)
            embedder.close()
            store.close()
            # The server finds the model this process exported (it does not export its own).
            (folder / "cache" / "models").symlink_to(Settings.from_env().cache_dir / "models")
            port = free_port()
            server = start_server(folder / "store.sqlite3", folder / "cache", port)
            try:
                measured = measure(f"http://127.0.0.1:{port}", queries, args.rounds, args.limit)
            finally:
                server.terminate()
                server.wait()
            report(name, queries, measured)


if __name__ == "__main__":
    sys.exit(main())
