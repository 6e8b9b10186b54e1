"""Domain core of `lessons`: models, errors, settings, stores, embeddings and search.

Nothing here imports `lessons.ingest`, `lessons.api` or `lessons.cli`.
"""

import os

# Thread pools that sleep when idle instead of spinning. By default torch's OpenMP threads
# busy-wait after each encode, and numpy's OpenBLAS threads for up to 2^28 cycles (~0.1 s)
# after each matrix product, holding the cores the store (a Neo4j on the same host, SQLite)
# needs next. Sleeping cut the p95 of a search on Neo4j from 124 to 77 ms at 10k failures
# (OpenMP) and, at 100k, from 58 to 37 ms right after a search on the embedded store
# (OpenBLAS), for 2-6% slower bulk encoding (docs/benchmarks.md). Both are read once, when
# torch or numpy loads, so they are set here, before any module of `lessons` imports them;
# set them in the environment to choose otherwise.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
