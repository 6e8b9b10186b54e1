"""The store, embedder and projection one API process shares between requests, and their
dependencies.

FastAPI runs the (synchronous) endpoints in a thread pool, so all three are shared across
threads:

- `SqliteStore` holds one connection opened with `check_same_thread=False` and serialises
  every use of it with a lock; `Neo4jStore`'s driver is thread-safe and opens a session per
  call. Either can be shared as it is.
- The embedding model is not: a Hugging Face fast tokenizer used by two threads at once
  fails ("Already borrowed"), so `SerialEmbedder` lets one request encode at a time (the
  model uses every core for one batch anyway). `CachingEmbedder`'s vector cache has its own
  lock.

The store is opened on first use, not at start-up, so a server whose Neo4j is down still
starts, answers 503 with `Retry-After` meanwhile, and recovers when Neo4j is back.

The insight endpoints read the whole graph as networkx (`GraphStore.to_networkx()`), which
took 16-19 s per request at 100k failures. `ProjectionCache` keeps the latest projection with
the store revision read before building it, and answers from it until the revision moves on:
every committed write, by this process or any other on the same database, changes it. It is
built by one request at a time and `indexed` (frozen, nodes by label and edges by type), so
each insight reads only what it needs: at 100k failures every insight then takes under 2 s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Annotated

import networkx as nx
import numpy as np
from fastapi import Depends, Request

from lessons.graph.embeddings import Embedder, Matrix
from lessons.graph.errors import LessonsError
from lessons.graph.models import Label
from lessons.graph.projection import indexed
from lessons.graph.session import Session
from lessons.graph.settings import Settings
from lessons.graph.store import GraphStore

log = logging.getLogger("lessons.api")


class SerialEmbedder:
    """An embedder that encodes for one caller at a time."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    @property
    def dimension(self) -> int:
        with self._lock:
            return self._inner.dimension

    def encode(self, texts: Sequence[str]) -> Matrix:
        with self._lock:
            return self._inner.encode(texts)


class ProjectionCache:
    """The latest networkx projection of a store, rebuilt only when its revision has moved on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: tuple[int, nx.MultiDiGraph] | None = None

    def get(self, store: GraphStore) -> nx.MultiDiGraph:
        """The projection of `store` at its current revision, `indexed` for the insights
        (frozen: read it, never change it).

        One caller builds at a time, so concurrent requests at one revision build it once.
        """
        with self._lock:
            revision = store.revision()  # before building: a write meanwhile means a rebuild
            if self._latest is None or self._latest[0] != revision:
                self._latest = (revision, indexed(store.to_networkx()))
            return self._latest[1]


class Services:
    """The store and embedder of one API process: given (tests, embedding), or opened from
    `settings` on first use (a `Session`, the CLI's too) and closed by `close`; and the
    store's cached projection."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: GraphStore | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self._session = Session(settings, on_export=log.warning)
        self._store = store
        self._embedder = SerialEmbedder(embedder) if embedder is not None else None
        self._load_model: Callable[[], object] = lambda: self.embedder.encode(["warm-up"])
        self._lock = threading.Lock()
        self._projections = ProjectionCache()

    @property
    def store(self) -> GraphStore:
        """The store; raises `StoreUnavailableError` (503) while it cannot be reached."""
        with self._lock:
            if self._store is None:
                self._store = self._session.store
            return self._store

    @property
    def embedder(self) -> Embedder:
        """The configured model behind the vector cache, loaded on first use."""
        with self._lock:
            if self._embedder is None:
                cached = self._session.embedder
                self._load_model = cached.warm_up
                self._embedder = SerialEmbedder(cached)
            return self._embedder

    def projection(self) -> nx.MultiDiGraph:
        """The store as networkx, built again only after a write (see `ProjectionCache`)."""
        return self._projections.get(self.store)

    def warm_up(self) -> None:
        """Open the store, load the model and the store's failure search indexes now (at 100k
        failures the embedded store reads them for a second or more), so the first request
        does not wait; a failure is logged and left for /readyz and the requests to report."""
        try:
            self.store.ping()
            _ = self.embedder  # opens the configured model behind its cache, and `_load_model`
            self._load_model()
            nowhere = np.zeros(self.embedder.dimension, dtype=np.float32)
            self.store.vector_search([Label.FAILURE], nowhere, 1)
            self.store.keyword_search([Label.FAILURE], "warm up", 1)
        except LessonsError as e:
            log.warning("not ready yet: %s", e)

    def close(self) -> None:
        """Close what was opened here (a store or embedder that was given stays open)."""
        with self._lock:
            self._session.close()


def services(request: Request) -> Services:
    """The app's `Services` (a FastAPI dependency)."""
    found: Services = request.app.state.services
    return found


def store(found: Annotated[Services, Depends(services)]) -> GraphStore:
    """The graph store (a FastAPI dependency); 503 while it is unreachable."""
    return found.store


def embedder(found: Annotated[Services, Depends(services)]) -> Embedder:
    """The embedder (a FastAPI dependency)."""
    return found.embedder


def projection(found: Annotated[Services, Depends(services)]) -> nx.MultiDiGraph:
    """The store's networkx projection, cached per store revision (a FastAPI dependency)."""
    return found.projection()


StoreDep = Annotated[GraphStore, Depends(store)]
EmbedderDep = Annotated[Embedder, Depends(embedder)]
ProjectionDep = Annotated[nx.MultiDiGraph, Depends(projection)]
