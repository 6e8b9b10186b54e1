"""Every endpoint through httpx against the real app on loopback, on both stores."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from lessons.api.app import create_app
from lessons.graph import insights
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.models import Failure
from lessons.graph.store import GraphStore, SqliteStore

from ..conftest import EXAMPLES
from .conftest import Api, api_settings, clients, serve

DB_POOL = EXAMPLES / "2023-02-14-checkout-db-pool.md"
DB_POOL_AGAIN = EXAMPLES / "2023-11-24-checkout-db-pool-black-friday.yaml"


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def new_failure(api: Api, **fields: Any) -> str:
    body = {"title": "Checkout times out", "summary": "The database pool ran dry.", **fields}
    response = api.write.post("/v1/failures", json=body)
    failure_id: str = created(response)["failure"]["id"]
    assert response.headers["location"] == f"/v1/failures/{failure_id}"
    return failure_id


def test_the_server_loads_the_failure_search_indexes_before_its_first_request(
    sqlite_store: SqliteStore, fast_embedder: CachingEmbedder, tmp_path: Path
) -> None:
    sqlite_store.upsert_nodes([Failure(id="f", title="DNS outage", summary="records deleted")])
    app = create_app(api_settings(tmp_path), store=sqlite_store, embedder=fast_embedder)
    with serve(app):  # started: the lifespan has run, no request has been made
        # Private, because nothing a client sees shows it but the first request's time.
        assert "Failure" in sqlite_store._matrices
        assert "Failure" in sqlite_store._keyword_indexes


def test_health_and_readiness(api: Api) -> None:
    assert api.anonymous.get("/healthz").json() == {"status": "ok"}
    ready = api.anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "model": "all-MiniLM-L6-v2", "dimension": 384}


def test_openapi_and_docs_are_served(api: Api) -> None:
    schema = api.anonymous.get("/openapi.json").json()
    assert "/v1/failures/{failure_id}/graph" in schema["paths"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schema["components"]["securitySchemes"])
    not_found = schema["paths"]["/v1/failures/{failure_id}"]["get"]["responses"]["404"]
    assert list(not_found["content"]) == ["application/problem+json"]
    assert "swagger" in api.anonymous.get("/docs").text.lower()


def test_failure_create_get_update_delete(api: Api) -> None:
    failure_id = new_failure(
        api,
        occurred_at="2024-03-12T14:05:00",
        severity="SEV1",
        tags=["db", "sale"],
        components=["checkout-api", "payments-db"],
        team="Payments",
    )
    assert failure_id == "checkout-times-out"
    got = api.read.get(f"/v1/failures/{failure_id}").json()
    assert got["failure"]["occurred_at"] == "2024-03-12T14:05:00Z"  # naive is taken as UTC
    assert got["components"] == ["checkout-api", "payments-db"] and got["team"] == "Payments"

    changed = api.write.patch(
        f"/v1/failures/{failure_id}",
        json={"title": "Checkout hangs on TLS handshakes", "severity": None},
    )
    assert changed.status_code == 200, changed.text
    failure = changed.json()["failure"]
    assert failure["title"] == "Checkout hangs on TLS handshakes" and failure["severity"] is None
    assert failure["tags"] == ["db", "sale"]  # left out, so kept
    hits = api.read.get("/v1/search", params={"q": "TLS handshake hangs"}).json()["failures"]
    assert hits[0]["context"]["failure"]["id"] == failure_id  # re-embedded and re-indexed

    assert api.write.patch(f"/v1/failures/{failure_id}", json={"title": None}).status_code == 422
    assert api.write.delete(f"/v1/failures/{failure_id}").status_code == 204
    assert api.read.get(f"/v1/failures/{failure_id}").status_code == 404
    assert api.write.delete(f"/v1/failures/{failure_id}").status_code == 404
    assert api.read.get("/v1/search", params={"q": "TLS handshake hangs"}).json()["failures"] == []
    # The shared component stays (another failure may use it), with no failure left on it.
    assert api.read.get("/v1/components/payments-db").json()["failures"] == []


def test_ids_are_made_from_titles_and_never_reused(api: Api) -> None:
    assert new_failure(api) == "checkout-times-out"
    assert new_failure(api) == "checkout-times-out-2"
    taken = api.write.post(
        "/v1/failures", json={"id": "checkout-times-out", "title": "t", "summary": "s"}
    )
    assert taken.status_code == 409
    assert "exists already" in taken.json()["detail"]
    # An id that is not id-shaped is made of its words, as an import makes it.
    spaced = api.write.post("/v1/failures", json={"id": "INC 42", "title": "t", "summary": "s"})
    assert spaced.status_code == 201 and spaced.json()["failure"]["id"] == "inc-42"
    bad_id = api.write.post("/v1/failures", json={"id": "--", "title": "t", "summary": "s"})
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"][0]["field"] == "body.id"


def test_causes_experiments_lessons_practices_actions_and_recurrences(api: Api) -> None:
    first = new_failure(api, title="Checkout pool exhausted in the spring sale")
    again = new_failure(api, title="Checkout pool exhausted on Black Friday")
    path = f"/v1/failures/{again}"

    cause = created(
        api.write.post(f"{path}/causes", json={"name": "Connection leak", "role": "trigger"})
    )
    assert cause == {
        "id": "cause:connection-leak",
        "name": "Connection leak",
        "role": "trigger",
        "status": "accepted",
        "evidence": None,
        "source": None,  # written through the API, not read from a document
    }
    # The same cause, named by id this time, linked to the first failure as its root cause.
    created(api.write.post(f"/v1/failures/{first}/causes", json={"name": "cause:connection-leak"}))
    experiment = created(
        api.write.post(
            f"{path}/experiments",
            json={
                "hypothesis": "The ORM leaks a connection on errors",
                "outcome": "confirmed",
                "tested_causes": ["Connection leak"],
            },
        )
    )
    assert experiment["id"] == f"{again}/added-experiment-1"
    lesson = created(
        api.write.post(
            f"{path}/lessons",
            json={"text": "Watch pool saturation", "adopted_as": ["Pool saturation alert"]},
        )
    )
    practice = created(
        api.write.post(
            f"{path}/practices",
            json={
                "name": "Load test before every sale",
                "lesson_id": lesson["id"],
                "addresses": ["Connection leak"],
            },
        )
    )
    assert practice["status"] == "adopted"
    action = created(
        api.write.post(
            f"{path}/actions",
            json={"text": "Add the alert", "owner": "sre", "implements": "Pool saturation alert"},
        )
    )
    assert action["id"] == f"{again}/added-action-1"
    recurrence = api.write.post(f"{path}/recurrences", json={"of": first})
    assert recurrence.status_code == 201 and recurrence.json()["recurrence_of"] == [first]

    context = api.read.get(path).json()
    assert [(c["name"], c["role"]) for c in context["causes"]] == [("Connection leak", "trigger")]
    assert context["experiments"][0]["tested_causes"] == ["Connection leak"]
    assert [lesson["text"] for lesson in context["lessons"]] == ["Watch pool saturation"]
    assert {p["name"] for p in context["practices"]} == {
        "Pool saturation alert",
        "Load test before every sale",
    }
    assert context["actions"][0]["owner"] == "sre"
    assert api.read.get(f"/v1/failures/{first}").json()["recurred_as"] == [again]

    closed = api.write.patch(f"/v1/actions/{action['id']}", json={"status": "done"})
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["owner"]) == ("done", "sre")  # owner stays
    assert api.read.get(path).json()["actions"][0]["status"] == "done"
    assert api.write.patch(f"/v1/actions/{action['id']}", json={"status": None}).status_code == 422
    assert (
        api.write.patch("/v1/actions/missing/action-9", json={"status": "done"}).status_code == 404
    )
    assert api.write.patch(f"/v1/actions/{first}", json={"status": "done"}).status_code == 404

    # Bad references are bad input; an unknown failure is not found.
    wrong_lesson = api.write.post(
        f"/v1/failures/{first}/practices", json={"name": "x", "lesson_id": lesson["id"]}
    )
    assert wrong_lesson.status_code == 422
    assert api.write.post(f"{path}/recurrences", json={"of": again}).status_code == 422
    assert api.write.post(f"{path}/recurrences", json={"of": "missing"}).status_code == 422
    assert api.write.post(f"{path}/causes", json={"name": "x", "role": "bad"}).status_code == 422
    assert api.write.post("/v1/failures/missing/lessons", json={"text": "x"}).status_code == 404


def test_causes_practices_and_components_with_the_failures_sharing_them(api: Api) -> None:
    one = new_failure(api, title="One", components=["checkout-api"])
    two = new_failure(api, title="Two", components=["checkout-api"])
    for failure_id, role in ((one, "root"), (two, "contributing")):
        api.write.post(f"/v1/failures/{failure_id}/causes", json={"name": "Pool", "role": role})
    api.write.post(f"/v1/failures/{two}/practices", json={"name": "Alert", "addresses": ["Pool"]})

    cause = api.read.get("/v1/causes/cause:pool").json()
    assert [(f["id"], f["role"]) for f in cause["failures"]] == [
        (one, "root"),
        (two, "contributing"),
    ]
    assert cause["practices"] == [{"id": "practice:alert", "name": "Alert"}]
    assert api.read.get("/v1/causes/Pool").json() == cause  # by name too
    practice = api.read.get("/v1/practices/Alert").json()
    assert [f["id"] for f in practice["failures"]] == [two]
    assert practice["addresses"] == [{"id": "cause:pool", "name": "Pool"}]
    component = api.read.get("/v1/components/checkout-api").json()
    assert [f["id"] for f in component["failures"]] == [one, two]

    assert [c["cause"]["id"] for c in api.read.get("/v1/causes").json()["items"]] == ["cause:pool"]
    assert api.read.get("/v1/practices").json()["items"][0]["practice"]["name"] == "Alert"
    components = api.read.get("/v1/components", params={"limit": 1}).json()
    assert len(components["items"]) == 1 and components["next_cursor"] is None
    for kind in ("causes", "practices", "components"):
        missing = api.read.get(f"/v1/{kind}/nothing-like-it")
        assert missing.status_code == 404, kind


def test_list_failures_filters_and_pages(api: Api) -> None:
    made = [
        new_failure(
            api,
            id=f"f-{n}",
            title=f"Failure {n}",
            severity="SEV1" if n % 2 else "SEV2",
            tags=["db"] if n < 3 else ["network"],
            occurred_at=f"2024-0{n + 1}-15T00:00:00Z",
            components=["api"] if n in (1, 2, 4) else [],
            team="Payments" if n == 4 else None,
        )
        for n in range(6)
    ]

    def ids(**params: Any) -> list[str]:
        page = api.read.get("/v1/failures", params=params)
        assert page.status_code == 200, page.text
        return [f["id"] for f in page.json()["items"]]

    assert ids() == made
    assert ids(severity="SEV1") == ["f-1", "f-3", "f-5"]
    assert ids(tag="db") == ["f-0", "f-1", "f-2"]
    assert ids(component="api") == ["f-1", "f-2", "f-4"]
    assert ids(component="api", severity="SEV2") == ["f-2", "f-4"]
    assert ids(team="team:payments") == ["f-4"]
    assert ids(component="nothing") == []
    assert ids(occurred_from="2024-02-01", occurred_to="2024-04-30T00:00:00Z") == [
        "f-1",
        "f-2",
        "f-3",
    ]

    for params in ({}, {"component": "api"}, {"tag": "network"}):
        seen: list[str] = []
        cursor = None
        while True:
            page = api.read.get("/v1/failures", params={**params, "limit": 2, "cursor": cursor})
            body = page.json()
            seen += [f["id"] for f in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == ids(**params), params

    bad = api.read.get("/v1/failures", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and "cursor" in bad.json()["detail"]
    assert api.read.get("/v1/failures", params={"limit": 101}).status_code == 422
    assert api.read.get("/v1/failures", params={"occurred_from": "soon"}).status_code == 422


def test_search_failures_and_entities_with_pages(api: Api) -> None:
    for n in range(4):
        new_failure(api, title=f"Database pool exhausted, case {n}")
        api.write.post(
            f"/v1/failures/database-pool-exhausted-case-{n}/causes",
            json={"name": f"Pool leak {n}"},
        )
    first = api.read.get("/v1/search", params={"q": "db connection pool", "limit": 3}).json()
    assert first["type"] == "failure" and len(first["failures"]) == 3
    assert first["failures"][0]["why"]
    rest = api.read.get(
        "/v1/search", params={"q": "db connection pool", "limit": 3, "cursor": first["next_cursor"]}
    ).json()
    ids = [h["context"]["failure"]["id"] for h in first["failures"] + rest["failures"]]
    assert sorted(ids) == [f"database-pool-exhausted-case-{n}" for n in range(4)]
    assert rest["next_cursor"] is None

    causes = api.read.get("/v1/search", params={"q": "leaking pool", "type": "cause"}).json()
    assert causes["failures"] == [] and len(causes["entities"]) == 4
    assert causes["entities"][0]["failures"][0]["id"].startswith("database-pool-exhausted")

    assert api.read.get("/v1/search").status_code == 422  # q is required
    assert api.read.get("/v1/search", params={"q": "x", "type": "lesson"}).status_code == 422
    assert api.read.get("/v1/search", params={"q": "x", "limit": 51}).status_code == 422
    other_cursor = api.read.get(
        "/v1/search", params={"q": "x", "cursor": first["next_cursor"], "type": "cause"}
    )
    assert other_cursor.status_code == 422


def test_failure_graph(api: Api) -> None:
    one = new_failure(api, title="One", components=["api"])
    new_failure(api, title="Two", components=["api"])
    near = api.read.get(f"/v1/failures/{one}/graph").json()
    assert {n["id"] for n in near["nodes"]} == {one, "component:api"}
    assert [(e["source"], e["rel"], e["target"]) for e in near["edges"]] == [
        (one, "AFFECTED", "component:api")
    ]
    far = api.read.get(f"/v1/failures/{one}/graph", params={"depth": 2}).json()
    assert {n["id"] for n in far["nodes"]} == {one, "two", "component:api"}
    assert next(n for n in far["nodes"] if n["id"] == "two")["properties"]["title"] == "Two"
    assert api.read.get(f"/v1/failures/{one}/graph", params={"depth": 4}).status_code == 422
    assert api.read.get("/v1/failures/missing/graph").status_code == 404


def test_ingest_uploads_with_partial_success(api: Api) -> None:
    files = [
        ("files", (DB_POOL.name, DB_POOL.read_bytes(), "text/markdown")),
        ("files", (DB_POOL_AGAIN.name, DB_POOL_AGAIN.read_bytes(), "application/yaml")),
        ("files", ("broken.json", b'{"title": "x",\n "summary": }', "application/json")),
    ]
    response = api.write.post("/v1/ingest", files=files)
    assert response.status_code == 207, response.text
    report = response.json()
    assert report["counts"] == {"imported": 2, "unchanged": 0, "checked": 0, "failed": 1}
    by_name = {f["path"]: f for f in report["files"]}
    assert by_name[DB_POOL.name]["failure_ids"] == ["2023-02-14-checkout-db-pool"]
    assert by_name["broken.json"]["error"] == "broken.json:2: invalid JSON: Expecting value"
    context = api.read.get("/v1/failures/2023-02-14-checkout-db-pool").json()
    assert context["team"] == "Payments" and context["practices"]

    again = api.write.post("/v1/ingest", files=files[:2])
    assert again.status_code == 200
    assert again.json()["counts"]["unchanged"] == 2

    # A changed upload of the same name replaces what it said before.
    changed = DB_POOL.read_text().replace("Valentine's Day sale", "spring sale", 1)
    replaced = api.write.post(
        "/v1/ingest", files=[("files", (DB_POOL.name, changed.encode(), "text/markdown"))]
    )
    assert replaced.json()["counts"]["imported"] == 1
    title = api.read.get("/v1/failures/2023-02-14-checkout-db-pool").json()["failure"]["title"]
    assert title == "Checkout 502s during the spring sale"


def test_ingest_json_records_and_dry_run(api: Api) -> None:
    records = [
        {"id": "from-json", "title": "From JSON", "summary": "Sent as a record", "causes": ["A"]},
        {"severity": "SEV1", "status": "open"},  # nothing in it describes a failure
    ]
    checked = api.write.post("/v1/ingest", params={"dry_run": True}, json={"records": records})
    assert checked.status_code == 207
    assert checked.json()["counts"] == {"imported": 0, "unchanged": 0, "checked": 1, "failed": 1}
    assert api.read.get("/v1/failures/from-json").status_code == 404

    written = api.write.post("/v1/ingest", json={"records": records}).json()
    assert written["counts"]["imported"] == 1
    failed = next(f for f in written["files"] if f["status"] == "failed")
    assert "nothing here describes a failure" in failed["error"]
    assert api.read.get("/v1/failures/from-json").json()["causes"][0]["name"] == "A"

    assert api.write.post("/v1/ingest", json={"records": []}).status_code == 422
    assert (
        api.write.post(
            "/v1/ingest", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    plain = api.write.post("/v1/ingest", content=b"hello", headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    assert api.write.post("/v1/ingest", files={"other": ("a.md", b"# A")}).status_code == 422


def test_deleting_an_imported_failure_keeps_what_others_share(api: Api) -> None:
    files = [
        ("files", (p.name, p.read_bytes(), "application/octet-stream"))
        for p in (DB_POOL, DB_POOL_AGAIN)
    ]
    assert api.write.post("/v1/ingest", files=files).status_code == 200
    gone = "2023-02-14-checkout-db-pool"
    kept = "2023-11-24-checkout-db-pool-black-friday"
    shared = {c["id"] for c in api.read.get(f"/v1/failures/{gone}").json()["causes"]}
    shared &= {c["id"] for c in api.read.get(f"/v1/failures/{kept}").json()["causes"]}
    assert shared

    assert api.write.delete(f"/v1/failures/{gone}").status_code == 204
    assert api.read.get(f"/v1/failures/{gone}").status_code == 404
    assert api.read.get(f"/v1/failures/{gone}/graph").status_code == 404
    for cause_id in shared:
        failures = api.read.get(f"/v1/causes/{cause_id}").json()["failures"]
        assert [f["id"] for f in failures] == [kept]
    assert api.read.get(f"/v1/failures/{kept}").json()["lessons"]
    # Re-uploading the unchanged file does not bring it back; a changed one does.
    assert api.write.post("/v1/ingest", files=files[:1]).json()["counts"]["unchanged"] == 1


def test_body_size_limit(store: GraphStore, embedder: CachingEmbedder, tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path, max_body_bytes=4096), store=store, embedder=embedder)
    with serve(app) as url, clients(url) as api:
        big = {"title": "t", "summary": "x" * 5000}
        response = api.write.post("/v1/failures", json=big)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"

        def chunks() -> Any:  # no Content-Length: counted as it arrives
            yield json.dumps(big).encode()

        streamed = api.write.post(
            "/v1/failures", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        assert (
            api.write.post("/v1/failures", json={"title": "t", "summary": "s"}).status_code == 201
        )


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_cors_is_off_by_default_and_configurable(
    store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    origin = {"Origin": "https://dash.example.com"}
    app = create_app(api_settings(tmp_path), store=store, embedder=embedder)
    with serve(app) as url, clients(url) as api:
        assert "access-control-allow-origin" not in api.read.get("/healthz", headers=origin).headers
    app = create_app(
        api_settings(tmp_path, cors_origins=("https://dash.example.com",)),
        store=store,
        embedder=embedder,
    )
    with serve(app) as url, clients(url) as api:
        allowed = api.read.get("/healthz", headers=origin).headers
        assert allowed["access-control-allow-origin"] == "https://dash.example.com"


def test_recognize_a_recurrence(api: Api) -> None:
    files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in (DB_POOL, DB_POOL_AGAIN)]
    assert api.write.post("/v1/ingest", files=files).status_code == 200
    query = {
        "title": "Checkout errors, every database connection in use",
        "description": "checkout-api requests wait for a pool connection until they time out",
        "components": ["checkout-api"],
    }
    answer = api.read.post("/v1/recognize", json=query, params={"limit": 2})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verdict"] in ("likely recurrence", "related", "new")
    assert len(body["matches"]) == 2
    assert {m["context"]["failure"]["id"] for m in body["matches"]} == {
        "2023-02-14-checkout-db-pool",
        "2023-11-24-checkout-db-pool-black-friday",
    }
    assert api.read.post("/v1/recognize", json={}).status_code == 422  # nothing described
    assert api.read.post("/v1/recognize", json=query, params={"limit": 21}).status_code == 422


def test_sensemaking_over_http(api: Api) -> None:
    one = new_failure(api, title="Checkout down", components=["api"])
    for name, status in [("Pool exhausted", "accepted"), ("Traffic spike", "proposed")]:
        added = api.write.post(f"/v1/failures/{one}/causes", json={"name": name, "status": status})
        assert added.status_code == 201, added.text
    rejected = api.write.post(
        f"/v1/failures/{one}/causes",
        json={"name": "Traffic spike", "status": "rejected", "evidence": "same load last week"},
    )
    assert rejected.json()["status"] == "rejected"
    explained = api.read.get(f"/v1/failures/{one}/explain").json()
    assert {(c["name"], c["status"], c["evidence"]) for c in explained["causes"]} == {
        ("Pool exhausted", "accepted", None),
        ("Traffic spike", "rejected", "same load last week"),
    }
    two = new_failure(api, title="Checkout down again, pool exhausted", components=["api"])
    suggested = api.read.get(f"/v1/failures/{two}/suggested-causes").json()
    assert [(s["name"], s["seen_in"]) for s in suggested] == [("Pool exhausted", [one])]
    assert api.read.get("/v1/failures/missing/explain").status_code == 404
    assert (
        api.write.post(
            f"/v1/failures/{one}/causes", json={"name": "x", "status": "maybe"}
        ).status_code
        == 422
    )


STORY = [
    EXAMPLES / "2025-01-14-payouts-duplicate-run.md",
    EXAMPLES / "2025-08-05-refund-batch-double-submit.yaml",
    EXAMPLES / "2026-04-30-ledger-export-skipped.json",
]


def test_insights_over_http_are_the_service_results(api: Api, store: GraphStore) -> None:
    files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in STORY]
    assert api.write.post("/v1/ingest", files=files).status_code == 200
    as_of = {"as_of": "2026-06-01"}
    graph = store.to_networkx()
    effects = api.read.get("/v1/insights/practices", params=as_of).json()
    expected = insights.practice_effectiveness(graph, as_of=date(2026, 6, 1))
    assert effects == json.loads(json.dumps(dataclasses.asdict(expected), default=str))
    assert {p["verdict"] for p in effects["practices"]} >= {"recurred"}
    for name in ["recurring-causes", "gaps", "clusters", "timing"]:
        response = api.read.get(f"/v1/insights/{name}", params=as_of)
        assert response.status_code == 200, (name, response.text)
    assert api.read.get("/v1/insights/gaps", params={"as_of": "someday"}).status_code == 422


def test_insights_over_http_can_keep_the_first_items_of_each_list(api: Api) -> None:
    files = [("files", (p.name, p.read_bytes(), "text/plain")) for p in STORY]
    assert api.write.post("/v1/ingest", files=files).status_code == 200
    cut_somewhere = False
    for name in ["recurring-causes", "gaps", "practices", "clusters", "timing"]:
        everything = api.read.get(f"/v1/insights/{name}", params={"as_of": "2026-06-01"}).json()
        first = api.read.get(
            f"/v1/insights/{name}", params={"as_of": "2026-06-01", "limit": 1}
        ).json()
        if isinstance(everything, list):
            assert first == everything[:1], name
            cut_somewhere |= len(everything) > 1
            continue
        for key, value in everything.items():  # lists cut, counts and medians kept
            assert first[key] == (value[:1] if isinstance(value, list) else value), (name, key)
            cut_somewhere |= isinstance(value, list) and len(value) > 1
    assert cut_somewhere  # the story has lists longer than one to cut
    assert api.read.get("/v1/insights/gaps", params={"limit": 0}).status_code == 422
