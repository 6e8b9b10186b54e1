"""What every command shares: the store and embedder of one invocation, and JSON output."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from lessons.graph.embeddings import CachingEmbedder, open_embedder
from lessons.graph.settings import Settings
from lessons.graph.store import GraphStore, open_store


@dataclass
class Session:
    """Store and embedder for one command, opened on first use and closed at the end."""

    settings: Settings
    _store: GraphStore | None = None
    _embedder: CachingEmbedder | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def store(self) -> GraphStore:
        if self._store is None:
            self._store = open_store(self.settings)
            self.closers.append(self._store.close)
        return self._store

    @property
    def embedder(self) -> CachingEmbedder:
        if self._embedder is None:
            self._embedder = open_embedder(
                self.settings, on_export=lambda message: click.echo(message, err=True)
            )
            self.closers.append(self._embedder.close)
        return self._embedder

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def echo_json(data: Any) -> None:
    """Print `data` as indented JSON (dates and other values as strings)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
