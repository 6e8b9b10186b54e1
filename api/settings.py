"""Settings of the HTTP API, read from the environment when asked for (never at import time).

API keys come from `LESSONS_API_KEYS`: comma-separated `scope:key` entries, where scope is
`read` or `write` (write may also read) and key is the secret itself (at least 16
characters) or `sha256:<64 hex digits>`, its SHA-256, so the configuration need not hold
the secret:

    LESSONS_API_KEYS="write:3f9c1e0b7a5d4c2e9f8a,read:sha256:9b74c9897bac770ffc029102a200c5de..."

Keys are kept only as SHA-256 digests and compared in constant time; they are never logged.

Incident tools that post webhooks (api/hooks.py) sign them with a secret of their own, one
per tool: `LESSONS_HOOK_SECRET_PAGERDUTY` (the V3 webhook subscription's secret) and
`LESSONS_HOOK_SECRET_INCIDENT_IO` (the endpoint's signing secret, `whsec_<base64>`). A tool
with no secret configured has every delivery refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from lessons.graph.errors import ConfigError
from lessons.graph.settings import Settings

DEFAULT_MAX_BODY_BYTES = 10 * 2**20
MIN_KEY_LENGTH = 16
_SHA256 = re.compile(r"^sha256:([0-9a-fA-F]{64})$")
PAGERDUTY_SECRET_VAR = "LESSONS_HOOK_SECRET_PAGERDUTY"
INCIDENT_IO_SECRET_VAR = "LESSONS_HOOK_SECRET_INCIDENT_IO"


class Scope(StrEnum):
    """What a key may do: `read` (GET) or `write` (everything)."""

    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class ApiKey:
    """One configured key: the SHA-256 of the secret and its scope."""

    digest: bytes = field(repr=False)
    scope: Scope


@dataclass(frozen=True)
class ApiSettings:
    """How the API serves: the store and model (`lessons`), keys, limits and CORS.

    - `api_keys`: from `LESSONS_API_KEYS` (see the module docstring); none means the API
      answers loopback clients only, with full rights.
    - `max_body_bytes`: `LESSONS_API_MAX_BODY_BYTES`, largest request body (default 10 MiB).
    - `cors_origins`: `LESSONS_API_CORS_ORIGINS`, comma-separated origins allowed to call
      the API from a browser; CORS is off when empty (the default).
    - `hook_secret_pagerduty`, `hook_secret_incident_io`: `LESSONS_HOOK_SECRET_PAGERDUTY` and
      `LESSONS_HOOK_SECRET_INCIDENT_IO`, what each tool signs its webhooks with; None
      refuses that tool's deliveries.
    """

    lessons: Settings
    api_keys: tuple[ApiKey, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cors_origins: tuple[str, ...] = ()
    hook_secret_pagerduty: str | None = field(default=None, repr=False)
    hook_secret_incident_io: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, store_url: str | None = None
    ) -> ApiSettings:
        """Settings from `environ` (default `os.environ`); `store_url` wins over the environment."""
        env = os.environ if environ is None else environ
        raw_limit = env.get("LESSONS_API_MAX_BODY_BYTES") or str(DEFAULT_MAX_BODY_BYTES)
        if not raw_limit.isdigit() or int(raw_limit) < 1024:
            raise ConfigError(
                f"LESSONS_API_MAX_BODY_BYTES={raw_limit!r} is not a number of bytes >= 1024"
            )
        origins = env.get("LESSONS_API_CORS_ORIGINS") or ""
        return cls(
            lessons=Settings.from_env(env, store_url=store_url),
            api_keys=parse_api_keys(env.get("LESSONS_API_KEYS") or ""),
            max_body_bytes=int(raw_limit),
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            hook_secret_pagerduty=_hook_secret(env, PAGERDUTY_SECRET_VAR),
            hook_secret_incident_io=_svix_secret(env, INCIDENT_IO_SECRET_VAR),
        )

    def scope_of(self, presented: str) -> Scope | None:
        """The scope of the key `presented`, or None if it is not a configured key.

        Every configured key is compared (in constant time), so the time taken does not say
        which key, or how much of one, matched.
        """
        return self.scope_of_digest(key_digest(presented))

    def scope_of_digest(self, digest: bytes) -> Scope | None:
        """The scope of the key whose SHA-256 is `digest` (a signed-in web session's)."""
        scopes = [key.scope for key in self.api_keys if hmac.compare_digest(digest, key.digest)]
        if Scope.WRITE in scopes:
            return Scope.WRITE
        return Scope.READ if scopes else None


def _hook_secret(env: Mapping[str, str], name: str) -> str | None:
    """The webhook signing secret in `name`, or None when it is not set."""
    return (env.get(name) or "").strip() or None


def _svix_secret(env: Mapping[str, str], name: str) -> str | None:
    """A Svix signing secret (`whsec_<base64>`) in `name`, or None; `ConfigError` if it is not
    one."""
    secret = _hook_secret(env, name)
    if secret is not None:
        try:
            svix_key(secret)
        except ValueError as e:
            raise ConfigError(
                f"{name} is not a signing secret: expected whsec_ followed by base64",
                hint="Copy the Signing secret from the tool's webhook endpoint settings as it is.",
            ) from e
    return secret


def svix_key(secret: str) -> bytes:
    """The HMAC key of a Svix signing secret: the base64 after `whsec_` (the prefix may be left
    out), decoded; `ValueError` if it is not base64 or empty."""
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)  # binascii.Error
    if not key:
        raise ValueError("an empty key")
    return key


def key_digest(key: str) -> bytes:
    """The SHA-256 of a key, as keys are kept."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def parse_api_keys(value: str) -> tuple[ApiKey, ...]:
    """`read:KEY,write:sha256:HEX` -> keys; raises `ConfigError` saying what is wrong."""
    keys = []
    for number, entry in enumerate((e.strip() for e in value.split(",")), start=1):
        if not entry:
            continue
        scope, _, secret = entry.partition(":")
        if scope not in (Scope.READ, Scope.WRITE) or not secret:
            raise ConfigError(
                f"LESSONS_API_KEYS entry {number} is not `read:KEY` or `write:KEY`",
                hint="Write each key as read:KEY or write:KEY, separated by commas.",
            )
        hashed = _SHA256.match(secret)
        if hashed:
            digest = bytes.fromhex(hashed.group(1))
        elif len(secret) < MIN_KEY_LENGTH:
            raise ConfigError(
                f"LESSONS_API_KEYS entry {number} has a key shorter than {MIN_KEY_LENGTH} "
                "characters",
                hint="Use a long random key, e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`.",
            )
        else:
            digest = hashlib.sha256(secret.encode()).digest()
        keys.append(ApiKey(digest=digest, scope=Scope(scope)))
    return tuple(keys)


def is_loopback(host: str | None) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, settings: ApiSettings) -> None:
    """Refuse to listen beyond loopback without API keys (raises `ConfigError`)."""
    if not settings.api_keys and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host} without API keys: anyone who can reach it could "
            "read and change the graph",
            hint="Set LESSONS_API_KEYS (e.g. write:<a long random key>), or listen on "
            "127.0.0.1 only.",
        )
