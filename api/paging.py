"""Pages of the API's lists and searches: opaque cursors, and the page shapes they come in.

A cursor says where the next page starts (the last id of a list page, the offset into one
ranking of search hits) and which list it belongs to, base64 JSON that callers pass back
unchanged; the services in graph/ take the position itself.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from functools import partial
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from lessons.graph.embeddings import Embedder
from lessons.graph.errors import UnknownReferenceError, ValidationError
from lessons.graph.inputs import FailureFilter
from lessons.graph.models import Failure, Label
from lessons.graph.reads import (
    CauseDetail,
    ComponentDetail,
    PracticeDetail,
    list_causes,
    list_components,
    list_failures,
    list_practices,
)
from lessons.graph.search import EntityHit, SearchHit, search, search_entities
from lessons.graph.store import GraphStore

MAX_PAGE = 100  # most items one page of a list may hold

MAX_SEARCH_DEPTH = 100  # search ranks this many hits at most (offset + limit)
T = TypeVar("T", Failure, CauseDetail, PracticeDetail, ComponentDetail)


class FailurePage(BaseModel):
    """One page of failures; pass `next_cursor` back for the next (null: nothing more)."""

    items: list[Failure]
    next_cursor: str | None


class CausePage(BaseModel):
    """One page of causes; pass `next_cursor` back for the next (null: nothing more)."""

    items: list[CauseDetail]
    next_cursor: str | None


class PracticePage(BaseModel):
    """One page of practices; pass `next_cursor` back for the next (null: nothing more)."""

    items: list[PracticeDetail]
    next_cursor: str | None


class ComponentPage(BaseModel):
    """One page of components; pass `next_cursor` back for the next (null: nothing more)."""

    items: list[ComponentDetail]
    next_cursor: str | None


SearchType = Literal["failure", "cause", "practice", "component"]


class SearchResults(BaseModel):
    """What matches a query, best first: `failures` for `type=failure`, else `entities`."""

    type: SearchType
    failures: list[SearchHit]
    entities: list[EntityHit]
    next_cursor: str | None


def failures_page(
    store: GraphStore,
    where: FailureFilter | None = None,
    *,
    limit: int = 20,
    cursor: str | None = None,
) -> FailurePage:
    """Failures matching `where`, ordered by id, `limit` at a time."""
    items, next_cursor = _page("failures", limit, cursor, partial(list_failures, store, where))
    return FailurePage(items=items, next_cursor=next_cursor)


def causes_page(store: GraphStore, *, limit: int = 20, cursor: str | None = None) -> CausePage:
    """Causes ordered by id, each with the failures that share it."""
    items, next_cursor = _page("Cause", limit, cursor, partial(list_causes, store))
    return CausePage(items=items, next_cursor=next_cursor)


def practices_page(
    store: GraphStore, *, limit: int = 20, cursor: str | None = None
) -> PracticePage:
    """Practices ordered by id, each with the failures that led to it."""
    items, next_cursor = _page("Practice", limit, cursor, partial(list_practices, store))
    return PracticePage(items=items, next_cursor=next_cursor)


def components_page(
    store: GraphStore, *, limit: int = 20, cursor: str | None = None
) -> ComponentPage:
    """Components ordered by id, each with the failures that affected it."""
    items, next_cursor = _page("Component", limit, cursor, partial(list_components, store))
    return ComponentPage(items=items, next_cursor=next_cursor)


def search_page(
    store: GraphStore,
    embedder: Embedder,
    query: str,
    *,
    type: SearchType = "failure",
    limit: int = 10,
    cursor: str | None = None,
) -> SearchResults:
    """Failures (`search`) or causes, practices or components like `query`, a page at a time.

    Pages come from one ranking of at most MAX_SEARCH_DEPTH hits.
    """
    limit = _page_size(limit)
    offset = int(_decode_cursor(cursor, f"search:{type}").get("offset", 0))
    want = min(offset + limit + 1, MAX_SEARCH_DEPTH)
    failures: list[SearchHit] = []
    entities: list[EntityHit] = []
    if type == "failure":
        failures = search(store, embedder, query, limit=want)[offset:]
        found = len(failures)
        failures = failures[:limit]
    else:
        entities = search_entities(store, embedder, Label(type.capitalize()), query, limit=want)
        entities = entities[offset:]
        found = len(entities)
        entities = entities[:limit]
    more = {"offset": offset + limit} if found > limit and offset + limit < want else None
    return SearchResults(
        type=type,
        failures=failures,
        entities=entities,
        next_cursor=_encode_cursor(f"search:{type}", more),
    )


def _page(
    kind: str, limit: int, cursor: str | None, read: Callable[..., list[T]]
) -> tuple[list[T], str | None]:
    """One page of a list ordered by id: `read(limit=n, after=id)` gives up to `n` items
    after an id; one more than `limit` is read to know whether another page follows."""
    limit = _page_size(limit)
    items = read(limit=limit + 1, after=str(_decode_cursor(cursor, kind).get("after", "")))
    more = {"after": items[limit - 1].id} if len(items) > limit else None
    return items[:limit], _encode_cursor(kind, more)


def _page_size(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}, not {limit}")
    return limit


def _encode_cursor(kind: str, position: dict[str, Any] | None) -> str | None:
    """An opaque cursor for the next page of `kind`, or None when there is no next page."""
    if position is None:
        return None
    raw = json.dumps({"kind": kind, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str | None, kind: str) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        valid = (
            isinstance(position, dict)
            and position.get("kind") == kind
            and isinstance(position.get("after", ""), str)
            and isinstance(position.get("offset", 0), int)
            and position.get("offset", 0) >= 0
        )
    except (ValueError, binascii.Error, UnicodeError):
        valid = False
    if not valid:
        raise UnknownReferenceError(
            "the cursor is not one this list gave out",
            hint="Pass back next_cursor from the previous page unchanged, or leave it out.",
        )
    return dict(position)
