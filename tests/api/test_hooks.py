"""Webhooks from PagerDuty and incident.io through the real app on loopback: signed as the
tools sign them (computed here, from their documentation), imported through the import
pipeline, idempotent per incident, and refused when unsigned, badly signed or stale.

Only the idempotence test runs on both stores (Neo4j is slow); the HTTP rules run on SQLite.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.exceptions import HTTPException

from lessons.api.app import create_app
from lessons.api.hooks import incident_io_signed, pagerduty_signed
from lessons.api.settings import ApiSettings
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.errors import ConfigError
from lessons.graph.store import GraphStore

from .conftest import Api, api_settings, clients, serve

REPO = Path(__file__).resolve().parents[2]
HOOKS = REPO / "tests" / "data" / "hooks"
PD_TRIGGERED = HOOKS / "pagerduty-incident-triggered.json"
PD_RESOLVED = HOOKS / "pagerduty-incident-resolved.json"
PD_ANNOTATED = HOOKS / "pagerduty-incident-annotated.json"
PD_PING = HOOKS / "pagerduty-ping.json"
IIO_CREATED = HOOKS / "incident-io-incident-created.json"
IIO_UPDATED = HOOKS / "incident-io-incident-updated.json"
IIO_PRIVATE = HOOKS / "incident-io-private-incident-created.json"

PD_SECRET = "pd-webhook-subscription-secret-0123456789"
IIO_KEY = b"incident.io endpoint signing key"
IIO_SECRET = "whsec_" + base64.b64encode(IIO_KEY).decode()
PD_FAILURE = "pagerduty-q3xk7t9zr2m4pa"
IIO_FAILURE = "incident-io-01hrz8k4q2w7n3t6v9b5c1d0ef"

SQLITE_ONLY = pytest.mark.parametrize("store", ["sqlite"], indirect=True)


@pytest.fixture
def embedder(fast_embedder: CachingEmbedder) -> CachingEmbedder:
    """Webhooks do not depend on what texts mean (tests/hashing_embedder.py serves)."""
    return fast_embedder


def hooked_settings(tmp_path: Path, **overrides: object) -> ApiSettings:
    """The test settings with both tools' secrets (unless overridden)."""
    secrets: dict[str, object] = {
        "hook_secret_pagerduty": PD_SECRET,
        "hook_secret_incident_io": IIO_SECRET,
    }
    return api_settings(tmp_path, **{**secrets, **overrides})


@pytest.fixture
def api(store: GraphStore, embedder: CachingEmbedder, tmp_path: Path) -> Iterator[Api]:
    """The API with both tools' secrets configured, over an empty store."""
    app = create_app(hooked_settings(tmp_path), store=store, embedder=embedder)
    with serve(app) as url, clients(url) as running:
        yield running


def pagerduty_signature(body: bytes, secret: str = PD_SECRET) -> str:
    """`v1=<hex HMAC-SHA256 of the body>`, as PagerDuty signs V3 webhooks."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_pagerduty(api: Api, body: bytes, signature: str | None = None) -> httpx.Response:
    """Post `body` as PagerDuty would, signed with the test secret unless told otherwise;
    without an API key, as PagerDuty has none."""
    headers = {"Content-Type": "application/json"}
    headers["X-PagerDuty-Signature"] = signature or pagerduty_signature(body)
    return api.anonymous.post("/v1/hooks/pagerduty", content=body, headers=headers)


def incident_io_headers(
    body: bytes, *, sent_at: float | None = None, key: bytes = IIO_KEY
) -> dict[str, str]:
    """The Svix headers incident.io sends: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""
    message_id = "msg_" + hashlib.sha256(body).hexdigest()[:24]
    timestamp = str(int(time.time() if sent_at is None else sent_at))
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"v1,{signature}",
        "Content-Type": "application/json",
    }


def send_incident_io(api: Api, body: bytes, **signing: Any) -> httpx.Response:
    """Post `body` as incident.io would, signed now with the test key unless told otherwise."""
    headers = incident_io_headers(body, **signing)
    return api.anonymous.post("/v1/hooks/incident-io", content=body, headers=headers)


def failure_count(api: Api) -> int:
    items: list[Any] = api.read.get("/v1/failures", params={"limit": 100}).json()["items"]
    return len(items)


