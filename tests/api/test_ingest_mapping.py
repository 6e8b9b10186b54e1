"""POST /v1/ingest with other tools' exports: mapped like files, warnings in the response.

Runs on the SQLite store only: the mapping happens before the store is involved (the
endpoint tests cover both stores)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lessons.api.app import create_app
from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.store import SqliteStore

from ..conftest import REPO
from .conftest import Api, api_settings, clients, serve

EXPORTS = REPO / "tests" / "data" / "exports"


@pytest.fixture
def sqlite_api(
    sqlite_store: SqliteStore, embedder: CachingEmbedder, tmp_path: Path
) -> Iterator[Api]:
    app = create_app(api_settings(tmp_path), store=sqlite_store, embedder=embedder)
    with serve(app) as url, clients(url) as running:
        yield running


def test_uploaded_exports_are_mapped_and_warnings_returned(sqlite_api: Api) -> None:
    files = [
        ("files", (p.name, p.read_bytes(), "application/octet-stream"))
        for p in (EXPORTS / "incident-io.json", EXPORTS / "handwritten.yaml")
    ]
    response = sqlite_api.write.post("/v1/ingest", files=files)
    assert response.status_code == 200, response.text
    by_name = {f["path"]: f for f in response.json()["files"]}
    assert by_name["incident-io.json"]["warnings"] == [
        "Customer region: not a field we know; kept in notes"
    ]
    assert by_name["handwritten.yaml"]["failure_ids"] == ["handwritten"]
    failure = sqlite_api.read.get("/v1/failures/incident-io").json()["failure"]
    assert failure["severity"] == "Major" and "Customer region: EU" in failure["notes"]


def test_json_records_in_other_shapes(sqlite_api: Api) -> None:
    records = [
        json.loads((EXPORTS / "dispatch.json").read_text()),
        json.loads((EXPORTS / "jira.json").read_text()),
        {"severity": "SEV2"},
    ]
    response = sqlite_api.write.post(
        "/v1/ingest", params={"dry_run": True}, json={"records": records}
    )
    assert response.status_code == 207, response.text
    files = {f["path"]: f for f in response.json()["files"]}
    # Named after their titles, read where each tool keeps it (`title`, `fields.summary`);
    # the tools' own ids (42, "10482") are not ours.
    dispatch = files["credentials-for-the-analytics-bucket-exposed-in-a-public-repository.json"]
    jira = files["orders-stuck-in-pending-after-the-queue-broker-upgrade.json"]
    assert (dispatch["status"], jira["status"]) == ("checked", "checked")
    assert jira["warnings"] == ["Story points: not a field we know; kept in notes"]
    assert files["record.json"]["status"] == "failed"
    assert "nothing here describes a failure" in files["record.json"]["error"]
