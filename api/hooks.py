"""Inbound webhooks from incident tools: `POST /v1/hooks/{source}`, for `pagerduty` (V3
webhooks) and `incident-io`.

These routes take no API key (the tools cannot send one): the tool's signature over the raw
body is the authentication, checked in constant time against the secret configured for it
(api/settings.py). A tool with no secret is refused (403), a missing or wrong signature is
401, and so is an incident.io delivery signed more than 5 minutes from our clock (a replay).

A delivery about an incident imports the incident object as one JSON document through the
same pipeline and field maps as `POST /v1/ingest` (ingest/keymaps.py), named after the tool
and its incident id (`pagerduty-Q1W2E3.json`). That name fixes the document and the failure
id, so a delivery sent again changes nothing (`unchanged`) and a later event about the same
incident (resolved after triggered, a renamed incident) replaces the same failure. The
document keeps when the tool changed the incident (PagerDuty's `event.occurred_at`,
incident.io's `updated_at`), and a delivery of an older state (a retry after a timeout, or
deliveries out of order) is answered `older` and changes nothing.
Deliveries about anything else (a ping, a service, a note, a private incident) are answered
202 with why they were ignored, so the tool does not retry them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from lessons.api.problems import problem_docs
from lessons.api.services import Services, services
from lessons.api.settings import (
    INCIDENT_IO_SECRET_VAR,
    PAGERDUTY_SECRET_VAR,
    ApiSettings,
    svix_key,
)
from lessons.api.uploads import UploadSource, no_surrogates
from lessons.graph.errors import ValidationError
from lessons.graph.models import Document, RelType
from lessons.graph.store import GraphStore
from lessons.ingest import keymaps
from lessons.ingest.keymaps import KeyMap
from lessons.ingest.pipeline import FileStatus, ingest
from lessons.ingest.record import parse_datetime

router = APIRouter(prefix="/v1/hooks", tags=["hooks"])

# What the tools send, as their documentation says:
#
# PagerDuty V3 webhooks, https://developer.pagerduty.com/docs/webhooks-overview (source:
# github.com/PagerDuty/developer-docs, docs/webhooks/01-Overview.md): one event per delivery,
# `{"event": {"id", "event_type", "resource_type", "occurred_at", "agent", "client", "data"}}`;
# "The inner `event.data` payload differs based on the `event.event_type`": the incident
# (`"type": "incident"`) for incident.triggered, .acknowledged, .resolved..., but an
# `incident_note`, `incident_responder` or `incident_status_update` for incident.annotated,
# .responder.added, .status_update_published. The test delivery is `pagey.ping`
# (`"resource_type": "pagey"`, as PagerDuty sends it; the overview does not list it).
# Signatures (docs/webhooks/04-Signatures.md): the `X-PagerDuty-Signature` header "contains
# one or more signatures", "computed as an HMAC of the payload body using a SHA-256 hash
# function", hex ("Base16"), prefixed `v1=` and comma-separated during a secret rotation; "If
# at least one of the signatures matches" the delivery is authentic; "use a constant-time
# string comparison"; it "requires the unaltered raw body". Behaviour (02-Behavior.md): a 4xx
# other than 429 is dropped without a retry, 5xx and 429 are retried; delivery is at least
# once, so the same webhook may come twice.
#
# incident.io, https://docs.incident.io/api-reference/webhooks and
# https://api-docs.incident.io/tag/Webhooks: "Our webhooks are powered by Svix"; three headers,
# `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`
# (`v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=`), "an HMAC of
# $WEBHOOK_ID.$WEBHOOK_TIMESTAMP.$REQUEST_BODY"; a non-2xx answer is retried for 24 hours.
# Svix, https://docs.svix.com/receiving/verifying-payloads/how-manual: HMAC-SHA256 keyed by
# the base64-decoded part of the secret after `whsec_`, the base64 signatures "space
# delimited", each with its version; the raw body must not be changed; the timestamp is checked
# against a tolerance of 5 minutes (the Svix libraries' WEBHOOK_TOLERANCE_IN_SECONDS). Payloads
# (https://docs.incident.io/api-reference/..., one page per event, e.g.
# .../follow-up-v2/updated-public) put the object under a key named like the event: for an
# incident `{"event_type": "public_incident.incident_created_v2",
# "public_incident.incident_created_v2": {IncidentV2: id, name, summary, severity,
# incident_status, visibility, custom_field_entries, ...}}`, likewise `incident_updated_v2`;
# `private_incident.*` events carry only `{"id": ...}` (e.g.
# https://docs.incident.io/api-reference/action-v1/created-private). The page of
# `incident_status_updated_v2` was not found; receivers elsewhere read it as `{"incident":
# IncidentV2, "new_status", "previous_status"}`, so its `incident` is taken when it has one.

SIGNATURE_TOLERANCE_SECONDS = 5 * 60  # Svix's own: older or newer deliveries may be replays
INCIDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # in a failure id of <= 80
PAGERDUTY_HINT = f"is {PAGERDUTY_SECRET_VAR} the webhook subscription's secret?"
INCIDENT_IO_HINT = f"is {INCIDENT_IO_SECRET_VAR} the endpoint's signing secret?"
INCIDENT_IO_EVENTS = ("incident_created_v2", "incident_updated_v2", "incident_status_updated_v2")


class Ignored(BaseModel):
    """A delivery accepted but not imported: it is not about an incident we may import."""

    ignored: str


class HookImport(BaseModel):
    """What a delivery about an incident did to its failure: `imported`; `unchanged` when the
    incident is as it was last imported; `older` when the delivery is of a state older than
    the one imported (a retry, or deliveries out of order), which is kept."""

    source: str
    event_type: str
    incident_id: str
    status: Literal["imported", "unchanged", "older"]
    failure_ids: list[str]
    warnings: list[str] = []


@dataclass(frozen=True)
class Incident:
    """The incident a delivery is about: the tool's id for it, the object to import, and
    when the tool changed it to this state (if the delivery says)."""

    event_type: str
    id: str
    record: dict[str, Any]
    changed_at: datetime | None


Verifier = Callable[[str, Mapping[str, str], bytes, float], None]
Extractor = Callable[[dict[str, Any]], Incident | Ignored]


@dataclass(frozen=True)
class HookSource:
    """An incident tool that posts here: its secret, how it signs, where its incident is."""

    name: str
    secret_var: str
    secret: Callable[[ApiSettings], str | None]
    verify: Verifier
    incident: Extractor
    keymap: KeyMap


# -- signatures ------------------------------------------------------------------------------


def unauthorized(detail: str) -> HTTPException:
    """A 401 for a delivery whose signature does not prove it came from the tool."""
    return HTTPException(401, detail)


def pagerduty_signed(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Raise 401 unless one `v1=` signature of `X-PagerDuty-Signature` is the body's
    HMAC-SHA256 under `secret`, in hex (PagerDuty has no timestamp to check)."""
    header = headers.get("x-pagerduty-signature")
    if not header:
        raise unauthorized("no X-PagerDuty-Signature header: the delivery is not signed")
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    expected = f"v1={digest}".encode()
    sent = [s.strip().encode() for s in header.split(",")]
    if not any(hmac.compare_digest(expected, signature) for signature in sent):
        raise unauthorized(f"X-PagerDuty-Signature does not match the body ({PAGERDUTY_HINT})")