def failure(api: Api, failure_id: str) -> dict[str, Any]:
    response = api.read.get(f"/v1/failures/{failure_id}")
    assert response.status_code == 200, response.text
    context: dict[str, Any] = response.json()
    return context


def assert_problem(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    for word in words:
        assert word in problem["detail"], problem
    return problem


# -- both stores ------------------------------------------------------------------------------


def test_a_pagerduty_incident_is_one_failure_whatever_is_delivered_again(api: Api) -> None:
    triggered = send_pagerduty(api, PD_TRIGGERED.read_bytes())
    assert triggered.status_code == 200, triggered.text
    assert triggered.json() == {
        "source": "pagerduty",
        "event_type": "incident.triggered",
        "incident_id": "Q3XK7T9ZR2M4PA",
        "status": "imported",
        "failure_ids": [PD_FAILURE],
        "warnings": ["no summary; the title is used as the summary"],
    }
    context = failure(api, PD_FAILURE)
    assert context["failure"]["title"] == "Orders DB replica lag above 300s"
    assert context["failure"]["status"] == "triggered"
    assert context["failure"]["severity"] == "P2"
    assert context["components"] == ["Orders Database"]
    assert context["team"] == "Data Platform"
    assert failure_count(api) == 1

    again = send_pagerduty(api, PD_TRIGGERED.read_bytes())  # PagerDuty delivers at least once
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "unchanged"
    assert again.json()["failure_ids"] == [PD_FAILURE]
    assert failure_count(api) == 1

    resolved = send_pagerduty(api, PD_RESOLVED.read_bytes())
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["failure_ids"]) == ("imported", [PD_FAILURE])
    assert failure(api, PD_FAILURE)["failure"]["status"] == "resolved"
    assert failure_count(api) == 1

    # A retry of the first delivery (its answer timed out) arrives after the resolution.
    late = send_pagerduty(api, PD_TRIGGERED.read_bytes())
    assert late.status_code == 200, late.text
    assert (late.json()["status"], late.json()["failure_ids"]) == ("older", [PD_FAILURE])
    assert failure(api, PD_FAILURE)["failure"]["status"] == "resolved"
    assert failure_count(api) == 1


# -- SQLite only ------------------------------------------------------------------------------


@SQLITE_ONLY
def test_an_incident_io_incident_renamed_and_resolved_stays_one_failure(api: Api) -> None:
    created = send_incident_io(api, IIO_CREATED.read_bytes())
    assert created.status_code == 200, created.text
    assert created.json()["failure_ids"] == [IIO_FAILURE]
    context = failure(api, IIO_FAILURE)
    assert context["failure"]["title"] == "Card payments declined in EU"
    assert context["failure"]["status"] == "Investigating"
    assert context["failure"]["severity"] == "Major"
    assert context["failure"]["occurred_at"].startswith("2024-04-09T14:07:00")  # Impact started
    assert context["components"] == ["payments-gateway"]

    assert send_incident_io(api, IIO_CREATED.read_bytes()).json()["status"] == "unchanged"

    updated = send_incident_io(api, IIO_UPDATED.read_bytes())
    assert updated.status_code == 200, updated.text
    assert (updated.json()["status"], updated.json()["failure_ids"]) == ("imported", [IIO_FAILURE])
    context = failure(api, IIO_FAILURE)
    assert context["failure"]["title"].endswith("after payments-gateway deploy")  # renamed
    assert context["failure"]["status"] == "Resolved"
    assert "Rolled back at 14:49" in context["failure"]["summary"]
    assert failure_count(api) == 1

    out_of_order = send_incident_io(api, IIO_CREATED.read_bytes())  # incident.io: may happen
    assert out_of_order.json()["status"] == "older"
    assert failure(api, IIO_FAILURE)["failure"]["status"] == "Resolved"


