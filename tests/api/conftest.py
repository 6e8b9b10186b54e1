"""The API under test: a real app served by uvicorn on a loopback port, called through httpx.

`api` serves the app over the parametrised `store` (SQLite and the session's real Neo4j) and
the real model; its clients send the write key, the read key, or no key.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from lessons.api.app import create_app
from lessons.api.settings import ApiSettings, parse_api_keys
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.settings import Settings
from lessons.graph.store import GraphStore

WRITE_KEY = "write-key-for-the-tests-0123456789"
READ_KEY = "read-key-for-the-tests-0123456789"
KEYS = f"write:{WRITE_KEY},read:{READ_KEY}"


def api_settings(tmp_path: Path, **overrides: object) -> ApiSettings:
    """Settings with the test keys; the store and embedder are given to `create_app`."""
    values: dict[str, object] = {
        "lessons": Settings(store_url=str(tmp_path / "unused.sqlite3"), cache_dir=tmp_path),
        "api_keys": parse_api_keys(KEYS),
        **overrides,
    }
    return ApiSettings(**values)  # type: ignore[arg-type]


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` under uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class Api:
    """Clients of one running API: `write` and `read` send those keys, `anonymous` none."""

    url: str
    write: httpx.Client
    read: httpx.Client
    anonymous: httpx.Client


@contextmanager
def clients(url: str) -> Iterator[Api]:
    def client(key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=url, headers=headers, timeout=60)

    with client(WRITE_KEY) as write, client(READ_KEY) as read, client(None) as anonymous:
        yield Api(url, write, read, anonymous)


@pytest.fixture
def api(store: GraphStore, embedder: CachingEmbedder, tmp_path: Path) -> Iterator[Api]:
    """The API over an empty store of each backend, served on loopback."""
    app = create_app(api_settings(tmp_path), store=store, embedder=embedder)
    with serve(app) as url, clients(url) as running:
        yield running
