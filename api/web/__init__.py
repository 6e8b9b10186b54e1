"""The web page served by `lessons serve` at `/`, beside the API (`/v1`) and its docs.

`install_web(app)` adds the pages (pages.py), the sign-in sessions (auth.py), the static
files (static/, with the front-end libraries vendored from npm: vendor.txt) and the API docs
pages, whose scripts are served from the package too, so nothing is fetched from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lessons.api.web.auth import Sessions
from lessons.api.web.pages import router

STATIC = Path(__file__).parent / "static"
VENDOR = "/static/vendor"

# Pages run only their own scripts (Cytoscape.js adds an inline stylesheet, so inline styles
# are let through); the docs pages need Swagger UI's inline script and are left out.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def install_web(app: FastAPI) -> None:
    """Serve the web page, its static files and the API docs from `app`."""
    app.state.sessions = Sessions()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui.css",
            swagger_favicon_url=f"{VENDOR}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},  # else it asks validator.swagger.io
        )

    app.add_middleware(PageHeaders)


class PageHeaders:
    """ASGI middleware: HTML answers say what the browser may load and send
    (`Content-Security-Policy`, except for /docs), and not to sniff types or leak paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("X-Content-Type-Options", "nosniff")
                    headers.setdefault("Referrer-Policy", "same-origin")
                    if scope["path"] != "/docs":
                        headers.setdefault("Content-Security-Policy", PAGE_POLICY)
            await send(message)

        await self.app(scope, receive, with_headers)
