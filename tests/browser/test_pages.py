"""Every page in the browser: signing in with read and write keys, a hostile document, an
empty store, a store on Neo4j, the API docs without internet, imports, the keyboard, and
axe-core's accessibility checks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lessons.graph.embeddings import Embedder
from lessons.graph.models import Label
from lessons.graph.store import GraphStore
from lessons.graph.store.neo4j import Neo4jStore
from tests.api.conftest import READ_KEY, WRITE_KEY, api_settings
from tests.conftest import Neo4jTarget, wipe_neo4j

from .conftest import Site, axe_violations, import_examples
from .test_phases import shot

PAGES = [
    "/",
    "/failures",
    "/causes",
    "/practices",
    "/components",
    "/search?q=timeout",
    "/search?q=database+connections&type=cause",
    "/learning",
    "/import",
]


def test_every_page_passes_axe_and_fetches_nothing_from_outside(site: Site) -> None:
    failure = site.open("/failures").locator("table a").first.get_attribute("href")
    cause = site.open("/causes").locator("table a").first.get_attribute("href")
    for path in [*PAGES, failure, cause]:
        page = site.open(str(path))
        assert axe_violations(page) == [], path
    hits = site.open("/search?q=connection+pool+exhausted&type=cause").locator(".matches > li > a")
    expect(hits.first).to_have_attribute("href", re.compile("^/causes/"))
    shot(site.page, "search")
    shot(site.open("/failures"), "failures")
    shot(site.open(str(cause)), "cause")
    assert not site.outside and not site.errors


def test_the_api_docs_render_without_internet(site: Site) -> None:
    page = site.open("/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
    expect(page.locator(".opblock-summary-path", has_text="/v1/recognize")).to_be_visible()
    assert site.outside == []


def test_sign_in_with_a_read_key_sees_and_a_write_key_changes(
    make_site: Callable[..., Site],
    sqlite_store: GraphStore,
    fast_embedder: Embedder,
    tmp_path: Path,
) -> None:
    import_examples(sqlite_store, fast_embedder)
    site = make_site(sqlite_store, fast_embedder, api_settings(tmp_path))
    page = site.open("/failures")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "sign-in")
    page.get_by_label("API key").fill("not-a-key-of-this-server")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    page.get_by_label("API key").fill(READ_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Failures")).to_be_visible()  # back where it was
    cookie = next(c for c in page.context.cookies() if c["name"] == "lessons_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert READ_KEY not in cookie["value"]
    page.locator("table a").first.click()
    expect(page.get_by_text("Record an experiment")).to_have_count(0)  # no forms to change
    page.goto(site.url + "/")
    page.get_by_label("What is breaking?").fill("database connections exhausted")
    page.get_by_role("button", name="Recognize").click()
    expect(page.locator(".match").first).to_be_visible()
    expect(page.get_by_role("button", name="Record as a new failure")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API key").fill(WRITE_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.goto(site.url + "/failures")
    page.locator("table a").first.click()
    expect(page.get_by_text("Record an experiment")).to_be_visible()
    assert not site.outside


def test_a_document_with_script_shows_as_text(
    make_site: Callable[..., Site],
    sqlite_store: GraphStore,
    fast_embedder: Embedder,
    tmp_path: Path,
) -> None:
    hostile = tmp_path / "hostile.json"  # JSON keeps markup as the text it is
    hostile.write_text(
        json.dumps(
            {
                "id": "2024-05-01-hostile",
                "title": "Outage <script>window.pwned = 1</script>",
                "date": "2024-05-01",
                "summary": 'It failed <img src=x onerror="window.pwned = 2"> and '
                "</script><script>window.pwned = 3</script> more.",
                "causes": ["<iframe src=javascript:window.pwned=4>"],
            }
        )
    )
    site = make_site(sqlite_store, fast_embedder)
    page = site.open("/import")
    page.get_by_label("Postmortem files").set_input_files(str(hostile))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("tr.file-imported")).to_have_count(1)
    page.locator("tr.file-imported a").first.click()
    expect(page.locator("h1")).to_contain_text("<script>window.pwned = 1</script>")
    expect(
        page.get_by_text("</script><script>window.pwned = 3</script>", exact=False)
    ).to_be_visible()
    page.wait_for_selector("#graph[data-ready]", state="attached")
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script:not([src]):not([type='application/json'])").count() == 0
    assert not site.errors


def test_an_import_reports_each_document_and_a_merge_can_be_undone(
    make_site: Callable[..., Site],
    sqlite_store: GraphStore,
    fast_embedder: Embedder,
    tmp_path: Path,
) -> None:
    first = tmp_path / "first.md"
    first.write_text(
        "# Payments API down\n\nDate: 2024-01-10\n\n## Summary\n\nPayments failed.\n\n"
        "## Root cause\n\n- Database connection pool exhausted\n"
    )
    second = tmp_path / "second.md"
    second.write_text(
        "# Checkout API down\n\nDate: 2024-02-10\n\n## Summary\n\nCheckout failed.\n\n"
        "## Root cause\n\n- Database connection-pool exhaustion\n"
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"title": "half a record",')
    site = make_site(sqlite_store, fast_embedder)
    page = site.open("/import")
    page.get_by_label("Postmortem files").set_input_files(str(first))
    page.get_by_role("button", name="Import").click()
    page.get_by_label("Postmortem files").set_input_files([str(second), str(broken)])
    page.get_by_role("button", name="Import").click()
    expect(page.locator("tr.file-imported")).to_have_count(1)
    failed = page.locator("tr.file-failed")
    expect(failed).to_contain_text("broken.json:1")
    shot(page, "import")
    merge = page.locator("li", has_text="Database connection-pool exhaustion")
    expect(merge).to_contain_text("was taken as Database connection pool exhausted")
    merge.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("is now an entity of its own")
    names = {n.name for n in sqlite_store.list_nodes(Label.CAUSE, limit=100)}  # type: ignore[attr-defined]
    assert {"Database connection pool exhausted", "Database connection-pool exhaustion"} <= names


def test_an_empty_store_says_where_to_start(
    make_site: Callable[..., Site], sqlite_store: GraphStore, fast_embedder: Embedder
) -> None:
    site = make_site(sqlite_store, fast_embedder)
    expect(site.open("/failures").get_by_text("No failure is on record yet")).to_be_visible()
    page = site.open("/")
    page.get_by_label("What is breaking?").fill("the queue is backing up")
    page.get_by_role("button", name="Recognize").click()
    expect(page.locator(".verdict")).to_contain_text("nothing like it is on record")
    for path in ["/learning", "/causes", "/search?q=queue"]:
        site.open(path)
        assert axe_violations(site.page) == [], path
    assert not site.errors


def test_the_keyboard_reaches_and_sends_the_recognize_form(site: Site) -> None:
    page = site.open("/")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "description":
            break
    else:
        pytest.fail("Tab never reached the description box")
    page.keyboard.type("checkout timeouts after a deploy")
    page.keyboard.press("Tab")  # the "More" details
    page.keyboard.press("Tab")  # the Recognize button
    page.keyboard.press("Enter")
    expect(page.locator(".verdict")).to_be_visible()


def test_the_pages_work_on_neo4j(
    make_site: Callable[..., Site], neo4j_server: Neo4jTarget, fast_embedder: Embedder
) -> None:
    wipe_neo4j(neo4j_server)
    store = Neo4jStore(neo4j_server.uri, user=neo4j_server.user, password=neo4j_server.password)
    import_examples(store, fast_embedder)
    site = make_site(store, fast_embedder)
    page = site.open("/")
    page.get_by_label("What is breaking?").fill("TLS certificate expired on the public API")
    page.get_by_role("button", name="Recognize").click()
    expect(page.locator(".match").first).to_be_visible()
    page.locator(".match h3 a").first.click()
    expect(page.locator("#graph[data-ready]")).to_be_attached()
    page.get_by_text("Record a lesson").click()
    page.get_by_label("Lesson", exact=True).fill("Alert thirty days before a certificate expires")
    page.get_by_role("button", name="Save lesson").click()
    expect(page.locator("#lessons + ul")).to_contain_text("Alert thirty days before")
    site.open("/learning")
    assert not site.outside and not site.errors
    store.close()
