"""API keys: who may read and who may write.

A key is sent as `Authorization: Bearer KEY` or `X-API-Key: KEY`. Reading (GET) needs a key
of either scope, writing needs a `write` key: a missing or unknown key is 401, a read key on
a write route 403. With no keys configured, only loopback clients are served (with every
right) and the rest get 403; `lessons serve` also refuses to listen beyond loopback then.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from lessons.api.settings import ApiSettings, Scope, is_loopback

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <key>`")

SEND_A_KEY = "send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`"


def caller_scope(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    header_key: Annotated[str | None, Depends(api_key_header)],
) -> Scope:
    """The scope of the caller's key (or of a loopback caller when no keys are configured)."""
    presented = credentials.credentials if credentials is not None else header_key
    return _scope_of(request, presented)


def _scope_of(request: Request, presented: str | None) -> Scope:
    settings: ApiSettings = request.app.state.settings
    if not settings.api_keys:
        refused = refused_without_keys(request)
        if refused:
            raise HTTPException(403, refused)
        return Scope.WRITE
    challenge = {"WWW-Authenticate": 'Bearer realm="lessons"'}
    if not presented:
        raise HTTPException(401, f"no API key: {SEND_A_KEY}", headers=challenge)
    scope = settings.scope_of(presented)
    if scope is None:
        raise HTTPException(401, "the API key is not valid", headers=challenge)
    return scope


def key_scope(request: Request) -> Scope:
    """The scope of the key a request presents in its headers; `HTTPException` 401 or 403
    if it may not be served (for routes that are not FastAPI's, like /mcp)."""
    return _scope_of(request, _presented_key(request))


def refused_without_keys(request: Request) -> str | None:
    """Why a server without keys refuses this caller (it serves loopback only), or None.
    The API and the web page both ask."""
    client = request.client.host if request.client else None
    if is_loopback(client):
        return None
    return (
        "this server has no API keys configured and serves loopback clients only; "
        "its operator must set LESSONS_API_KEYS"
    )


def require_read(scope: Annotated[Scope, Depends(caller_scope)]) -> Scope:
    """Any valid key may read."""
    return scope


def require_write(scope: Annotated[Scope, Depends(caller_scope)]) -> Scope:
    """Only a key with the `write` scope may write."""
    if scope is not Scope.WRITE:
        raise HTTPException(403, "this key may only read; changes need a key with `write` scope")
    return scope


class KeyCheckedRoute(APIRoute):
    """A route that checks the caller's key before FastAPI reads the request body, so a
    request without a valid key gets 401 or 403 whatever its body (FastAPI parses the body
    before it runs any dependency). `require_read` / `require_write` among the route's
    dependencies say which key it needs, and put the keys in the OpenAPI schema."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        needed = {d.dependency for d in self.dependencies}
        if not needed & {require_read, require_write}:
            return handler

        async def checked(request: Request) -> Response:
            scope = key_scope(request)
            if require_write in needed:
                require_write(scope)
            return await handler(request)

        return checked


def _presented_key(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return request.headers.get("x-api-key")
