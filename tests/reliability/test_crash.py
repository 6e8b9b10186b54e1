"""Crash safety: an import or a copy killed at any commit and run again gives the graph of
one that was never interrupted, on both stores (issues 16 and 18).

Each try kills a real import (or `copy_graph`) process with SIGKILL right after a commit
chosen by a seeded random draw (graph/faults.py), runs the same command again, and compares
every node, edge, property and document claim with a clean run. Set LESSONS_CRASH_SEED to
replay or vary the draws.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lessons.graph.models import Label
from lessons.graph.store import GraphStore, SqliteStore
from lessons.graph.store.neo4j import Neo4jStore
from tests.conftest import Neo4jTarget, wipe_neo4j

SEED = int(os.environ.get("LESSONS_CRASH_SEED", "16"))
IMPORT = Path(__file__).with_name("crash_import.py")
COPY = Path(__file__).with_name("crash_copy.py")
CAUSES = [
    "Database connection pool exhausted",
    "database connection pool was exhausted",
    "Expired TLS certificate",
    "DNS record deleted by a cleanup job",
    "Disk full on the log volume",
    "Config push with a typo",
    "Memory leak in the image resizer",
]
COMPONENTS = ["checkout-api", "postgres", "ingress", "dns", "image-service"]
VOLATILE = {"ingested_at"}  # when a document was read; differs between any two imports


def write_documents(folder: Path, count: int = 26) -> None:
    """`count` postmortems sharing causes, components and practices, some declaring a
    recurrence of a document that comes before them and some of one that comes after."""
    folder.mkdir()
    draw = random.Random(7)
    for n in range(count):
        recurrences = sorted({f"inc-{draw.randrange(count)}" for _ in range(n % 3)} - {f"inc-{n}"})
        causes = draw.sample(CAUSES, 2)
        lines = [
            f"id: inc-{n}",
            f"title: Outage number {n} of {draw.choice(COMPONENTS)}",
            f"summary: Requests failed for {n + 5} minutes because of {causes[0].lower()}.",
            f"date: 2024-{n % 12 + 1:02d}-{n % 27 + 1:02d}",
            f"components: [{', '.join(draw.sample(COMPONENTS, 2))}]",
            "causes:",
            *(
                f"  - name: {c}\n    role: {role}"
                for c, role in zip(causes, ("root", "trigger"), strict=False)
            ),
            "lessons:",
            f"  - Alert on {causes[0].lower()} before customers notice",
            "practices:",
            f"  - name: Load-test {draw.choice(COMPONENTS)} before every release",
        ]
        if recurrences:
            lines.append(f"recurrence_of: [{', '.join(recurrences)}]")
        (folder / f"inc-{n:02d}.yaml").write_text("\n".join(lines) + "\n")


def snapshot(store: GraphStore) -> dict[str, Any]:
    """Every node and edge with its properties, and what each document claims."""
    graph = store.to_networkx()
    nodes = {
        node: {k: v for k, v in data.items() if k not in VOLATILE}
        for node, data in graph.nodes(data=True)
    }
    edges = sorted((u, k, v, sorted(d.items())) for u, v, k, d in graph.edges(keys=True, data=True))
    claims = {}
    for document in store.list_nodes(Label.DOCUMENT, limit=1000):
        claimed = store.document_graph(document.id)
        claims[document.id] = (
            sorted(n.id for n in claimed.nodes),
            sorted(e.key for e in claimed.edges),
        )
    return {"nodes": nodes, "edges": edges, "claims": claims}


def run_driver(
    command: list[str], env: dict[str, str], fault: str | None = None
) -> subprocess.CompletedProcess:
    """Run a driver script (`crash_import.py DOCS` or `crash_copy.py SOURCE_URL`)."""
    environ = {**os.environ, **env}
    environ.pop("LESSONS_FAULT_AT_COMMIT", None)
    if fault:
        environ["LESSONS_FAULT_AT_COMMIT"] = fault
    return subprocess.run(
        [sys.executable, *command],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def crash_and_rerun(
    tries: int,
    command: list[str],
    env: dict[str, str],
    fresh_store: Callable[[int], tuple[dict[str, str], Callable[[], GraphStore]]],
) -> None:
    """A clean run of `command`, then `tries` runs killed at a drawn commit and run again."""
    clean_env, open_clean = fresh_store(0)
    done = run_driver(command, {**env, **clean_env})
    assert done.returncode == 0, done.stderr
    commits = int(done.stdout.split()[-1])
    with_store = open_clean()
    expected = snapshot(with_store)
    with_store.close()
    assert commits >= 8 and len(expected["edges"]) > 0

    draw = random.Random(SEED)
    for attempt in range(1, tries + 1):
        at = draw.randint(1, commits)
        store_env, open_store_ = fresh_store(attempt)
        killed = run_driver(command, {**env, **store_env}, fault=f"kill:{at}")
        assert killed.returncode == -signal.SIGKILL, (at, killed.stderr)
        again = run_driver(command, {**env, **store_env})
        assert again.returncode == 0, (at, again.stderr)
        store = open_store_()
        try:
            assert snapshot(store) == expected, f"seed {SEED}, try {attempt}: killed at {at}"
        finally:
            store.close()


def test_an_import_killed_at_any_commit_completes_on_the_next_run_sqlite(
    tmp_path: Path, crash_env: dict[str, str]
) -> None:
    docs = tmp_path / "docs"
    write_documents(docs)

    def fresh_store(attempt: int) -> tuple[dict[str, str], Callable[[], GraphStore]]:
        path = tmp_path / f"store-{attempt}.sqlite3"
        return {"LESSONS_STORE": f"sqlite:///{path}"}, lambda: checked_sqlite(path)

    crash_and_rerun(20, [str(IMPORT), str(docs)], crash_env, fresh_store)


def checked_sqlite(path: Path) -> SqliteStore:
    """The store at `path`, after SQLite's own check of the file."""
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    return SqliteStore(path)


