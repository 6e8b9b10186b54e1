"""Who may see and change the web page: the API's keys, held in a signed session cookie.

- Without API keys the page, like the API, serves loopback clients only, with every right.
- With keys, a person signs in once with a key (`/sign-in`). The cookie then holds the key's
  SHA-256 (never the key) and a CSRF token, signed with HMAC-SHA256. Each request checks the
  digest is still a configured key, so removing a key signs its sessions out; a read key
  sees, a write key changes.
- The cookie is HttpOnly and SameSite=Strict (Secure over https), and lasts `SESSION_SECONDS`.
  It is signed with `LESSONS_WEB_SECRET`, or with a random secret per process when that is
  unset (sign-ins then last until the server restarts).
- Every form carries the session's CSRF token and every POST checks it, and refuses a request
  a browser marks as cross-site (`Sec-Fetch-Site`, or an `Origin` of another host), so another
  site cannot make a signed-in browser (or a loopback one) change the graph.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from fastapi import Request, Response

from lessons.api.security import refused_without_keys
from lessons.api.settings import ApiSettings, Scope, key_digest

COOKIE = "lessons_session"
SESSION_SECONDS = 12 * 3600


class SignInRequired(Exception):
    """The page needs a signed-in key (the handler redirects to /sign-in)."""


class Forbidden(Exception):
    """The caller may not do this (the handler answers 403 with `reason`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Visitor:
    """Who is looking at the page: their scope (None before sign-in) and CSRF token."""

    scope: Scope | None
    csrf: str
    key_digest: str | None = None  # hex SHA-256 of the signed-in key
    needs_sign_in: bool = False  # keys are configured (so signing out makes sense)

    @property
    def can_write(self) -> bool:
        return self.scope is Scope.WRITE

    def with_csrf(self) -> Visitor:
        """This visitor, given a CSRF token if it has none yet (then `save` it)."""
        return self if self.csrf else replace(self, csrf=secrets.token_urlsafe(24))


class Sessions:
    """Signs and reads the session cookie."""

    def __init__(self, secret: str | None = None) -> None:
        secret = secret or os.environ.get("LESSONS_WEB_SECRET") or secrets.token_hex(32)
        self._key = hashlib.sha256(b"lessons web session\0" + secret.encode()).digest()

    def visitor(self, request: Request) -> Visitor:
        """The visitor of `request`; raises `Forbidden` for a non-loopback caller of a server
        without keys."""
        settings: ApiSettings = request.app.state.settings
        payload = self._read(request.cookies.get(COOKIE, ""))
        csrf = payload.get("csrf") or ""
        if not settings.api_keys:
            refused = refused_without_keys(request)
            if refused:
                raise Forbidden(refused)
            return Visitor(scope=Scope.WRITE, csrf=csrf)
        digest = payload.get("key")
        scope = _scope_of_hex(settings, digest) if digest else None
        return Visitor(
            scope=scope, csrf=csrf, key_digest=digest if scope else None, needs_sign_in=True
        )

    def sign_in(self, request: Request, response: Response, key: str) -> Scope | None:
        """Check `key` and, if it is configured, start a session for it; its scope or None."""
        settings: ApiSettings = request.app.state.settings
        scope = settings.scope_of(key)
        if scope is not None:  # a new session, with a new CSRF token
            session = Visitor(scope, csrf="", key_digest=key_digest(key).hex()).with_csrf()
            self.save(request, response, session)
        return scope

    def sign_out(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/")

    def save(self, request: Request, response: Response, visitor: Visitor) -> None:
        """Give `visitor`'s session (its CSRF token, and key if signed in) to the browser."""
        key = {"key": visitor.key_digest} if visitor.key_digest else {}
        self._write(request, response, {"csrf": visitor.csrf} | key)

    def _write(self, request: Request, response: Response, payload: dict[str, str]) -> None:
        body = json.dumps(payload | {"exp": int(time.time()) + SESSION_SECONDS}).encode()
        value = _b64(body) + "." + _b64(hmac.new(self._key, body, hashlib.sha256).digest())
        response.set_cookie(
            COOKIE,
            value,
            max_age=SESSION_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def _read(self, cookie: str) -> dict[str, str]:
        body_part, _, signature = cookie.partition(".")
        try:
            body, mac = _unb64(body_part), _unb64(signature)
        except (binascii.Error, ValueError):
            return {}
        if not hmac.compare_digest(mac, hmac.new(self._key, body, hashlib.sha256).digest()):
            return {}
        try:
            payload = json.loads(body)
        except ValueError:
            return {}
        if not isinstance(payload, dict) or payload.get("exp", 0) < time.time():
            return {}
        return {k: v for k, v in payload.items() if k in ("key", "csrf") and isinstance(v, str)}


def check_form(request: Request, visitor: Visitor, token: str, *, needs: Scope | None) -> None:
    """Refuse a cross-site POST or a wrong CSRF token, and a visitor without the scope
    `needs` (None: the sign-in form, which anyone may send)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("this form was sent from another site; open the page and send it again")
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden("this form was sent from another site; open the page and send it again")
    if not visitor.csrf or not hmac.compare_digest(visitor.csrf.encode(), token.encode()):
        raise Forbidden("this form has expired; reload the page and send it again")
    if needs is None:
        return
    if visitor.needs_sign_in and visitor.scope is None:
        raise SignInRequired
    if needs is Scope.WRITE and not visitor.can_write:
        raise Forbidden("your key may only read; changes need a key with `write` scope")


def _scope_of_hex(settings: ApiSettings, digest_hex: str) -> Scope | None:
    try:
        return settings.scope_of_digest(bytes.fromhex(digest_hex))
    except ValueError:
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
