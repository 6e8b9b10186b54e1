"""Fixtures of the reliability tests, which run real `lessons` import processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lessons.graph.embeddings import Embedder


@pytest.fixture
def crash_env(tmp_path: Path, model: Embedder, models_dir: Path) -> dict[str, str]:
    """Settings for the import processes: the session's exported model, a vector cache (in
    tmp_path/cache, where the `embedder` fixture keeps its own)."""
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    (cache / "models").symlink_to(models_dir, target_is_directory=True)
    model.encode(["export the model once, before the processes need it"])
    return {"LESSONS_CACHE_DIR": str(cache), "LESSONS_EMBED_RUNTIME": "onnx"}
