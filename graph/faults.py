"""Fault injection for the crash tests (tests/reliability/): a signal at a chosen commit.

`LESSONS_FAULT_AT_COMMIT=kill:N` makes the process kill itself with SIGKILL right after its
N-th committed write transaction, on either store, as a power cut, an OOM kill or `kill -9`
would; `interrupt:N` sends it SIGINT there instead, as Ctrl-C would. Unset (always, outside
the crash tests), `committed()` only counts.
"""

from __future__ import annotations

import os
import signal
import threading
import time

FAULT_AT_COMMIT = "LESSONS_FAULT_AT_COMMIT"
SIGNALS = {"kill": signal.SIGKILL, "interrupt": signal.SIGINT}

_commits = 0


def commits() -> int:
    """How many write transactions this process has committed."""
    return _commits


def committed() -> None:
    """Called by the stores after every committed write transaction."""
    global _commits
    _commits += 1
    fault = os.environ.get(FAULT_AT_COMMIT)
    if not fault:
        return
    name, _, at = fault.partition(":")
    if _commits == int(at):
        os.kill(os.getpid(), SIGNALS[name])
        if threading.current_thread() is not threading.main_thread():
            # The main thread runs Python's signal handlers: give it the moment a person's
            # Ctrl-C would have had before the committing thread goes on to its next write.
            time.sleep(0.2)
