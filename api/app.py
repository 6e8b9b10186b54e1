"""The FastAPI application: `create_app(settings)` for tests and embedding, `app_from_env` for
uvicorn (`lessons serve`).

    from lessons.api.app import create_app
    from lessons.api.settings import ApiSettings
    app = create_app(ApiSettings.from_env())

OpenAPI is served at /openapi.json and its docs at /docs, the web page at /
(api/web/), the MCP server at /mcp (api/mcp_server.py); /healthz says the process is alive,
/readyz that the store answers and the model is loaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from lessons.api import hooks
from lessons.api.limits import BodySizeLimit
from lessons.api.mcp_server import mount_http
from lessons.api.problems import install_problem_handlers, problem_docs, problems_as_problem_json
from lessons.api.routes import router
from lessons.api.services import Services, StoreDep
from lessons.api.settings import ApiSettings
from lessons.api.uploads import ingest_schemas
from lessons.api.web import install_web
from lessons.graph.embeddings import Embedder
from lessons.graph.store import GraphStore

DESCRIPTION = """\
**Has this failed before, and what did we learn?** A knowledge graph of failures, their
causes, experiments, lessons and adopted practices.

Send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`: reads need a key with
`read` scope, changes one with `write` scope. Every error is `application/problem+json`
(RFC 9457): `type`, `title`, `status`, `detail`, `instance`, a `hint`, and `errors` listing
the fields that failed validation.
"""


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """The store answers and the embedding model is loaded."""

    status: Literal["ready"] = "ready"
    model: str
    dimension: int


def create_app(
    settings: ApiSettings,
    *,
    store: GraphStore | None = None,
    embedder: Embedder | None = None,
) -> FastAPI:
    """The API over the store and model `settings` name, or over the `store` and `embedder`
    given (which the app then uses but does not close)."""
    services = Services(settings.lessons, store=store, embedder=embedder)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(services.warm_up)
        async with serving_mcp(app):
            yield
        services.close()

    app = FastAPI(
        title="lessons",
        version=version("lessons"),
        description=DESCRIPTION,
        lifespan=lifespan,
        redirect_slashes=False,  # an id may end in "/": answer for it, do not redirect
        docs_url=None,  # served by install_web, with Swagger UI from the package
        redoc_url=None,  # ReDoc loads its logo from a CDN whatever its options say
    )
    app.state.settings = settings
    app.state.services = services
    install_problem_handlers(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> Health:
        """The process is alive (no store or model is touched)."""
        return Health()

    @app.get("/readyz", tags=["health"], responses=problem_docs(503))
    def readyz(store: StoreDep) -> Readiness:
        """The store answers and the embedding model is loaded (503 until both hold)."""
        store.ping()
        model = services.embedder
        return Readiness(model=model.model_name, dimension=model.dimension)

    app.include_router(router)
    app.include_router(hooks.router)
    serving_mcp = mount_http(app, services)
    install_web(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(ingest_schemas("#/components/schemas/{model}"))
            app.openapi_schema = problems_as_problem_json(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """The app configured from LESSONS_* environment variables (uvicorn's factory)."""
    return create_app(ApiSettings.from_env())
