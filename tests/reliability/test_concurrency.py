"""The concurrency drill as a test (issue 16: "Keep the concurrency drill as a test").

Two `lessons ingest` processes write one SQLite store at once while eight HTTP clients read
it through the API served over that store. SQLite's one writer and many readers (WAL, a busy
timeout for the second writer) must hold: both imports finish without "database is locked",
every read is answered 200 (never a 5xx), and the graph the two imports leave is the graph
that serial imports of the same folders leave, in either order.

The documents share causes, components and practices, so both imports write the same nodes,
and declare recurrences of failures in the other folder, so which links each import makes
depends on which commits first. The server and both imports share one vector cache, as they
would on one machine. Loopback only; bounded in requests and time; no latency is asserted.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from lessons.api.app import create_app
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.store import SqliteStore
from tests.api.conftest import READ_KEY, api_settings, serve
from tests.reliability.test_crash import (
    CAUSES,
    COMPONENTS,
    checked_sqlite,
    snapshot,
    write_documents,
)

LESSONS = Path(sys.executable).with_name("lessons")
SEED_DOCUMENTS = 6  # imported before the drill, so the readers have something to read
FOLDER_DOCUMENTS = 80  # per import: two transactions of `lessons ingest` (64 and 16)
READERS = 8
MAX_REQUESTS = 1500
MAX_SECONDS = 60
MIN_REQUESTS_WHILE_IMPORTING = 50
IMPORT_TIMEOUT = 120


def split_documents(root: Path) -> tuple[Path, Path, Path]:
    """`write_documents` once, shared out into a seed folder (the first few) and two import
    folders (the rest, alternately): the folders use the same causes, components and
    practices, and their documents declare recurrences of each other's failures."""
    every = root / "every"
    write_documents(every, SEED_DOCUMENTS + 2 * FOLDER_DOCUMENTS)
    seed, first, second = root / "seed", root / "first", root / "second"
    for folder in (seed, first, second):
        folder.mkdir()
    for n, path in enumerate(sorted(every.iterdir())):
        if n < SEED_DOCUMENTS:
            path.rename(seed / path.name)
        else:
            path.rename((first, second)[n % 2] / path.name)
    return seed, first, second


def run_imports(folders: Sequence[Path], store: Path, env: dict[str, str]) -> None:
    """Import the folders into the SQLite store at `store` at once, each by its own `lessons
    ingest` process; every one must exit 0 without meeting a locked store."""
    environ = {**os.environ, **env, "LESSONS_STORE": f"sqlite:///{store}"}
    processes = [
        subprocess.Popen(
            [str(LESSONS), "ingest", str(folder)],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for folder in folders
    ]
    try:
        outputs = [process.communicate(timeout=IMPORT_TIMEOUT)[0] for process in processes]
    finally:
        for process in processes:  # ends the others when one did not finish in time
            process.kill()
            process.wait()
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "database is locked" not in output.lower(), output


def copy_store(source: Path, target: Path) -> None:
    """A copy of the SQLite store at `source`, made by SQLite's backup."""
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)


@dataclass(frozen=True)
class Answer:
    """One request of a reader: what was asked, the status (0: no response), whether the
    imports were still running when it was answered, the body of an error, and how many
    failures a `GET /v1/failures` answer listed."""

    request: str
    status: int
    while_importing: bool
    error: str = ""
    listed: int | None = None


