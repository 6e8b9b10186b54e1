"""Bounded failure modes (issue 16): input too deep or too large is one file's error, an
interrupt after a commit is not a traceback, and a Neo4j that goes away fails an import
within the configured time, in a state the next run completes; connections dropped under an
import are retried (issue 18)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.errors import StoreUnavailableError
from lessons.graph.models import Label, Node
from lessons.graph.store import SqliteStore
from lessons.graph.store.neo4j import Neo4jStore
from lessons.ingest.pipeline import FileStatus, Source, discover, ingest
from tests.conftest import Neo4jTarget, wipe_neo4j

GOOD = "# Checkout outage\n\nCheckout failed for an hour because the payment database was full.\n"
DEEP_JSON = b'{"records": [' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"]}"
DEEP_YAML = "title: Deep\nsummary: nested\nnotes: " + "[" * 5_000 + "]" * 5_000 + "\n"
TOO_DEEP = "lists and mappings nest more than 64 levels deep"


def test_deeply_nested_files_are_one_files_error_and_the_others_import(
    lessons: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "n.json").write_bytes(DEEP_JSON)
    (tmp_path / "n.yaml").write_text(DEEP_YAML)
    (tmp_path / "front.md").write_text("---\n" + DEEP_YAML + "---\n# Deep\n\nText.\n")
    (tmp_path / "just-deep-enough.json").write_text(
        '{"title": "Nested", "summary": "s", "notes": ' + "[" * 70 + "]" * 70 + "}"
    )
    (tmp_path / "good.md").write_text(GOOD)
    result = lessons("ingest", str(tmp_path))
    assert result.exit_code == 1
    reported = " ".join(result.stderr.split())
    for name in ("n.json", "just-deep-enough.json"):
        assert f"failed {tmp_path / name}: {TOO_DEEP}" in reported
    yaml_too_deep = "not valid YAML: exceeded maximum nesting depth"  # libyaml's own limit
    assert f"failed {tmp_path / 'n.yaml'}:3: invalid YAML: exceeded maximum" in reported
    assert f"failed {tmp_path / 'front.md'}:4: front matter is {yaml_too_deep}" in reported
    assert result.stdout.startswith("1 imported, 4 failed")


def test_a_document_over_the_size_limit_is_refused_with_what_to_do(
    lessons: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LESSONS_MAX_DOCUMENT_MB", "0.001")
    (tmp_path / "big.md").write_text(GOOD + "More detail.\n" * 100)
    (tmp_path / "good.md").write_text(GOOD)
    result = lessons("ingest", str(tmp_path))
    assert result.exit_code == 1
    assert (
        f"failed {tmp_path / 'big.md'}: 0.0 MB, larger than the limit of 0.001 MB for one "
        "document; split it, or raise LESSONS_MAX_DOCUMENT_MB"
    ) in " ".join(result.stderr.split())
    assert result.stdout.startswith("1 imported, 1 failed")


def test_an_interrupt_after_commit_is_not_a_rollback_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    with pytest.raises(KeyboardInterrupt), store._write() as cur:
        cur.execute("COMMIT")  # Ctrl-C arrives once the commit has happened
        raise KeyboardInterrupt
    store.close()


@dataclass
class Proxy:
    """A TCP forwarder's port, and two ways to break it."""

    port: int
    cut: Callable[[], None]  # every connection, and no new ones: a server that went away
    drop: Callable[[], None]  # the open connections only: a load balancer or a failover
    connections: list[socket.socket]  # the client side of every connection accepted


@contextmanager
def tcp_proxy(target: tuple[str, int]) -> Iterator[Proxy]:
    """A loopback TCP forwarder to `target`."""
    listener = socket.create_server(("127.0.0.1", 0))
    open_sockets: list[socket.socket] = []
    accepted: list[socket.socket] = []

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(target)
            open_sockets.extend([client, upstream])
            accepted.append(client)
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

    def drop() -> None:
        for sock in open_sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        open_sockets.clear()

    def cut() -> None:
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() does not
        listener.close()
        drop()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield Proxy(listener.getsockname()[1], cut, drop, accepted)
    finally:
        cut()


def twelve_documents(folder: Path) -> list[Source]:
    for n in range(12):
        (folder / f"doc-{n:02d}.md").write_text(GOOD.replace("an hour", f"{n + 2} hours"))
    return discover([str(folder)])[0]


def through(proxy: Proxy, target: Neo4jTarget, timeout: float) -> Neo4jStore:
    return Neo4jStore(
        f"bolt://127.0.0.1:{proxy.port}",
        user=target.user,
        password=target.password,
        timeout=timeout,
    )


def test_an_import_fails_fast_when_neo4j_goes_away_and_the_next_run_completes(
    tmp_path: Path, embedder: CachingEmbedder, neo4j_server: Neo4jTarget
) -> None:
    wipe_neo4j(neo4j_server)
    sources = twelve_documents(tmp_path)
    host, port = neo4j_server.uri.split("://")[1].split(":")
    with tcp_proxy((host, int(port))) as proxy:
        through_proxy = through(proxy, neo4j_server, timeout=2)

        def cut_after_four(result: object) -> None:
            if len(seen) == 3:
                proxy.cut()
            seen.append(result)

        seen: list[object] = []
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            ingest(through_proxy, embedder, sources, write_batch=4, on_result=cut_after_four)
        elapsed = time.monotonic() - started
        through_proxy.close()
    assert elapsed < 30, f"gave up after {elapsed:.1f} s; the timeout is 2 s, the default 30 s"

    store = Neo4jStore(neo4j_server.uri, user=neo4j_server.user, password=neo4j_server.password)
    try:
        assert len(store.list_nodes(Label.FAILURE, limit=100)) == 4  # the first transaction
        again = ingest(store, embedder, sources)
        assert again.count(FileStatus.UNCHANGED) == 4 and again.count(FileStatus.IMPORTED) == 8
    finally:
        store.close()


def test_an_import_retries_its_transaction_when_the_connection_drops(
    tmp_path: Path, embedder: CachingEmbedder, neo4j_server: Neo4jTarget
) -> None:
    """The open connections drop after each transaction (as a load balancer or a failover
    drops them): the driver retries the next transaction on a new connection, and the import
    completes without an error."""
    wipe_neo4j(neo4j_server)
    sources = twelve_documents(tmp_path)
    host, port = neo4j_server.uri.split("://")[1].split(":")
    with tcp_proxy((host, int(port))) as proxy:
        store = through(proxy, neo4j_server, timeout=30)
        opened_before = len(proxy.connections)
        report = ingest(
            store,
            embedder,
            sources,
            write_batch=4,
            on_result=lambda result: proxy.drop(),
        )
        store.close()
        assert len(proxy.connections) > opened_before  # the drops did cost connections
    assert report.ok and report.count(FileStatus.IMPORTED) == 12
    assert len(store_failures(neo4j_server)) == 12


def store_failures(target: Neo4jTarget) -> list[Node]:
    store = Neo4jStore(target.uri, user=target.user, password=target.password)
    try:
        return store.list_nodes(Label.FAILURE, limit=100)
    finally:
        store.close()