@SQLITE_ONLY
def test_a_bad_signature_is_401_and_writes_nothing(api: Api) -> None:
    body = PD_TRIGGERED.read_bytes()
    wrong_secret = send_pagerduty(api, body, signature=pagerduty_signature(body, "other-secret"))
    assert_problem(wrong_secret, 401, "X-PagerDuty-Signature does not match")
    tampered = send_pagerduty(
        api, body.replace(b"300s", b"900s"), signature=pagerduty_signature(body)
    )
    assert_problem(tampered, 401)
    unsigned = api.anonymous.post("/v1/hooks/pagerduty", content=body)
    assert_problem(unsigned, 401, "no X-PagerDuty-Signature")

    iio_body = IIO_CREATED.read_bytes()
    wrong_key = send_incident_io(api, iio_body, key=b"not the endpoint's key")
    assert_problem(wrong_key, 401, "webhook-signature does not match")
    unsigned = api.anonymous.post("/v1/hooks/incident-io", content=iio_body)
    assert_problem(unsigned, 401, "webhook-id", "webhook-signature")
    assert failure_count(api) == 0


@SQLITE_ONLY
def test_a_signature_among_several_during_a_secret_rotation_is_enough(api: Api) -> None:
    body = PD_TRIGGERED.read_bytes()
    rotating = f"{pagerduty_signature(body, 'the-old-secret')},{pagerduty_signature(body)}"
    assert send_pagerduty(api, body, signature=rotating).status_code == 200

    iio_body = IIO_CREATED.read_bytes()
    headers = incident_io_headers(iio_body)
    old = incident_io_headers(iio_body, key=b"the old key")["webhook-signature"]
    headers["webhook-signature"] = f"{old} {headers['webhook-signature']}"
    assert api.anonymous.post("/v1/hooks/incident-io", content=iio_body, headers=headers).is_success


@SQLITE_ONLY
def test_an_incident_io_delivery_signed_more_than_5_minutes_ago_is_a_replay(api: Api) -> None:
    body = IIO_CREATED.read_bytes()
    stale = send_incident_io(api, body, sent_at=time.time() - 6 * 60)
    assert_problem(stale, 401, "more than 5 minutes")
    early = send_incident_io(api, body, sent_at=time.time() + 6 * 60)
    assert_problem(early, 401, "more than 5 minutes")
    assert failure_count(api) == 0
    assert send_incident_io(api, body, sent_at=time.time() - 4 * 60).status_code == 200


