"""Run one import the way `lessons ingest` does, in a process the crash test can kill.

    python crash_import.py DOCS_DIR

Settings come from the environment (LESSONS_STORE, LESSONS_CACHE_DIR, ...), and
LESSONS_FAULT_AT_COMMIT (graph/faults.py) picks the commit the process is killed at. Small
chunks and transactions give the test many commits to choose from. Prints the number of
commits the import made.
"""

from __future__ import annotations

import sys

from lessons.graph import faults
from lessons.graph.embeddings import open_embedder
from lessons.graph.settings import Settings
from lessons.graph.store import open_store
from lessons.ingest.pipeline import discover, ingest

CHUNK_SIZE = 8
WRITE_BATCH = 3


def main(docs: str) -> None:
    settings = Settings.from_env()
    store = open_store(settings)
    embedder = open_embedder(settings, on_export=print)
    sources, _ = discover([docs])
    report = ingest(store, embedder, sources, chunk_size=CHUNK_SIZE, write_batch=WRITE_BATCH)
    store.close()
    embedder.close()
    if not report.ok:
        sys.exit(f"import failed: {[r.error for r in report.results if r.error]}")
    print(faults.commits())


if __name__ == "__main__":
    main(sys.argv[1])
