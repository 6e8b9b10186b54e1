"""Web pages that must stay small however large the graph: lists page by id, and a cause's
page shows its first failures with a link to all of them, page by page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lessons.api.app import create_app
from lessons.graph.embeddings import Embedder
from lessons.graph.facts import create_failure
from lessons.graph.inputs import CauseLink, FailureDraft
from lessons.graph.store import GraphStore

from .conftest import api_settings

FAILURES = 60


@pytest.fixture
def client(
    sqlite_store: GraphStore, fast_embedder: Embedder, tmp_path: Path
) -> Iterator[TestClient]:
    for number in range(FAILURES):
        draft = FailureDraft(
            id=f"2024-01-{number:03d}-queue",
            title=f"Queue backlog number {number}",
            summary="The consumers fell behind.",
            components=["orders-queue"],
        )
        create_failure(sqlite_store, fast_embedder, draft, causes=[CauseLink(name="Slow consumer")])
    app = create_app(
        api_settings(tmp_path, api_keys=()), store=sqlite_store, embedder=fast_embedder
    )
    with TestClient(app, client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def failure_links(html: str) -> list[str]:
    return re.findall(r'<td><a href="/failures/([^"]+)">', html)


def test_the_failures_list_pages_through_every_failure_once(client: TestClient) -> None:
    seen: list[str] = []
    page = "/failures?component=orders-queue"
    while page:
        html = client.get(page).text
        found = failure_links(html)
        assert 0 < len(found) <= 25
        seen += found
        more = re.search(r'<a href="([^"]+)" rel="next">', html)
        page = more.group(1).replace("&amp;", "&") if more else ""
    assert len(seen) == len(set(seen)) == FAILURES


def test_a_cause_page_shows_its_first_failures_and_links_to_all(client: TestClient) -> None:
    html = client.get("/causes/Slow consumer").text
    assert "Failures that share it (60)" in html
    assert len(failure_links(html)) == 50
    assert 'href="/failures?cause=cause%3Aslow-consumer">All 60, page by page' in html
