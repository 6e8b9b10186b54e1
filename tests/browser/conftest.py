"""The web page in a real browser: Debian's Chromium (`make browser` installs it) driven by
Playwright, against the app served by uvicorn on a loopback port.

Every page is opened with requests to any host but the server refused and recorded
(`site.outside`), so a page that would fetch a script or font from the internet fails its
test rather than waiting for a network the machine does not have.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from lessons.api.app import create_app
from lessons.api.settings import ApiSettings
from lessons.graph.embeddings import Embedder
from lessons.graph.store import GraphStore
from lessons.ingest.pipeline import discover, ingest
from tests.api.conftest import api_settings, serve

EXAMPLES = Path(__file__).parents[2] / "examples" / "postmortems"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_PATH = "/__tests__/axe.min.js"  # where pages load it from: a script of their own origin

# As the machines' probe starts it: no sandbox (tests run as root), and none of Chromium's own
# calls home, which this machine's closed network would refuse.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium from Debian's package."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Chromium is not installed: run `make browser` (Debian's chromium package)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@dataclass
class Site:
    """A served app, its store, and the browser page looking at it."""

    url: str
    store: GraphStore
    page: Page
    outside: list[str] = field(default_factory=list)  # requests to other hosts, refused
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions

    def open(self, path: str) -> Page:
        self.page.goto(self.url + path)
        return self.page


def import_examples(store: GraphStore, embedder: Embedder) -> None:
    """The repository's example postmortems, imported as `lessons ingest` would."""
    sources, problems = discover([str(EXAMPLES)])
    assert not problems
    assert ingest(store, embedder, sources).ok


@pytest.fixture
def make_site(browser: Browser, tmp_path: Path) -> Iterator[Callable[..., Site]]:
    """Serve an app over a store and open a fresh browser context on it."""
    opened: list[tuple[object, object]] = []

    def make(store: GraphStore, embedder: Embedder, settings: ApiSettings | None = None) -> Site:
        app = create_app(
            settings or api_settings(tmp_path, api_keys=()), store=store, embedder=embedder
        )
        server = serve(app)
        url = server.__enter__()
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        opened.append((server, context))
        site = Site(url=url, store=store, page=context.new_page())

        def only_this_server(route: Route) -> None:
            if route.request.url == url + AXE_PATH:  # axe-core, as if the server had it
                route.fulfill(body=AXE.read_bytes(), content_type="text/javascript")
            elif route.request.url.startswith(url):
                route.continue_()
            else:
                site.outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_this_server)
        site.page.on("console", lambda m: site.errors.append(m.text) if m.type == "error" else None)
        site.page.on("pageerror", lambda e: site.errors.append(str(e)))
        return site

    yield make
    for server, context in reversed(opened):
        context.close()  # type: ignore[attr-defined]
        server.__exit__(None, None, None)  # type: ignore[attr-defined]


@pytest.fixture
def site(make_site: Callable[..., Site], sqlite_store: GraphStore, fast_embedder: Embedder) -> Site:
    """The example postmortems in a SQLite store, served without keys (loopback)."""
    import_examples(sqlite_store, fast_embedder)
    return make_site(sqlite_store, fast_embedder)


def axe_violations(page: Page) -> list[str]:
    """What axe-core finds against WCAG 2.1 A and AA on the page as it stands."""
    page.add_script_tag(url=AXE_PATH)
    found = page.evaluate(
        """async () => {
            const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
            const result = await axe.run(document, {runOnly: tags});
            return result.violations.map(
                v => `${v.id}: ${v.help} (${v.nodes.length}): ${v.nodes[0].html}`);
        }"""
    )
    return list(found)
