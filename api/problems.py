"""One error shape for every 4xx and 5xx: RFC 9457 problem details (`application/problem+json`).

    {"type": "/problems/not-found", "title": "Not Found", "status": 404,
     "detail": "no node with id 'x'", "instance": "/v1/failures/x", "hint": "...",
     "errors": []}

`errors` lists the fields that failed validation (422), else it is empty. Domain errors map
to statuses by class: `NotFoundError` 404, `AlreadyExistsError` 409, `ValidationError` and
`ParseError` 422 (`UnknownReferenceError`, a request that names an id or cursor the store
does not have, is a 422 of type `/problems/unknown-reference`), `StoreUnavailableError` and
`EmbeddingError` 503 with `Retry-After`; anything unexpected is a 500 whose detail says
nothing about the server's insides (the log has the traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match

from lessons.graph.errors import (
    AlreadyExistsError,
    EmbeddingError,
    LessonsError,
    NotFoundError,
    ParseError,
    StoreUnavailableError,
    UnknownReferenceError,
    ValidationError,
)

log = logging.getLogger("lessons.api")

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5

# The `type` of each status: a relative URI reference, the same for every problem of a kind.
PROBLEM_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "content-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    500: "internal-error",
    503: "unavailable",
}

API_HINTS: dict[
    type[LessonsError], str
] = {  # what an API client can do (the domain errors' hints speak of the CLI)
    NotFoundError: "List ids with GET /v1/failures or find them with GET /v1/search.",
}


class FieldError(BaseModel):
    """One field that failed validation: where (`body.title`, `query.limit`) and why."""

    field: str
    message: str
    type: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    hint: str | None = None
    errors: list[FieldError] = []


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    hint: str | None = None,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
    kind: str | None = None,
) -> JSONResponse:
    """A problem+json response for `status`, of type `kind` (default: the status's own)."""
    problem = Problem(
        type=f"/problems/{kind or PROBLEM_TYPES.get(status, 'error')}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        hint=hint,
        errors=errors or [],
    )
    return JSONResponse(
        problem.model_dump(mode="json"),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def status_of(error: LessonsError) -> int:
    """The HTTP status a domain error maps to."""
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, AlreadyExistsError):
        return 409
    if isinstance(error, ValidationError | ParseError):
        return 422
    if isinstance(error, StoreUnavailableError | EmbeddingError):
        return 503
    return 500


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, LessonsError)
    status = status_of(error)
    if status == 500:
        log.error("%s on %s %s: %s", type(error).__name__, request.method, request.url.path, error)
        detail = "the server failed (a store or configuration error); its log says why"
        return problem_response(request, 500, detail)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    hint = API_HINTS.get(type(error), error.hint) or None
    kind = "unknown-reference" if isinstance(error, UnknownReferenceError) else None
    return problem_response(request, status, str(error), hint=hint, headers=headers, kind=kind)


def field_errors(errors: Any) -> list[FieldError]:
    """pydantic / FastAPI validation errors as `FieldError`s."""
    return [
        FieldError(
            field=".".join(str(part) for part in item.get("loc", ())) or "request",
            message=str(item.get("msg", "invalid")),
            type=str(item.get("type", "invalid")),
        )
        for item in errors
    ]


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = field_errors(error.errors())
    where = ", ".join(e.field for e in errors[:5])
    return problem_response(request, 422, f"the request is not valid: {where}", errors=errors)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 400:  # FastAPI could not read the body: bad input like any other
        detail = "the body cannot be read: send UTF-8 JSON (or multipart to /v1/ingest)"
        return problem_response(
            request,
            422,
            detail,
            errors=[FieldError(field="body", message=str(error.detail), type="body_unreadable")],
        )
    headers = error.headers
    if error.status_code == 405:  # Starlette names the methods of one matching route only
        allow = ", ".join(allowed_methods(request))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        headers = {**(headers or {}), "Allow": allow}
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    return problem_response(request, error.status_code, detail, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path, with HEAD and OPTIONS."""
    methods = {"OPTIONS"}
    for route in _leaf_routes(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _leaf_routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI wraps included routers
        if included is None:
            yield route
        else:
            yield from _leaf_routes(included.routes)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(request, 500, "an unexpected error; the server log has the details")


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error response a problem+json."""
    app.add_exception_handler(LessonsError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def problem_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses (shown as problem+json)."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase} for status in statuses
    }


def problems_as_problem_json(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare every 4xx/5xx response of an OpenAPI schema as `application/problem+json`."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if str(status)[0] in "45" and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    return schema
