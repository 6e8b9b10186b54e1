"""The contract suite: every test runs against each `GraphStore` backend, through the protocol."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lessons.graph.store import GraphStore, SqliteStore

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """An empty store of each backend."""
    opened = SqliteStore(tmp_path / "contract.sqlite3")
    yield opened
    opened.close()
