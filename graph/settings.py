"""Settings, read from the environment when asked for (never at import time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from lessons.graph.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
EMBED_RUNTIMES = ("onnx", "torch")
DEFAULT_MAX_DOCUMENT_MB = 10.0  # real postmortems are well under 1 MB
DEFAULT_NEO4J_TIMEOUT = 30.0


@dataclass(frozen=True)
class Settings:
    """Where the graph lives and which embedding model to use.

    - `store_url`: `LESSONS_STORE`, e.g. `sqlite:///relative.db`, `sqlite:////abs/path.db`,
      a plain file path, or `neo4j://host:7687`; default: a SQLite file in the user's data dir.
    - `embed_model`: `LESSONS_EMBED_MODEL`, the bundled all-MiniLM-L6-v2 unless it names a
      local sentence-transformers model directory.
    - `embed_runtime`: `LESSONS_EMBED_RUNTIME`, what runs the model: `onnx` (default:
      onnxruntime over an ONNX export of the weights, the same vectors as torch) or `torch`
      (sentence-transformers).
    - `cache_dir`: `LESSONS_CACHE_DIR`, where encoded vectors are cached by text hash and the
      ONNX export of the model is kept.
    - `neo4j_user`, `neo4j_password`, `neo4j_database`: `LESSONS_NEO4J_USER` (default
      `neo4j`), `LESSONS_NEO4J_PASSWORD`, `LESSONS_NEO4J_DATABASE` (default: the server's).
    - `neo4j_timeout`: `LESSONS_NEO4J_TIMEOUT`, seconds to keep retrying a Neo4j server that
      does not answer before giving up with an error (default 30).
    - `max_document_mb`: `LESSONS_MAX_DOCUMENT_MB`, the largest document an import reads
      (default 10).
    """

    store_url: str
    embed_model: str = DEFAULT_MODEL
    embed_runtime: str = "onnx"
    cache_dir: Path = Path(".")
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = field(default=None, repr=False)
    neo4j_database: str | None = None
    neo4j_timeout: float = DEFAULT_NEO4J_TIMEOUT
    max_document_mb: float = DEFAULT_MAX_DOCUMENT_MB

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, store_url: str | None = None
    ) -> Settings:
        """Settings from `environ` (default `os.environ`); `store_url` wins over the environment."""
        env = os.environ if environ is None else environ
        data_dir = Path(platformdirs.user_data_dir("lessons"))
        default_store = f"sqlite:///{data_dir / 'lessons.sqlite3'}"
        return cls(
            store_url=store_url or env.get("LESSONS_STORE") or default_store,
            embed_model=env.get("LESSONS_EMBED_MODEL") or DEFAULT_MODEL,
            embed_runtime=_embed_runtime(env.get("LESSONS_EMBED_RUNTIME") or "onnx"),
            cache_dir=Path(env.get("LESSONS_CACHE_DIR") or platformdirs.user_cache_dir("lessons")),
            neo4j_user=env.get("LESSONS_NEO4J_USER") or "neo4j",
            neo4j_password=env.get("LESSONS_NEO4J_PASSWORD"),
            neo4j_database=env.get("LESSONS_NEO4J_DATABASE"),
            neo4j_timeout=_positive(env, "LESSONS_NEO4J_TIMEOUT", DEFAULT_NEO4J_TIMEOUT),
            max_document_mb=_positive(env, "LESSONS_MAX_DOCUMENT_MB", DEFAULT_MAX_DOCUMENT_MB),
        )


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ConfigError(
            f"{name}={raw!r} is not a positive number", hint=f"Unset {name} to use {default:g}."
        )
    return value


def _embed_runtime(name: str) -> str:
    runtime = name.strip().lower()
    if runtime not in EMBED_RUNTIMES:
        raise ConfigError(
            f"LESSONS_EMBED_RUNTIME={name!r} is not one of {', '.join(EMBED_RUNTIMES)}",
            hint="Unset LESSONS_EMBED_RUNTIME to use onnx, the default.",
        )
    return runtime
