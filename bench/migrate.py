"""`lessons copy` at scale: an embedded store of N postmortems copied into Neo4j, its time and
memory, and a copy killed half-way then run again.

    python bench/migrate.py [--n 100000]

The source is a SqliteStore of N generated postmortems (bench/generate.py) written with
`replace_documents`, so every node and edge is claimed by its document as after an import,
with a vector on every node that gets one: the failures' real vectors from bench/search.py's
cache, random unit vectors for the others (a copy moves vectors as they are; their values
do not matter to it). It is kept in bench/results/ for the next run.

Each copy is a real `lessons copy` process, its peak RSS read from /proc while it runs:
1. into a fresh SqliteStore: the baseline, the same copy into the embedded store;
2. into an empty Neo4j (the release tests/neo4j/ runs, as bench/stores.py starts it);
3. into an empty Neo4j again, killed with SIGKILL right after the commit half-way through
   the documents (graph/faults.py), then run again: the rerun beside run 2 (with
   `--resume-only`, run 2 is left out: the two runs of 3 together did the whole copy).
The Neo4j copies are checked against the source's node and edge counts.

Nothing is asserted on time.
"""

from __future__ import annotations

import lessons.graph  # noqa: F401  first: it sets how idle numpy and torch threads wait

# isort: split
import argparse
import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import RESULTS_DIR, load_model, machine_info, timed
from generate import DEFAULT_SEED, generate_records
from search import cached_vectors, failure_texts
from stores import fresh_neo4j, neo4j_server

from lessons.graph.embeddings import embedded_texts
from lessons.graph.models import Document
from lessons.graph.store import DocumentGraph, GraphStore, SqliteStore
from lessons.graph.store.neo4j import Neo4jStore
from lessons.graph.transfer import WRITE_BATCH
from lessons.ingest.mapping import build_document_graph
from lessons.ingest.record import PostmortemRecord

LESSONS = str(Path(sys.executable).with_name("lessons"))


def source_store(n: int, seed: int) -> Path:
    """A SqliteStore of N generated postmortems with vectors, built once and kept."""
    path = RESULTS_DIR / f"copy-source-n{n}-seed{seed}.sqlite3"
    if path.exists():
        return path
    texts = failure_texts(n, seed)
    failure_vectors = cached_vectors(load_model(64, texts[:64]), n, seed)
    rng = np.random.default_rng(seed)
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    store = SqliteStore(building)
    batch: list[DocumentGraph] = []
    for index, record in enumerate(generate_records(n, seed)):
        document = Document(
            id=f"document:{index:08d}",
            path=f"/bench/{record['id']}.md",
            sha256=f"{index:064d}",
            format="md",
            ingested_at="2026-01-01T00:00:00Z",
        )
        graph = build_document_graph(
            document, [(record["id"], PostmortemRecord.model_validate(record))]
        )
        for node_id in embedded_texts(graph.nodes):
            if node_id == record["id"]:
                graph.vectors[node_id] = failure_vectors[index]
            else:
                vector = rng.standard_normal(384).astype(np.float32)
                graph.vectors[node_id] = vector / np.linalg.norm(vector)
        batch.append(graph)
        if len(batch) == WRITE_BATCH or index == n - 1:
            store.replace_documents(batch)
            batch = []
        if (index + 1) % 10_000 == 0:
            print(f"  source: {index + 1}/{n} postmortems written", flush=True)
    store.close()
    building.rename(path)
    return path


def run_copy(source: Path, target: str, env: dict[str, str], fault: str | None = None) -> dict:
    """One `lessons copy` process: its wall time, peak RSS (MiB) and exit status.

    The peak is the process's own high-water mark (VmHWM), read twice a second until it
    exits: rusage's ru_maxrss of a child counts the memory of this process it was forked
    from."""
    environ = {**os.environ, **env}
    if fault:
        environ["LESSONS_FAULT_AT_COMMIT"] = fault
    start = time.perf_counter()
    process = subprocess.Popen(
        [LESSONS, "copy", "--from", f"sqlite:///{source}", "--to", target],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak_kib = 0
    while process.poll() is None:
        with contextlib.suppress(OSError, StopIteration):
            status = Path(f"/proc/{process.pid}/status").read_text().splitlines()
            peak_kib = int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
        time.sleep(0.5)
    assert process.stdout is not None
    return {
        "seconds": time.perf_counter() - start,
        "rss_mib": peak_kib / 1024,
        "exit": process.returncode,
        "output": process.stdout.read().strip(),
    }


def counts(store: GraphStore) -> tuple[int, int]:
    stats = store.stats()
    return stats.total_nodes, stats.total_edges


def check_copy(store: GraphStore, expected: tuple[int, int]) -> None:
    """The copy holds as many nodes and edges as the source (and close the store)."""
    found = counts(store)
    store.close()
    assert found == expected, f"the copy has {found} nodes and edges, the source {expected}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--resume-only",
        action="store_true",
        help="skip run 2 (the killed run and its rerun together do the whole copy)",
    )
    args = parser.parse_args()
    print(machine_info())
    with timed() as built:
        source = source_store(args.n, args.seed)
    print(f"source: {args.n} postmortems in {source.name} ({built.seconds:.0f} s to build)")
    expected = counts(SqliteStore(source))
    print(f"  {expected[0]} nodes, {expected[1]} edges")
    work = Path(tempfile.mkdtemp(prefix="lessons-bench-copy-"))
    rows = {}
    rows["into SQLite (baseline)"] = run_copy(source, f"sqlite:///{work / 'copy.sqlite3'}", {})
    with neo4j_server() as (uri, user, password):
        login = {"LESSONS_NEO4J_USER": user, "LESSONS_NEO4J_PASSWORD": password or ""}
        if not args.resume_only:
            fresh_neo4j(uri, user, password).close()
            rows["into Neo4j"] = run_copy(source, uri, login)
            check_copy(Neo4jStore(uri, user=user, password=password), expected)
        fresh_neo4j(uri, user, password).close()
        half = math.ceil(args.n / WRITE_BATCH) // 2
        killed = run_copy(source, uri, login, fault=f"kill:{half}")
        assert killed["exit"] == -signal.SIGKILL, killed
        rows[f"into Neo4j, killed after commit {half}"] = killed
        rows["  then run again"] = run_copy(source, uri, login)
        check_copy(Neo4jStore(uri, user=user, password=password), expected)
    base = rows["into SQLite (baseline)"]["seconds"]
    print(f"copy of {args.n} postmortems, {WRITE_BATCH} documents per transaction:")
    for name, row in rows.items():
        print(
            f"  {name:38s} {row['seconds']:8.1f} s ({row['seconds'] / base:5.2f}x the SQLite "
            f"copy), peak RSS {row['rss_mib']:6.0f} MiB, exit {row['exit']}: {row['output']}"
        )


if __name__ == "__main__":
    main()
