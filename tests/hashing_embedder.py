"""A small deterministic embedder for tests in which what is similar to what does not matter.

Each word is hashed to one of 384 dimensions with a sign, and the sum is normalised: texts
sharing words point alike, and nothing is loaded. Tests of search, recognize, entity
resolution and the API's search paths use the real model (tests/conftest.py: `model`); a test
module that does not test them may override its `embedder` (or `model`) fixture with this one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from lessons.graph.embeddings import Matrix

DIMENSION = 384  # as the real model's, so stores and indexes are set up the same way


class HashingEmbedder:
    """Bag-of-hashed-words vectors: deterministic, instant, and not a language model."""

    model_name = "test-hashing-384"
    dimension = DIMENSION

    def encode(self, texts: Sequence[str]) -> Matrix:
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = int.from_bytes(hashlib.blake2b(word.encode()).digest()[:8], "little")
                vectors[row, digest % DIMENSION] += 1.0 if digest >> 63 else -1.0
            norm = float(np.linalg.norm(vectors[row]))
            if norm == 0.0:
                vectors[row, 0] = norm = 1.0
            vectors[row] /= norm
        return vectors
