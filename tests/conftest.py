"""Shared fixtures: the real embedding model (exported and loaded once), stores, a real
Neo4j, corpora."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import neo4j
import pytest
from click.testing import CliRunner, Result

from lessons.cli import main as cli_main
from lessons.graph import session as graph_session
from lessons.graph.embeddings import (
    CachingEmbedder,
    Embedder,
    SentenceTransformerEmbedder,
    model_directory,
)
from lessons.graph.onnx_runtime import OnnxEmbedder
from lessons.graph.settings import DEFAULT_MODEL
from lessons.graph.store import GraphStore, SqliteStore
from lessons.graph.store.neo4j import Neo4jStore

from .hashing_embedder import HashingEmbedder

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "postmortems"
CORPUS = REPO.parent / "shared" / "corpus" / "public-postmortems"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this test session exports the model to ONNX (once, on first use)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def model(models_dir: Path) -> OnnxEmbedder:
    """The real all-MiniLM-L6-v2 on the default runtime (onnxruntime), once per session."""
    return OnnxEmbedder(DEFAULT_MODEL, model_directory(DEFAULT_MODEL), models_dir)


@pytest.fixture(scope="session")
def reference_model() -> SentenceTransformerEmbedder:
    """The same model on sentence-transformers and torch: the reference."""
    return SentenceTransformerEmbedder()


@pytest.fixture
def embedder(model: Embedder, tmp_path: Path) -> Iterator[CachingEmbedder]:
    """The real model behind a fresh vector cache."""
    cached = CachingEmbedder(model, tmp_path / "cache" / "vectors.sqlite3")
    yield cached
    cached.close()


@pytest.fixture
def fast_embedder(tmp_path: Path) -> Iterator[CachingEmbedder]:
    """`HashingEmbedder` behind a fresh vector cache: for tests that do not test retrieval."""
    cached = CachingEmbedder(HashingEmbedder(), tmp_path / "cache" / "fast-vectors.sqlite3")
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


@dataclass(frozen=True)
class Neo4jTarget:
    """Where the test Neo4j listens and how to log in."""

    uri: str
    user: str
    password: str | None


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jTarget]:
    """A real Neo4j for the whole session: $LESSONS_TEST_NEO4J_URI, or one started here.

    The one started here is Neo4j Community (the release tests/neo4j/pom.xml names) in a JVM
    on a free loopback port, built with Maven from tests/neo4j/ (see tests/neo4j/server.py);
    it is stopped at the end.
    """
    uri = os.environ.get("LESSONS_TEST_NEO4J_URI")
    if uri:
        yield Neo4jTarget(
            uri,
            os.environ.get("LESSONS_TEST_NEO4J_USER", "neo4j"),
            os.environ.get("LESSONS_TEST_NEO4J_PASSWORD"),
        )
        return
    from tests.neo4j.server import Neo4jServer

    with Neo4jServer() as server:
        yield Neo4jTarget(server.uri, server.user, server.password)


def wipe_neo4j(target: Neo4jTarget) -> None:
    """Delete every node and relationship (indexes and constraints stay)."""
    auth = (target.user, target.password) if target.password else None
    with neo4j.GraphDatabase.driver(target.uri, auth=auth) as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n")


@pytest.fixture(params=["sqlite", "neo4j"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """An empty store of each backend: a SQLite file, and the session's real Neo4j."""
    opened: GraphStore
    if request.param == "sqlite":
        opened = SqliteStore(tmp_path / "store.sqlite3")
    else:
        target: Neo4jTarget = request.getfixturevalue("neo4j_server")
        wipe_neo4j(target)
        opened = Neo4jStore(target.uri, user=target.user, password=target.password)
    yield opened
    opened.close()


@pytest.fixture
def lessons(
    tmp_path: Path, model: Embedder, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run `lessons ARGS` against a store in tmp_path, reusing the session's loaded model."""
    monkeypatch.setenv("LESSONS_STORE", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("LESSONS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(
        graph_session,
        "open_embedder",
        lambda settings, on_export: CachingEmbedder(model, settings.cache_dir / "v.sqlite3"),
    )

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(cli_main.cli, list(args), input=stdin, catch_exceptions=False)

    return invoke
