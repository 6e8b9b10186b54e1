"""Who may call what: every route x {no key, read key, write key}, and the no-keys mode."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from lessons.api.app import create_app
from lessons.api.settings import ApiSettings, check_bind, parse_api_keys
from lessons.cli.main import cli
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.errors import ConfigError
from lessons.graph.store import GraphStore

from .conftest import READ_KEY, WRITE_KEY, Api, api_settings, serve


@pytest.fixture
def embedder(fast_embedder: CachingEmbedder) -> CachingEmbedder:
    """Keys and scopes do not depend on what texts mean
    (tests/hashing_embedder.py serves)."""
    return fast_embedder


PUBLIC, READ, WRITE, SIGNED = "public", "read", "write", "signed"

# Every route the app has, with the scope it needs. A new route must be added here.
ROUTES = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/v1/search"): READ,
    ("POST", "/v1/recognize"): READ,  # a question, though sent as POST
    ("GET", "/v1/failures"): READ,
    ("POST", "/v1/failures"): WRITE,
    ("GET", "/v1/failures/{failure_id}"): READ,
    ("PATCH", "/v1/failures/{failure_id}"): WRITE,
    ("DELETE", "/v1/failures/{failure_id}"): WRITE,
    ("GET", "/v1/failures/{failure_id}/graph"): READ,
    ("GET", "/v1/failures/{failure_id}/explain"): READ,
    ("GET", "/v1/failures/{failure_id}/suggested-causes"): READ,
    ("POST", "/v1/failures/{failure_id}/causes"): WRITE,
    ("POST", "/v1/failures/{failure_id}/experiments"): WRITE,
    ("POST", "/v1/failures/{failure_id}/lessons"): WRITE,
    ("POST", "/v1/failures/{failure_id}/practices"): WRITE,
    ("POST", "/v1/failures/{failure_id}/actions"): WRITE,
    ("POST", "/v1/failures/{failure_id}/recurrences"): WRITE,
    ("PATCH", "/v1/actions/{action_id}"): WRITE,
    ("GET", "/v1/causes"): READ,
    ("GET", "/v1/causes/{cause}"): READ,
    ("GET", "/v1/practices"): READ,
    ("GET", "/v1/practices/{practice}"): READ,
    ("GET", "/v1/components"): READ,
    ("GET", "/v1/components/{component}"): READ,
    ("POST", "/v1/ingest"): WRITE,
    ("GET", "/v1/insights/recurring-causes"): READ,
    ("GET", "/v1/insights/gaps"): READ,
    ("GET", "/v1/insights/practices"): READ,
    ("GET", "/v1/insights/clusters"): READ,
    ("GET", "/v1/insights/timing"): READ,
    ("POST", "/v1/hooks/{source}"): SIGNED,  # the tool's signature, not a key (test_hooks.py)
}
# The status class each caller gets: "ok" means the request got past authentication
# (it may still be 404 or 422 for the made-up ids and empty bodies sent here).
EXPECTED = {
    PUBLIC: {"none": "ok", "read": "ok", "write": "ok"},
    READ: {"none": 401, "read": "ok", "write": "ok"},
    WRITE: {"none": 401, "read": 403, "write": "ok"},
    SIGNED: {"none": 403, "read": 403, "write": 403},  # no hook secret is configured here
}


def app_routes(tmp_path: Path) -> set[tuple[str, str]]:
    """(method, path) of every operation the app's OpenAPI schema lists."""
    paths = create_app(api_settings(tmp_path)).openapi()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def test_the_table_lists_every_route(tmp_path: Path) -> None:
    routes = app_routes(tmp_path)
    table = (
        set(ROUTES)
        if ("POST", "/v1/recognize") in routes
        else set(ROUTES) - {("POST", "/v1/recognize")}
    )
    assert routes == table


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_every_route_with_no_key_a_read_key_and_a_write_key(api: Api, tmp_path: Path) -> None:
    routes = app_routes(tmp_path)
    callers = {"none": api.anonymous, "read": api.read, "write": api.write}
    for (method, path), scope in ROUTES.items():
        if (method, path) not in routes:
            continue
        ids = {"failure_id": "f", "cause": "c", "practice": "p", "component": "c", "action_id": "a"}
        url = path.format(source="pagerduty", **ids)
        for caller, client in callers.items():
            body = {"json": {}} if method in ("POST", "PATCH") else {}
            response = client.request(method, url, **body)  # type: ignore[arg-type]
            expected = EXPECTED[scope][caller]
            where = f"{method} {path} with {caller} key: {response.status_code} {response.text}"
            if expected == "ok":
                assert response.status_code not in (401, 403), where
                assert response.status_code < 500, where
            else:
                assert response.status_code == expected, where
                assert response.headers["content-type"] == "application/problem+json"
            if response.status_code == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_keys_are_read_from_either_header_and_checked(api: Api) -> None:
    url = f"{api.url}/v1/failures"
    assert httpx.get(url, headers={"X-API-Key": READ_KEY}).status_code == 200
    assert httpx.get(url, headers={"Authorization": f"Bearer {WRITE_KEY}"}).status_code == 200
    wrong = httpx.get(url, headers={"X-API-Key": WRITE_KEY + "x"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "the API key is not valid"
    assert httpx.get(url, headers={"Authorization": "Basic abc"}).status_code == 401


def test_keys_may_be_given_hashed_and_must_be_long() -> None:
    import hashlib

    digest = hashlib.sha256(b"a-secret-that-is-long-enough").hexdigest()
    settings = ApiSettings.from_env(
        {"LESSONS_API_KEYS": f"read:sha256:{digest}, write:another-long-secret-key"}
    )
    assert settings.scope_of("a-secret-that-is-long-enough") == "read"
    assert settings.scope_of("another-long-secret-key") == "write"
    assert settings.scope_of("guess") is None
    assert "a-secret" not in repr(settings)
    for bad in ("admin:a-long-enough-secret-key", "write:short", "write:"):
        with pytest.raises(ConfigError):
            parse_api_keys(bad)


def test_without_keys_only_loopback_is_served(
    sqlite_store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    settings = api_settings(tmp_path, api_keys=())
    app = create_app(settings, store=sqlite_store, embedder=embedder)
    with serve(app) as url:  # a real server on 127.0.0.1: the client is loopback
        assert httpx.post(f"{url}/v1/failures", json={"title": "t", "summary": "s"}).is_success
    with TestClient(app, client=("203.0.113.9", 4000)) as remote:
        refused = remote.get("/v1/failures")
        assert refused.status_code == 403 and "LESSONS_API_KEYS" in refused.json()["detail"]
        assert remote.get("/healthz").status_code == 200

    check_bind("127.0.0.1", settings)
    check_bind("::1", settings)
    with pytest.raises(ConfigError, match=r"refusing to listen on 0\.0\.0\.0"):
        check_bind("0.0.0.0", settings)
    check_bind("0.0.0.0", api_settings(tmp_path))  # with keys: fine


def test_serve_refuses_to_listen_beyond_loopback_without_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LESSONS_API_KEYS", raising=False)
    monkeypatch.setenv("LESSONS_STORE", str(tmp_path / "s.sqlite3"))
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "refusing to listen on 0.0.0.0 without API keys" in result.stderr
    assert "LESSONS_API_KEYS" in result.stderr
    monkeypatch.setenv("LESSONS_API_KEYS", "write:short")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1 and "shorter than 16" in result.stderr
