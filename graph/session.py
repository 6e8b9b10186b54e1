"""The store and embedder one process opens from its settings: each on first use, both
closed together. The CLI opens one per command (`cli/session.py`), the API one per process
(`api/services.py`, which adds what sharing it between request threads needs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lessons.graph.embeddings import CachingEmbedder, open_embedder
from lessons.graph.settings import Settings
from lessons.graph.store import GraphStore, open_store


def _ignore(message: str) -> None:
    return None


@dataclass
class Session:
    """Store and embedder opened from `settings` on first use; `on_export` hears about a
    first-run model export (it takes a while)."""

    settings: Settings
    on_export: Callable[[str], None] = _ignore
    _store: GraphStore | None = None
    _embedder: CachingEmbedder | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def store(self) -> GraphStore:
        """The configured store; raises `StoreUnavailableError` while it cannot be reached."""
        if self._store is None:
            self._store = open_store(self.settings)
            self._closers.append(self._store.close)
        return self._store

    @property
    def embedder(self) -> CachingEmbedder:
        """The configured model behind the vector cache."""
        if self._embedder is None:
            self._embedder = open_embedder(self.settings, on_export=self.on_export)
            self._closers.append(self._embedder.close)
        return self._embedder

    def close(self) -> None:
        """Close what was opened, newest first; a second call does nothing."""
        while self._closers:
            self._closers.pop()()
