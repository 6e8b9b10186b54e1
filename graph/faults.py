"""Fault injection for the crash tests (tests/reliability/): a signal at a chosen commit.

`LESSONS_FAULT_AT_COMMIT=kill:N` makes the process kill itself with SIGKILL right after its
N-th committed write transaction, on either store, as a power cut, an OOM kill or `kill -9`
would; `interrupt:N` sends it SIGINT there instead, as Ctrl-C would. Unset (always, outside
the crash tests), `committed()` only counts.
"""

from __future__ import annotations

import os
import signal

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