def incident_io_signed(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Raise 401 unless one `v1,` signature of `webhook-signature` is the base64 HMAC-SHA256
    of `{webhook-id}.{webhook-timestamp}.{body}` under the secret's key, and the timestamp
    is within 5 minutes of `now`."""
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    message_id, timestamp, header = (headers.get(name, "") for name in names)
    if not (message_id and timestamp and header):
        raise unauthorized(f"the delivery is not signed: send all of {', '.join(names)}")
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(svix_key(secret), signed, hashlib.sha256).digest())
    sent = [s.partition(",") for s in header.split()]
    signatures = [s.encode() for version, _, s in sent if version == "v1"]
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise unauthorized(f"webhook-signature does not match the delivery ({INCIDENT_IO_HINT})")
    sent_at = int(timestamp) if timestamp.isascii() and timestamp.isdigit() else None
    if sent_at is None or abs(now - sent_at) > SIGNATURE_TOLERANCE_SECONDS:
        raise unauthorized(
            f"webhook-timestamp {timestamp!r} is more than 5 minutes from the server's clock: "
            "a replayed delivery, or a clock that is wrong"
        )


# -- the incident in a payload ---------------------------------------------------------------


def pagerduty_incident(payload: dict[str, Any]) -> Incident | Ignored:
    """The incident of a V3 webhook (`event.data` of type `incident`), or why there is none."""
    event = payload.get("event")
    if not isinstance(event, dict):
        raise ValidationError("no `event` object: this is not a PagerDuty V3 webhook")
    event_type = str(event.get("event_type") or "")
    if event_type == "pagey.ping":
        return Ignored(ignored="pagey.ping: a test delivery, nothing to import")
    resource = event.get("resource_type")
    if resource != "incident":
        return Ignored(
            ignored=f"{event_type or 'the event'} is about a {resource}, not an incident"
        )
    data = event.get("data")
    if not isinstance(data, dict):
        raise ValidationError(f"{event_type or 'the event'} has no `event.data` object")
    if data.get("type") != "incident":
        kind = data.get("type")
        return Ignored(ignored=f"{event_type} carries {kind!r}, not the incident itself")
    changed_at = parse_datetime(event.get("occurred_at"))
    return Incident(event_type, incident_id(data), data, changed_at)


def incident_io_incident(payload: dict[str, Any]) -> Incident | Ignored:
    """The IncidentV2 of a public incident's created / updated / status-updated event, or why
    there is none."""
    event_type = payload.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise ValidationError("no `event_type`: this is not an incident.io webhook")
    visibility, _, kind = event_type.partition(".")
    if kind not in INCIDENT_IO_EVENTS:
        return Ignored(ignored=f"{event_type} is not an incident being created or updated")
    if visibility != "public_incident":
        return Ignored(ignored=f"{event_type}: only public incidents are imported, never private")
    body = payload.get(event_type)
    incident = body.get("incident") if isinstance(body, dict) and "incident" in body else body
    if not isinstance(incident, dict):
        raise ValidationError(f"{event_type} has no `{event_type}` incident object")
    if incident.get("visibility") == "private":
        return Ignored(ignored=f"{event_type}: a private incident is never imported")
    changed_at = parse_datetime(incident.get("updated_at"))
    return Incident(event_type, incident_id(incident), incident, changed_at)


def incident_id(incident: dict[str, Any]) -> str:
    """The tool's id of an incident object; `ValidationError` if it has none that is an id."""
    found = incident.get("id")
    text = str(found) if isinstance(found, str | int) and not isinstance(found, bool) else ""
    if not INCIDENT_ID.fullmatch(text):
        raise ValidationError(
            f"the incident's `id` ({found!r}) is not an id: up to 64 letters, digits, '.', '_' "
            "or '-'"
        )
    return text


HOOKS = {
    hook.name: hook
    for hook in (
        HookSource(
            name="pagerduty",
            secret_var=PAGERDUTY_SECRET_VAR,
            secret=lambda settings: settings.hook_secret_pagerduty,
            verify=pagerduty_signed,
            incident=pagerduty_incident,
            keymap=keymaps.PAGERDUTY,
        ),
        HookSource(
            name="incident-io",
            secret_var=INCIDENT_IO_SECRET_VAR,
            secret=lambda settings: settings.hook_secret_incident_io,
            verify=incident_io_signed,
            incident=incident_io_incident,
            keymap=keymaps.INCIDENT_IO,
        ),
    )
}


# -- the route -------------------------------------------------------------------------------

HOOK_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "the tool's webhook payload, exactly as it signed it",
            }
        }
    },
}


