"""A limit on the size of request bodies, checked before the app reads them."""

from __future__ import annotations

from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lessons.api.problems import PROBLEM_JSON, PROBLEM_TYPES, Problem

DISCARD_AT_MOST = 4  # times the limit: larger bodies are not read at all


class BodySizeLimit:
    """ASGI middleware: a body over `max_bytes` gets 413.

    A declared `Content-Length` over the limit is refused before anything is read; a body
    sent without one (chunked) is counted as it arrives and refused once it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._discard_body(receive, int(declared))
            await self._refuse(scope, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._detail())
            return message

        await self.app(scope, counted, send)

    async def _discard_body(self, receive: Receive, declared: int) -> None:
        """Read a moderately oversized body before answering, so the client, still sending,
        gets the 413 instead of a reset connection; a huge one is cut off unread."""
        if declared > DISCARD_AT_MOST * self.max_bytes:
            return
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    def _detail(self) -> str:
        return f"the request body is larger than the limit of {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, send: Send) -> None:
        problem = Problem(
            type=f"/problems/{PROBLEM_TYPES[413]}",
            title=HTTPStatus(413).phrase,
            status=413,
            detail=self._detail(),
            instance=scope["path"],
            hint="Send fewer or smaller documents per request.",
        )
        body = problem.model_dump_json().encode()
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
