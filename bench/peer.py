"""`recognize` beside neo4j-graphrag's retrievers: same Neo4j, same model, same questions.

    .venv/bin/pip install -e '.[bench]'     # neo4j-graphrag, for this script only
    python bench/peer.py [--set postmortems] [--rounds 2]

A real Neo4j (tests/neo4j/server.py, as bench/stores.py starts it) gets a set's documents
through our import (`ingest` into a `Neo4jStore`; the sets are bench/recognize.py's). Then
neo4j-graphrag 1.22 reads the very indexes our store keeps on failures (the vector index on
`embedding`, the full-text index on `search_text`): `HybridRetriever` (vector + full text,
its default ranker) and `VectorRetriever`, with our model behind its `Embedder` interface.
Lucene's special characters are escaped in the text it sends (unescaped, a question with a
colon or a slash fails to parse).

Every question goes to the three in turn, in an order that rotates question by question, and
each is timed end to end, encoding the question included; in the first round no question has
been seen by anyone (our vector cache holds the failures' passages, as after an import, never
a question). Ten results are asked of each; recall@1, recall@5 and MRR (over those ten) are
computed as bench/recognize.py does. Target (issue 14): `recognize` on a warm Neo4j no slower
than `HybridRetriever`. Nothing is asserted on time.
"""

from __future__ import annotations

import lessons.graph  # noqa: F401  first: it sets how idle numpy and torch threads wait

# isort: split
import argparse
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import neo4j
from common import load_model, machine_info, ms_summary, timed
from neo4j_graphrag.embeddings.base import Embedder as PeerEmbedder
from neo4j_graphrag.retrievers import HybridRetriever, VectorRetriever
from recognize import GITBUGS_SETS, Query, import_set, metrics
from stores import fresh_neo4j, neo4j_server

from lessons.graph.embeddings import CachingEmbedder, Embedder
from lessons.graph.models import Label
from lessons.graph.recognize import RecognizeQuery, recognize
from lessons.graph.store.neo4j import _text_index, _vector_index

LIMIT = 10
LUCENE_SPECIAL = re.compile(r'([+\-!(){}\[\]^"~*?:\\/&|])')


class PeerModel(PeerEmbedder):
    """Our model, as neo4j-graphrag asks for it."""

    def __init__(self, model: Embedder) -> None:
        super().__init__()
        self._model = model

    def embed_query(self, text: str) -> list[float]:
        return [float(x) for x in self._model.encode([text])[0]]


def peer_retrievers(
    uri: str, user: str, password: str | None, model: Embedder, limit: int
) -> tuple[neo4j.Driver, dict[str, Callable[[str], list[str]]]]:
    """A driver, and neo4j-graphrag's `HybridRetriever` and `VectorRetriever` over our store's
    failure indexes, each as a function from a question to the ids of its `limit` best."""
    driver = neo4j.GraphDatabase.driver(uri, auth=(user, password) if password else None)
    peer_model = PeerModel(model)
    hybrid = HybridRetriever(
        driver,
        _vector_index(Label.FAILURE),
        _text_index(Label.FAILURE),
        peer_model,
        return_properties=["id"],
    )
    vector = VectorRetriever(
        driver, _vector_index(Label.FAILURE), peer_model, return_properties=["id"]
    )

    def asking(retriever: HybridRetriever | VectorRetriever) -> Callable[[str], list[str]]:
        def ask(text: str) -> list[str]:
            escaped = LUCENE_SPECIAL.sub(r"\\\1", text)
            found = retriever.get_search_results(query_text=escaped, top_k=limit)
            return [record["node"]["id"] for record in found.records]

        return ask

    return driver, {
        "neo4j-graphrag HybridRetriever": asking(hybrid),
        "neo4j-graphrag VectorRetriever": asking(vector),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", choices=["danluu", "icco", "postmortems", *GITBUGS_SETS], default="postmortems"
    )
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(machine_info())
    model = load_model(64, ["warm-up"])
    with tempfile.TemporaryDirectory() as tmp, neo4j_server() as (uri, user, password):
        store = fresh_neo4j(uri, user, password)
        embedder = CachingEmbedder(model, Path(tmp) / "vectors.sqlite3")
        queries = import_set(args.set, store, embedder, Path(tmp))
        driver, peers = peer_retrievers(uri, user, password, model, LIMIT)

        def ours(text: str) -> list[str]:
            found = recognize(store, embedder, RecognizeQuery(description=text), limit=LIMIT)
            return [m.context.failure.id for m in found.matches]

        methods = {"recognize (ours)": ours, **peers}
        report(methods, queries, args.rounds, leave_out=args.set in GITBUGS_SETS)
        driver.close()
        embedder.close()
        store.close()


def report(
    methods: dict[str, Callable[[str], list[str]]],
    queries: list[Query],
    rounds: int,
    *,
    leave_out: bool = False,
) -> None:
    """Ask every question of every method, rotating the order; print quality and latency.
    With `leave_out` (the duplicate sets) a question's own failure is dropped from its answers."""
    names = list(methods)
    answers: dict[str, list[list[str]]] = {name: [] for name in names}
    seconds: dict[str, list[list[float]]] = {name: [[] for _ in range(rounds)] for name in names}
    for round_ in range(rounds):
        for i, query in enumerate(queries):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                with timed() as clock:
                    ranking = methods[name](query.text)
                seconds[name][round_].append(clock.seconds)
                if round_ == 0:
                    answers[name].append([f for f in ranking if not leave_out or f != query.id])
    print(f"\n{len(queries)} questions ({sum(bool(q.expected) for q in queries)} positive)")
    print(f"{'method':<32} {'recall@1':>9} {'recall@5':>9} {'MRR':>7}")
    for name in names:
        m = metrics(answers[name], queries)
        print(f"{name:<32} {m['recall@1']:>9.3f} {m['recall@5']:>9.3f} {m['mrr']:>7.3f}")
    for round_ in range(rounds):
        print(f"\nround {round_ + 1} ({'every question new' if round_ == 0 else 'asked again'})")
        for name in names:
            print(f"  {name:<32} {ms_summary(seconds[name][round_])}")


if __name__ == "__main__":
    main()