@router.post(
    "/{source}",
    response_model=HookImport,
    openapi_extra={"requestBody": HOOK_BODY},
    responses={
        202: {"model": Ignored, "description": "accepted, not about an incident to import"},
        **problem_docs(401, 403, 404, 413, 422, 503),
    },
)
async def receive_hook(
    request: Request,
    source: Annotated[str, Path(description="the tool: `pagerduty` or `incident-io`")],
) -> HookImport | JSONResponse:
    """A webhook from an incident tool: PagerDuty V3 (`X-PagerDuty-Signature`) or incident.io
    (`webhook-id`, `webhook-timestamp`, `webhook-signature`). No API key: the tool's signature
    is checked with the secret in LESSONS_HOOK_SECRET_PAGERDUTY or
    LESSONS_HOOK_SECRET_INCIDENT_IO (403 while it is not set, 401 when it does not match).

    An event about an incident imports it as the failure `<source>-<incident id>`, mapped
    like an import of the tool's export; the same delivery again is `unchanged`, and a later
    event about the incident updates that same failure. Other events are answered 202 with
    why they were ignored."""
    hook = hook_source(source)
    secret = configured_secret(hook, request.app.state.settings)
    body = await request.body()
    hook.verify(secret, request.headers, body, time.time())
    found = hook.incident(json_object(body))
    if isinstance(found, Ignored):
        return JSONResponse(found.model_dump(), status_code=202)
    return await run_in_threadpool(import_incident, services(request), hook, found)


