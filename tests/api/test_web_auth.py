"""The web page's sign-in, sessions and forms, checked at the HTTP level: who may see, who
may change, and what another site cannot make a browser do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lessons.api.app import create_app
from lessons.api.web.auth import COOKIE
from lessons.graph.embeddings import Embedder
from lessons.graph.store import GraphStore

from .conftest import READ_KEY, WRITE_KEY, api_settings

LOOPBACK = ("127.0.0.1", 50000)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.fixture
def keyed(
    sqlite_store: GraphStore, fast_embedder: Embedder, tmp_path: Path
) -> Iterator[TestClient]:
    app = create_app(api_settings(tmp_path), store=sqlite_store, embedder=fast_embedder)
    with TestClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture
def keyless(
    sqlite_store: GraphStore, fast_embedder: Embedder, tmp_path: Path
) -> Iterator[TestClient]:
    app = create_app(
        api_settings(tmp_path, api_keys=()), store=sqlite_store, embedder=fast_embedder
    )
    with TestClient(app, follow_redirects=False, client=LOOPBACK) as client:
        yield client


def sign_in(client: TestClient, key: str) -> str:
    """Sign in with `key`; the CSRF token of the session."""
    token = csrf_of(client.get("/sign-in").text)
    answer = client.post("/sign-in", data={"key": key, "csrf": token, "next": "/failures"})
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/failures").text)


def test_pages_ask_to_sign_in_and_a_session_keeps_no_key(keyed: TestClient) -> None:
    answer = keyed.get("/failures?tag=db")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2Ffailures%3Ftag%3Ddb"
    sign_in(keyed, READ_KEY)
    cookie = keyed.cookies[COOKIE]
    assert READ_KEY not in cookie
    set_cookie = keyed.post(
        "/sign-in", data={"key": READ_KEY, "csrf": csrf_of(keyed.get("/").text)}
    )
    flags = set_cookie.headers["set-cookie"].lower()
    assert "httponly" in flags and "samesite=strict" in flags
    assert keyed.get("/failures").status_code == 200


def test_a_tampered_or_foreign_cookie_is_no_session(keyed: TestClient) -> None:
    sign_in(keyed, WRITE_KEY)
    body, _, signature = keyed.cookies[COOKIE].partition(".")
    keyed.cookies.clear()
    keyed.cookies.set(COOKIE, body + "." + signature[::-1])
    assert keyed.get("/failures").status_code == 303


def test_a_read_key_cannot_change_and_a_write_key_can(keyed: TestClient) -> None:
    token = sign_in(keyed, READ_KEY)
    form = {"csrf": token, "description": "queue backlog", "title": "Queue backlog"}
    refused = keyed.post("/record", data=form)
    assert refused.status_code == 403
    assert "write" in refused.text
    token = sign_in(keyed, WRITE_KEY)
    recorded = keyed.post("/record", data=form | {"csrf": token})
    assert recorded.status_code == 303
    assert recorded.headers["location"].startswith("/failures/")


def test_forms_refuse_a_missing_token_and_other_sites(keyless: TestClient) -> None:
    token = csrf_of(keyless.get("/").text)
    form = {"description": "queue backlog", "title": "Queue backlog"}
    assert keyless.post("/record", data=form).status_code == 403  # no token
    assert keyless.post("/record", data=form | {"csrf": "guess"}).status_code == 403
    cross = {"Sec-Fetch-Site": "cross-site"}
    assert keyless.post("/record", data=form | {"csrf": token}, headers=cross).status_code == 403
    other = {"Origin": "https://evil.example"}
    assert keyless.post("/record", data=form | {"csrf": token}, headers=other).status_code == 403
    assert keyless.post("/record", data=form | {"csrf": token}).status_code == 303


def test_without_keys_only_loopback_is_served(
    sqlite_store: GraphStore, fast_embedder: Embedder, tmp_path: Path
) -> None:
    app = create_app(
        api_settings(tmp_path, api_keys=()), store=sqlite_store, embedder=fast_embedder
    )
    with TestClient(app, client=("203.0.113.7", 50000)) as client:
        answer = client.get("/")
        assert answer.status_code == 403
        assert "LESSONS_API_KEYS" in answer.text


def test_sign_in_sends_only_to_pages_of_this_server(keyed: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        token = csrf_of(keyed.get("/sign-in").text)  # each sign-in starts a new session
        answer = keyed.post("/sign-in", data={"key": WRITE_KEY, "csrf": token, "next": target})
        assert answer.headers["location"] == "/"


def test_bad_form_values_are_said_on_the_page(
    keyless: TestClient, sqlite_store: GraphStore
) -> None:
    token = csrf_of(keyless.get("/").text)
    made = keyless.post("/record", data={"csrf": token, "title": "Queue backlog"})
    page = made.headers["location"]
    answer = keyless.post(
        page.split("?")[0] + "/causes", data={"csrf": token, "name": "x", "role": "villain"}
    )
    assert answer.status_code == 422
    assert "role" in answer.text and "villain" in answer.text
    assert keyless.get("/failures/no-such-failure").status_code == 404


def test_the_docs_page_uses_only_files_of_this_server(keyless: TestClient) -> None:
    html = keyless.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:
        assert keyless.get(source).status_code == 200, source
    page = keyless.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
