"""Run one `lessons copy` in a process the crash test can kill.

    python crash_copy.py SOURCE_URL

The target is the store the environment names (LESSONS_STORE, ...), and
LESSONS_FAULT_AT_COMMIT (graph/faults.py) picks the commit the process is killed at. Small
transactions give the test many commits to choose from. Prints the number of commits the
copy made.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from lessons.graph import faults
from lessons.graph.settings import Settings
from lessons.graph.store import open_store
from lessons.graph.transfer import copy_graph

WRITE_BATCH = 3


def main(source_url: str) -> None:
    settings = Settings.from_env()
    source = open_store(replace(settings, store_url=source_url))
    target = open_store(settings)
    copy_graph(source, target, write_batch=WRITE_BATCH)
    source.close()
    target.close()
    print(faults.commits())


if __name__ == "__main__":
    main(sys.argv[1])