def hook_source(name: str) -> HookSource:
    """The tool `name` in the path; 404 for one we do not take webhooks from."""
    hook = HOOKS.get(name)
    if hook is None:
        known = " or ".join(f"/v1/hooks/{n}" for n in HOOKS)
        raise HTTPException(404, f"no webhooks are taken from {name!r}: post to {known}")
    return hook


def configured_secret(hook: HookSource, settings: ApiSettings) -> str:
    """The tool's signing secret; 403 while none is configured, so nothing is taken unsigned."""
    secret = hook.secret(settings)
    if secret is None:
        raise HTTPException(
            403,
            f"webhooks from {hook.name} are refused: this server's operator must set "
            f"{hook.secret_var} to the secret the tool signs them with",
        )
    return secret


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; `ValidationError` (422) saying why it is not one."""
    try:
        payload = json.loads(body)
        no_surrogates(payload)
    except RecursionError as e:
        raise ValidationError("the body nests too deeply to be a webhook payload") from e
    except ValueError as e:  # not UTF-8, not JSON, or text that cannot be stored
        raise ValidationError(f"the body is not a JSON webhook payload: {e}") from e
    if not isinstance(payload, dict):
        raise ValidationError(f"the body is a JSON {type(payload).__name__}, not an object")
    return payload


def import_incident(found: Services, hook: HookSource, incident: Incident) -> HookImport:
    """Import the incident as the document `<source>-<id>.json` (see the module docstring),
    unless the one imported is of a later state; `ValidationError` (422) with the reason if
    the import refuses it."""
    document = incident_document(hook, incident)
    store = found.store
    if _imported_later(store, document):
        return HookImport(
            source=hook.name,
            event_type=incident.event_type,
            incident_id=incident.id,
            status="older",
            failure_ids=documented_failures(store, document),
        )
    report = ingest(
        store,
        found.embedder,
        [document],
        keymap=hook.keymap,
        max_document_mb=found.settings.max_document_mb,
    )
    result = report.results[0]
    if result.status is FileStatus.FAILED:
        raise ValidationError(f"the incident cannot be imported: {result.error}")
    return HookImport(
        source=hook.name,
        event_type=incident.event_type,
        incident_id=incident.id,
        status="imported" if result.status is FileStatus.IMPORTED else "unchanged",
        failure_ids=result.failure_ids or documented_failures(store, document),
        warnings=result.warnings,
    )


def _imported_later(store: GraphStore, document: UploadSource) -> bool:
    """True when the stored version of `document` is of a later state than this one: tools
    deliver at least once and not always in order, and an old state must not come back."""
    document_id = document.document_id("")
    stored = store.get_many([document_id]).get(document_id)
    return (
        isinstance(stored, Document)
        and stored.changed_at is not None
        and document.changed_at is not None
        and document.changed_at < stored.changed_at
    )


def documented_failures(store: GraphStore, document: UploadSource) -> list[str]:
    """The failures an earlier import of `document` wrote (an unchanged one is not read)."""
    edges = store.edges([document.document_id("")], [RelType.DOCUMENTED_IN])
    return sorted({edge.source for edge in edges})


def incident_document(hook: HookSource, incident: Incident) -> UploadSource:
    """The incident object as a JSON upload named after the tool and the incident's id, so
    every event about the incident is the same document (and the same failure id)."""
    data = json.dumps(incident.record, ensure_ascii=False, sort_keys=True).encode()
    name = f"{hook.name}-{incident.id}.json"
    return UploadSource(name=name, suffix=".json", data=data, changed_at=incident.changed_at)