class ReadLoad:
    """`READERS` clients, one thread each, reading the API in a loop while the imports run,
    at most `MAX_REQUESTS` requests in all and for at most `MAX_SECONDS`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[Answer] = []
        self._importing = threading.Event()
        self._sent = 0
        self._lock = threading.Lock()

    @contextmanager
    def while_importing(self) -> Iterator[None]:
        """The readers read while the block runs (the imports), and stop at its end."""
        self._importing.set()
        deadline = time.monotonic() + MAX_SECONDS
        threads = [
            threading.Thread(target=self._read, args=(reader, deadline), daemon=True)
            for reader in range(READERS)
        ]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            self._importing.clear()
            for thread in threads:
                thread.join(timeout=60)

    def _may_send(self, deadline: float) -> bool:
        with self._lock:
            if self._importing.is_set() and self._sent < MAX_REQUESTS:
                self._sent += 1
                return time.monotonic() < deadline
            return False

    def _read(self, reader: int, deadline: float) -> None:
        headers = {"Authorization": f"Bearer {READ_KEY}"}
        failure_ids: list[str] = []
        with httpx.Client(base_url=self.url, headers=headers, timeout=60) as client:
            turn = reader
            while self._may_send(deadline):
                name, request = next_request(turn, failure_ids)
                turn += 1
                try:
                    response = client.send(client.build_request(**request))
                except httpx.HTTPError as e:
                    self.answers.append(Answer(name, 0, self._importing.is_set(), repr(e)))
                    continue
                answer = Answer(name, response.status_code, self._importing.is_set())
                if response.status_code != 200:
                    answer = replace(answer, error=response.text)
                elif name == "GET /v1/failures":
                    failure_ids[:] = [failure["id"] for failure in response.json()["items"]]
                    answer = replace(answer, listed=len(failure_ids))
                self.answers.append(answer)


def next_request(turn: int, failure_ids: list[str]) -> tuple[str, dict[str, Any]]:
    """The reader's request at `turn`: search, recognize, the failure list, a failure it has
    seen listed, or the recurring causes, in turn; its name, and the arguments of
    `httpx.Client.build_request`."""
    cause, component = CAUSES[turn % len(CAUSES)], COMPONENTS[turn % len(COMPONENTS)]
    kind = turn % 5
    if kind == 0:
        return "GET /v1/search", {"method": "GET", "url": "/v1/search", "params": {"q": cause}}
    if kind == 1:
        body = {"title": f"{component} is failing", "description": cause}
        return "POST /v1/recognize", {"method": "POST", "url": "/v1/recognize", "json": body}
    if kind == 3 and failure_ids:
        failure_id = failure_ids[turn % len(failure_ids)]
        return "GET /v1/failures/{id}", {"method": "GET", "url": f"/v1/failures/{failure_id}"}
    if kind == 4:
        url = "/v1/insights/recurring-causes"
        return f"GET {url}", {"method": "GET", "url": url}
    return "GET /v1/failures", {"method": "GET", "url": "/v1/failures", "params": {"limit": 100}}


def test_two_imports_under_read_load_leave_the_graph_of_serial_imports(
    tmp_path: Path, crash_env: dict[str, str], embedder: CachingEmbedder
) -> None:
    seed, first, second = split_documents(tmp_path)
    live = tmp_path / "live.sqlite3"
    run_imports([seed], live, crash_env)
    orders = [(first, second), (second, first)]
    serial_stores = [tmp_path / f"serial-{n}.sqlite3" for n in range(len(orders))]
    for path in serial_stores:
        copy_store(live, path)  # seeded the same way

    store = SqliteStore(live)
    app = create_app(api_settings(tmp_path), store=store, embedder=embedder)
    with serve(app) as url:
        load = ReadLoad(url)
        with load.while_importing():
            run_imports([first, second], live, crash_env)
    store.close()
    with closing(checked_sqlite(live)) as after:
        concurrent = snapshot(after)

    failed = [a for a in load.answers if a.status != 200]
    assert not failed, failed[:10]
    during = [a for a in load.answers if a.while_importing]
    assert len(during) >= MIN_REQUESTS_WHILE_IMPORTING, f"{len(during)} answered while importing"
    sizes = {a.listed for a in during if a.listed is not None}
    assert len(sizes) >= 2, f"the readers never saw the imports change the graph: {sizes}"
    assert {a.request for a in load.answers} == {
        "GET /v1/search",
        "POST /v1/recognize",
        "GET /v1/failures",
        "GET /v1/failures/{id}",
        "GET /v1/insights/recurring-causes",
    }

    for folders, path in zip(orders, serial_stores, strict=True):
        for folder in folders:
            run_imports([folder], path, crash_env)
        with closing(SqliteStore(path)) as in_order:
            order = " then ".join(folder.name for folder in folders)
            assert snapshot(in_order) == concurrent, f"the graph of serial imports, {order}"
