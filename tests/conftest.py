"""Shared fixtures: the real embedding model (loaded once), stores on temporary files, corpora."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lessons.graph.embeddings import CachingEmbedder, SentenceTransformerEmbedder
from lessons.graph.store import SqliteStore

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "postmortems"
CORPUS = REPO.parent / "shared" / "corpus" / "public-postmortems"


@pytest.fixture(scope="session")
def model() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2, loaded once per test session."""
    return SentenceTransformerEmbedder()


@pytest.fixture
def embedder(model: SentenceTransformerEmbedder, tmp_path: Path) -> Iterator[CachingEmbedder]:
    """The real model behind a fresh vector cache."""
    cached = CachingEmbedder(model, tmp_path / "cache" / "vectors.sqlite3")
    yield cached
    cached.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "store.sqlite3")
    yield store
    store.close()


@pytest.fixture(scope="session")
def corpus() -> Path:
    """../shared/corpus/public-postmortems, or skip with the reason."""
    if not (CORPUS / "docs").is_dir():
        pytest.skip(f"public postmortem corpus not found at {CORPUS} (it lives outside the repo)")
    return CORPUS