@SQLITE_ONLY
def test_a_tool_without_a_secret_is_refused(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    settings = hooked_settings(tmp_path, hook_secret_pagerduty=None, hook_secret_incident_io=None)
    app = create_app(settings, store=store, embedder=embedder)
    with serve(app) as url, clients(url) as api:
        body = PD_TRIGGERED.read_bytes()
        refused = send_pagerduty(api, body)
        assert_problem(refused, 403, "LESSONS_HOOK_SECRET_PAGERDUTY")
        refused = send_incident_io(api, IIO_CREATED.read_bytes())
        assert_problem(refused, 403, "LESSONS_HOOK_SECRET_INCIDENT_IO")
        assert failure_count(api) == 0


@SQLITE_ONLY
def test_events_not_about_an_incident_to_import_are_accepted_and_ignored(api: Api) -> None:
    ping = send_pagerduty(api, PD_PING.read_bytes())
    assert ping.status_code == 202 and "pagey.ping" in ping.json()["ignored"]
    note = send_pagerduty(api, PD_ANNOTATED.read_bytes())
    assert note.status_code == 202 and "incident_note" in note.json()["ignored"]
    service = json.dumps(
        {"event": {"event_type": "service.updated", "resource_type": "service", "data": {}}}
    ).encode()
    assert send_pagerduty(api, service).status_code == 202

    private = send_incident_io(api, IIO_PRIVATE.read_bytes())
    assert private.status_code == 202 and "private" in private.json()["ignored"]
    follow_up = json.dumps(
        {
            "event_type": "public_incident.follow_up_created_v2",
            "public_incident.follow_up_created_v2": {"id": "01F", "title": "Add an alert"},
        }
    ).encode()
    assert send_incident_io(api, follow_up).status_code == 202
    assert failure_count(api) == 0


@SQLITE_ONLY
def test_a_malformed_delivery_is_a_problem_not_a_server_error(api: Api) -> None:
    assert_problem(send_pagerduty(api, b"{not json"), 422, "not a JSON webhook payload")
    assert_problem(send_pagerduty(api, b"[1, 2]"), 422, "JSON list, not an object")
    assert_problem(send_pagerduty(api, b'{"incident": {}}'), 422, "not a PagerDuty V3 webhook")
    no_id = json.loads(PD_TRIGGERED.read_bytes())
    del no_id["event"]["data"]["id"]
    assert_problem(send_pagerduty(api, json.dumps(no_id).encode()), 422, "`id`")
    no_title = json.loads(PD_TRIGGERED.read_bytes())
    del no_title["event"]["data"]["title"]
    problem = assert_problem(send_pagerduty(api, json.dumps(no_title).encode()), 422)
    assert "nothing here describes a failure" in problem["detail"]
    deep = b'{"event": ' * 50_000 + b"{}" + b"}" * 50_000
    assert_problem(send_pagerduty(api, deep), 422, "nests too deeply")

    assert_problem(send_incident_io(api, b'{"name": "x"}'), 422, "no `event_type`")
    empty = b'{"event_type": "public_incident.incident_created_v2"}'
    assert_problem(send_incident_io(api, empty), 422, "no `public_incident")
    assert failure_count(api) == 0


@SQLITE_ONLY
def test_an_unknown_tool_is_404_and_no_api_key_is_needed(api: Api) -> None:
    unknown = api.anonymous.post("/v1/hooks/opsgenie", content=PD_TRIGGERED.read_bytes())
    assert_problem(unknown, 404, "/v1/hooks/pagerduty", "/v1/hooks/incident-io")
    operation = api.read.get("/openapi.json").json()["paths"]["/v1/hooks/{source}"]["post"]
    assert "security" not in operation
    assert {"200", "202", "401", "403", "404", "422"} <= set(operation["responses"])


# -- the signatures alone ---------------------------------------------------------------------


def test_the_incident_io_check_accepts_the_documented_example() -> None:
    """The headers in incident.io's webhook docs (`v1,g0hM9SsE...`) are Svix's example, signed
    with Svix's example secret over its example body."""
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    incident_io_signed(secret, headers, body, 1614265330 + 299)
    with pytest.raises(HTTPException, match="does not match"):
        incident_io_signed(secret, headers, body + b" ", 1614265330)
    with pytest.raises(HTTPException, match="more than 5 minutes"):
        incident_io_signed(secret, headers, body, 1614265330 + 301)


def test_the_pagerduty_check_is_over_the_raw_bytes() -> None:
    body = b'{"event": {"event_type": "pagey.ping"}}'
    signature = pagerduty_signature(body)
    pagerduty_signed(PD_SECRET, {"x-pagerduty-signature": signature}, body, 0)
    with pytest.raises(HTTPException, match="does not match"):  # the same JSON, spaced otherwise
        pagerduty_signed(PD_SECRET, {"x-pagerduty-signature": signature}, body + b"\n", 0)


def test_secrets_are_read_from_the_environment_and_checked() -> None:
    settings = ApiSettings.from_env(
        {"LESSONS_HOOK_SECRET_PAGERDUTY": PD_SECRET, "LESSONS_HOOK_SECRET_INCIDENT_IO": IIO_SECRET}
    )
    assert settings.hook_secret_pagerduty == PD_SECRET
    assert settings.hook_secret_incident_io == IIO_SECRET
    assert PD_SECRET not in repr(settings) and IIO_SECRET not in repr(settings)
    assert ApiSettings.from_env({}).hook_secret_pagerduty is None
    with pytest.raises(ConfigError, match="LESSONS_HOOK_SECRET_INCIDENT_IO"):
        ApiSettings.from_env({"LESSONS_HOOK_SECRET_INCIDENT_IO": "whsec_not base64!"})


@SQLITE_ONLY
def test_the_readme_curl_lines_deliver_both_incidents(api: Api) -> None:
    """The README's hand-signed deliveries, run by bash with curl and openssl as a person
    would run them (against this test's server and secrets)."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Incidents pushed by your incident tool", 1)[1]
    script = section.split("```sh", 1)[1].split("```", 1)[0]
    env = {
        **os.environ,
        "LESSONS_HOOK_SECRET_PAGERDUTY": PD_SECRET,
        "LESSONS_HOOK_SECRET_INCIDENT_IO": IIO_SECRET,
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace("http://127.0.0.1:8000", api.url)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert [a.get("failure_ids") for a in answers] == [[PD_FAILURE], [IIO_FAILURE]], answers
