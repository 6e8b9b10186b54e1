"""Every error has one shape: RFC 9457 problem details, with these keys and nothing else."""

from __future__ import annotations

import socket
from http import HTTPStatus
from pathlib import Path

import httpx
import pytest

from lessons.api.app import create_app
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.models import Label, Node
from lessons.graph.settings import Settings
from lessons.graph.store import GraphStore, SqliteStore

from .conftest import Api, api_settings, clients, serve

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "hint", "errors"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, object] = response.json()
    assert set(problem) == PROBLEM_KEYS
    assert problem["status"] == status
    assert str(problem["type"]).startswith("/problems/")
    assert problem["title"] == HTTPStatus(status).phrase
    assert isinstance(problem["detail"], str) and problem["detail"]
    assert problem["instance"] == response.request.url.path
    return problem


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_every_error_status_has_the_problem_shape(api: Api) -> None:
    created = api.write.post("/v1/failures", json={"id": "f", "title": "t", "summary": "s"})
    assert created.status_code == 201
    cases = [
        (api.anonymous.get("/v1/failures"), 401),
        (api.read.post("/v1/failures", json={"title": "t", "summary": "s"}), 403),
        (api.read.get("/v1/failures/missing"), 404),
        (api.read.get("/v1/no-such-route"), 404),
        (api.read.put("/v1/failures"), 405),
        (api.write.post("/v1/failures", json={"id": "f", "title": "t", "summary": "s"}), 409),
        (api.write.post("/v1/failures", content=b"x" * (10 * 2**20 + 1)), 413),
        (api.write.post("/v1/ingest", content=b"x", headers={"content-type": "text/csv"}), 415),
        (
            api.write.post(
                "/v1/failures", content=b"\xff\xfe", headers={"content-type": "application/json"}
            ),
            422,
        ),
    ]
    for response, status in cases:
        assert_problem(response, status)

    invalid = assert_problem(api.write.post("/v1/failures", json={"title": ""}), 422)
    assert invalid["errors"] == [
        {
            "field": "body.title",
            "message": "String should have at least 1 character",
            "type": "string_too_short",
        },
        {"field": "body.summary", "message": "Field required", "type": "missing"},
    ]
    assert invalid["type"] == "/problems/invalid-input"
    assert assert_problem(api.read.get("/v1/failures/missing"), 404)["hint"]


def test_store_unavailable_is_503_with_retry_after(
    embedder: CachingEmbedder, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    settings = api_settings(tmp_path)
    settings = type(settings)(
        lessons=Settings(store_url=f"bolt://127.0.0.1:{closed}", cache_dir=tmp_path),
        api_keys=settings.api_keys,
    )
    with serve(create_app(settings, embedder=embedder)) as url, clients(url) as api:
        assert api.anonymous.get("/healthz").status_code == 200
        for response in (api.anonymous.get("/readyz"), api.read.get("/v1/failures")):
            problem = assert_problem(response, 503)
            assert response.headers["retry-after"] == "5"
            assert f"cannot reach Neo4j at bolt://127.0.0.1:{closed}" in str(problem["detail"])


class BrokenStore(SqliteStore):
    """A real store whose listing fails the way a bug would (to pin the 500 shape)."""

    def list_nodes(self, label: Label, *, limit: int = 100, after: str = "") -> list[Node]:
        raise RuntimeError("secret internals")


def test_an_unexpected_error_is_a_500_problem_that_tells_nothing_inside(
    embedder: CachingEmbedder, tmp_path: Path
) -> None:
    store: GraphStore = BrokenStore(tmp_path / "broken.sqlite3")
    app = create_app(api_settings(tmp_path), store=store, embedder=embedder)
    with serve(app) as url, clients(url) as api:
        problem = assert_problem(api.read.get("/v1/causes"), 500)
    assert "secret" not in str(problem["detail"])
