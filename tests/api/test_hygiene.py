"""API hygiene (issue 16): bounded input, authentication first, nothing of the server's
insides in answers, and the methods each path allows."""

from __future__ import annotations

from pathlib import Path

from lessons.graph.embeddings import CachingEmbedder
from lessons.graph.store import GraphStore
from lessons.ingest.pipeline import discover, ingest
from tests.api.conftest import Api

DEEP_JSON = b'{"records": [' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"]}"
DOCUMENT = "# {0} outage\n\nThe {0} was down for an hour after a bad deploy.\n"
TOO_DEEP = "lists and mappings nest more than 64 levels deep"


def test_the_api_answers_deeply_nested_input_with_4xx_or_a_per_file_error(api: Api) -> None:
    upload = api.write.post("/v1/ingest", files=[("files", ("n.json", DEEP_JSON, "text/json"))])
    assert upload.status_code == 207, upload.text
    assert upload.json()["files"][0]["error"] == f"n.json: {TOO_DEEP}"
    body = api.write.post(
        "/v1/ingest", content=DEEP_JSON, headers={"content-type": "application/json"}
    )
    assert 400 <= body.status_code < 500, body.text


def test_the_key_is_checked_before_the_body_is_read(api: Api) -> None:
    malformed = {"content": b"{not json", "headers": {"content-type": "application/json"}}
    assert api.anonymous.post("/v1/recognize", **malformed).status_code == 401
    assert api.anonymous.post("/v1/ingest", **malformed).status_code == 401
    assert api.read.post("/v1/ingest", **malformed).status_code == 403
    assert api.read.post("/v1/recognize", **malformed).status_code == 422
    assert api.write.post("/v1/ingest", **malformed).status_code == 422


def test_options_and_405_name_every_method_of_the_path(api: Api) -> None:
    options = api.read.options("/v1/failures/some-id")
    assert options.status_code == 204
    assert options.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
    refused = api.write.put("/v1/failures/some-id", json={})
    assert refused.status_code == 405
    assert refused.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
    assert refused.headers["content-type"] == "application/problem+json"
    assert api.read.options("/v1/ingest").headers["allow"] == "OPTIONS, POST"


def test_yaml_the_safe_loader_refuses_is_explained_in_our_words(api: Api) -> None:
    document = b"title: x\nsummary: !!python/object:os.system {}\n"
    answer = api.write.post("/v1/ingest", files=[("files", ("t.yaml", document, "text/yaml"))])
    error = answer.json()["files"][0]["error"]
    assert error == (
        "t.yaml:2: invalid YAML: the tag 'tag:yaml.org,2002:python/object:os.system' is not "
        "allowed: only plain data (text, numbers, lists) is read"
    )
    assert "constructor" not in answer.text


def test_documents_are_named_without_the_servers_paths(
    api: Api, store: GraphStore, embedder: CachingEmbedder, tmp_path: Path
) -> None:
    (tmp_path / "team" / "2024").mkdir(parents=True)
    (tmp_path / "team" / "2024" / "db.md").write_text(DOCUMENT.format("database"))
    (tmp_path / "single.md").write_text(DOCUMENT.format("cache"))
    sources, _ = discover([str(tmp_path / "team"), str(tmp_path / "single.md")])
    assert ingest(store, embedder, sources).ok
    shown = {
        fid: api.read.get(f"/v1/failures/{fid}").json()["documents"] for fid in ("db", "single")
    }
    assert shown == {"db": ["2024/db.md"], "single": ["single.md"]}
    assert str(tmp_path) not in api.read.get("/v1/failures/db").text