def emptied(
    target: Neo4jTarget,
) -> Callable[[int], tuple[dict[str, str], Callable[[], GraphStore]]]:
    """`fresh_store` for `crash_and_rerun` on Neo4j: the server wiped for each attempt."""
    login = {
        "LESSONS_STORE": target.uri,
        "LESSONS_NEO4J_USER": target.user,
        "LESSONS_NEO4J_PASSWORD": target.password or "",
    }

    def fresh_store(attempt: int) -> tuple[dict[str, str], Callable[[], GraphStore]]:
        wipe_neo4j(target)
        return login, lambda: Neo4jStore(target.uri, user=target.user, password=target.password)

    return fresh_store


def test_an_import_killed_at_any_commit_completes_on_the_next_run_neo4j(
    tmp_path: Path, crash_env: dict[str, str], neo4j_server: Neo4jTarget
) -> None:
    docs = tmp_path / "docs"
    write_documents(docs)
    crash_and_rerun(5, [str(IMPORT), str(docs)], crash_env, emptied(neo4j_server))


def test_ctrl_c_stops_an_import_between_transactions_and_the_next_run_finishes(
    tmp_path: Path, crash_env: dict[str, str]
) -> None:
    docs = tmp_path / "docs"
    write_documents(docs, count=70)  # two transactions of `lessons ingest`: 64 and 6
    lessons = str(Path(sys.executable).with_name("lessons"))

    def ingest(store: str, fault: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, **crash_env, "LESSONS_STORE": f"sqlite:///{tmp_path / store}"}
        if fault:
            env["LESSONS_FAULT_AT_COMMIT"] = fault
        return subprocess.run(
            [lessons, "ingest", str(docs)], env=env, capture_output=True, text=True, timeout=300
        )

    stopped = ingest("interrupted.sqlite3", fault="interrupt:1")
    assert stopped.returncode == 130, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert stopped.stderr.strip().splitlines()[-1] == (
        "Interrupted: 64 documents imported and saved, 6 not reached; "
        "run the same command again to finish."
    )
    finished = ingest("interrupted.sqlite3")
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("6 imported, 64 unchanged")
    assert ingest("clean.sqlite3").returncode == 0
    interrupted, clean = (
        SqliteStore(tmp_path / f) for f in ("interrupted.sqlite3", "clean.sqlite3")
    )
    assert snapshot(interrupted) == snapshot(clean)
    interrupted.close()
    clean.close()


def source_store(tmp_path: Path, crash_env: dict[str, str]) -> str:
    """The URL of a SQLite store holding the crash tests' documents, imported by a clean run."""
    docs = tmp_path / "docs"
    write_documents(docs)
    url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    done = run_driver([str(IMPORT), str(docs)], {**crash_env, "LESSONS_STORE": url})
    assert done.returncode == 0, done.stderr
    return url


def same_graphs(first: Path, second: Path) -> bool:
    stores = SqliteStore(first), SqliteStore(second)
    try:
        return snapshot(stores[0]) == snapshot(stores[1])
    finally:
        for store in stores:
            store.close()


def test_a_copy_killed_at_any_commit_completes_on_the_next_run_sqlite(
    tmp_path: Path, crash_env: dict[str, str]
) -> None:
    source = source_store(tmp_path, crash_env)

    def fresh_store(attempt: int) -> tuple[dict[str, str], Callable[[], GraphStore]]:
        path = tmp_path / f"copy-{attempt}.sqlite3"
        return {"LESSONS_STORE": f"sqlite:///{path}"}, lambda: checked_sqlite(path)

    crash_and_rerun(12, [str(COPY), source], crash_env, fresh_store)
    # The clean copy, which every finished one equals, is the source itself.
    assert same_graphs(tmp_path / "copy-0.sqlite3", tmp_path / "source.sqlite3")


def test_a_copy_killed_at_any_commit_completes_on_the_next_run_neo4j(
    tmp_path: Path, crash_env: dict[str, str], neo4j_server: Neo4jTarget
) -> None:
    source = source_store(tmp_path, crash_env)
    crash_and_rerun(4, [str(COPY), source], crash_env, emptied(neo4j_server))
